from django.urls import path

from bench.floor.views import DrfHelloView, RawUpsertView

urlpatterns = [
    path("drf-hello", DrfHelloView.as_view(), name="bench-drf-hello"),
    path("raw-upsert", RawUpsertView.as_view(), name="bench-raw-upsert"),
]
