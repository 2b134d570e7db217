from django.urls import path

from bench.floor.views import DbHelloView, DrfHelloView, RawUpsertView

urlpatterns = [
    path("drf-hello", DrfHelloView.as_view(), name="bench-drf-hello"),
    path("db-hello", DbHelloView.as_view(), name="bench-db-hello"),
    path("raw-upsert", RawUpsertView.as_view(), name="bench-raw-upsert"),
]
