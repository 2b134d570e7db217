import re

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from lms.api.envelope import FORBIDDEN_ERRMSG, INTERNAL_ERRMSG, error_response
from lms.health import health


def api_not_found(request, *args, **kwargs):
    return error_response(
        request,
        http_status=404,
        err="ERR_NOT_FOUND",
        errmsg=f"No endpoint at {request.method} {request.path}; see /api/docs/ for the API.",
    )


def serve_media(request, path):
    # MEDIA_ROOT is read per request, not frozen when the URLconf is imported.
    return serve(request, path, document_root=settings.MEDIA_ROOT)


def server_error(request, *args, **kwargs):
    return error_response(
        request,
        http_status=500,
        err="ERR_INTERNAL",
        errmsg=INTERNAL_ERRMSG,
    )


def bad_request(request, exception=None, *args, **kwargs):
    return error_response(request, http_status=400, err="ERR_BAD_REQUEST", errmsg="The request is malformed.")


def forbidden(request, exception=None, *args, **kwargs):
    return error_response(request, http_status=403, err="ERR_FORBIDDEN", errmsg=FORBIDDEN_ERRMSG)


handler400 = bad_request
handler403 = forbidden
handler404 = api_not_found
handler500 = server_error

urlpatterns = [
    path("health", health, name="health"),
    path("admin", RedirectView.as_view(url="/admin/", permanent=True)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("courses.api.urls")),
    path("", include("enrollment.api.urls")),
    path("", include("tracking.api.urls")),
    path("", include("viewer.api.urls")),
]

if settings.LMS_BENCH_ENDPOINTS:
    urlpatterns.append(path("bench/", include("bench.floor.urls")))

if settings.LMS_SERVE_MEDIA:
    # The embedded default serves uploads itself (DECISIONS §3); production uses a storage URL.
    media_prefix = settings.MEDIA_URL.lstrip("/")
    if media_prefix and not media_prefix.startswith("http"):
        urlpatterns.append(re_path(rf"^{re.escape(media_prefix)}(?P<path>.+)$", serve_media))

urlpatterns.append(re_path(r"^(?!admin/|static/).*$", api_not_found))
