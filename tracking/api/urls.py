from django.urls import path

from tracking.api.home import LearnerHomeViewSet
from tracking.api.insight_views import CertificateVerifyView, CourseExplainView, CourseReportView
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
    path("courses/tracking/explain", CourseExplainView.as_view(), name="course-tracking-explain"),
    path("courses/<uuid:pk>/report", CourseReportView.as_view(), name="course-report"),
    path("certificates/verify/<str:token>", CertificateVerifyView.as_view(), name="certificate-verify"),
    path("courses/tracking", CourseTrackingViewSet.as_view({"get": "list"}), name="course-tracking"),
    path(
        "courses/tracking/<uuid:pk>",
        CourseTrackingViewSet.as_view({"put": "update"}),
        name="course-tracking-detail",
    ),
    # The learner home and catalogue (DECISIONS §11).
    path("courses/search", LearnerHomeViewSet.as_view({"get": "search"}), name="course-search"),
    path("enrollments/users-courses", LearnerHomeViewSet.as_view({"get": "users_courses"}), name="users-courses"),
    path("enrollments/dashboard", LearnerHomeViewSet.as_view({"get": "dashboard"}), name="learner-dashboard"),
    path("courses/tracking/modules", LearnerHomeViewSet.as_view({"get": "modules"}), name="module-progress"),
    path("lessons/tracking/status", LearnerHomeViewSet.as_view({"get": "lesson_status"}), name="lesson-status"),
]
