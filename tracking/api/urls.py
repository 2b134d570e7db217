from django.urls import path

from tracking.api.views import CourseTrackingViewSet, LessonTrackingViewSet

urlpatterns = [
    path(
        "lessons/tracking",
        LessonTrackingViewSet.as_view({"get": "list", "post": "create"}),
        name="lesson-tracking",
    ),
    path(
        "lessons/tracking/<uuid:pk>",
        LessonTrackingViewSet.as_view({"put": "update"}),
        name="lesson-tracking-detail",
    ),
    path("courses/tracking", CourseTrackingViewSet.as_view({"get": "list"}), name="course-tracking"),
    path(
        "courses/tracking/<uuid:pk>",
        CourseTrackingViewSet.as_view({"put": "update"}),
        name="course-tracking-detail",
    ),
]
