from django.urls import path

from viewer.api import views

urlpatterns = [
    path("v1/view/start", views.ViewStartView.as_view(), name="viewer-view-start"),
    path("v1/view/update", views.ViewUpdateView.as_view(), name="viewer-view-update"),
    path("v1/view/end", views.ViewEndView.as_view(), name="viewer-view-end"),
    path("v1/view/read", views.ViewReadView.as_view(), name="viewer-view-read"),
    path("v1/assessment/submit", views.AssessmentSubmitView.as_view(), name="viewer-assessment-submit"),
    path("v1/viewer/summary/list/<uuid:user_id>", views.SummaryListView.as_view(), name="viewer-summary-list"),
    path("v1/viewer/summary/read", views.SummaryReadView.as_view(), name="viewer-summary-read"),
    path("v1/viewer/summary/delete/<uuid:user_id>", views.SummaryDeleteView.as_view(), name="viewer-summary-delete"),
    path(
        "v1/viewer/summary/download/<uuid:user_id>", views.SummaryDownloadView.as_view(), name="viewer-summary-download"
    ),
    path("v1/viewer/summary/file/<str:token>", views.SummaryFileView.as_view(), name="viewer-summary-file"),
    # The design's diff also reads as these two paths (DECISIONS §1); both answer.
    path("v1/summary/delete/<uuid:user_id>", views.SummaryDeleteView.as_view(), name="viewer-summary-delete-alias"),
    path(
        "v1/summary/download/<uuid:user_id>", views.SummaryDownloadView.as_view(),
        name="viewer-summary-download-alias",
    ),
    path("v1/program/enrol", views.ProgramEnrolView.as_view(), name="viewer-program-enrol"),
]
