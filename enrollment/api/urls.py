from django.urls import path

from enrollment.api.views import EnrollmentViewSet

enrollment_collection = EnrollmentViewSet.as_view({"get": "list", "post": "create"})
enrollment_detail = EnrollmentViewSet.as_view({"put": "update", "delete": "destroy"})

urlpatterns = [
    path("enrollments", enrollment_collection, name="enrollment-list"),
    path("enrollments/<uuid:pk>", enrollment_detail, name="enrollment-detail"),
]
