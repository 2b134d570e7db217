from django.urls import path

from enrollment.api.views import EnrollmentBulkView, EnrollmentViewSet

enrollment_collection = EnrollmentViewSet.as_view({"get": "list", "post": "create"})
enrollment_detail = EnrollmentViewSet.as_view({"put": "update", "delete": "destroy"})

urlpatterns = [
    path("enrollments", enrollment_collection, name="enrollment-list"),
    path("enrollments/bulk", EnrollmentBulkView.as_view(), name="enrollment-bulk"),
    path("enrollments/<uuid:pk>", enrollment_detail, name="enrollment-detail"),
]
