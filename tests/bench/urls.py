"""The service's URLs with the benchmark floors mounted, as LMS_BENCH_ENDPOINTS=true mounts them."""

from django.urls import include, path

from lms.urls import urlpatterns as service_urlpatterns

urlpatterns = [path("bench/", include("bench.floor.urls")), *service_urlpatterns]
