import re

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.urls import include, path, re_path
from django.views import csrf
from django.views.generic import RedirectView
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from lms.api.envelope import FORBIDDEN_ERRMSG, INTERNAL_ERRMSG, error_response, plain_json_view
from lms.api.middleware import is_api_path
from lms.health import health

ADMIN_NOT_FOUND = "Nothing here: this address matches no page, or no record you may see."
ADMIN_FORBIDDEN = "Your account may not open this page; an administrator of your tenant can grant it."


def _admin_error_page(request, *, status: int, title: str, message: str):
    """The admin is an HTML app: its 403 and 404 are admin pages (header, navigation, a way home),
    not the API's JSON envelope."""
    context = {**admin.site.each_context(request), "title": title, "message": message}
    return render(request, "lms/admin_error.html", context, status=status)


def _admin_message(exception, default: str) -> str:
    # The admin's own messages ("No course with this id.") are plain strings; the URL resolver's
    # carry the patterns tried, which are not for the page.
    message = exception.args[0] if exception is not None and exception.args else None
    return message if isinstance(message, str) and message else default


@plain_json_view(api_id="api.error")  # every method: no route is no route
def api_not_found(request, exception=None, *args, **kwargs):
    if request.path.startswith("/admin/"):
        return _admin_error_page(
            request, status=404, title="Not found", message=_admin_message(exception, ADMIN_NOT_FOUND)
        )
    return error_response(
        request,
        http_status=404,
        err="ERR_NOT_FOUND",
        errmsg=f"No endpoint at {request.method} {request.path}; see /api/docs/ for the API.",
    )


@plain_json_view("GET", "HEAD", api_id="api.media")
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
    if request.path.startswith("/admin/"):
        return _admin_error_page(request, status=403, title="Not allowed", message=ADMIN_FORBIDDEN)
    return error_response(request, http_status=403, err="ERR_FORBIDDEN", errmsg=FORBIDDEN_ERRMSG)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a 403 envelope on API paths; the admin, an HTML app, keeps Django's page."""
    if not is_api_path(request.path):
        return csrf.csrf_failure(request, reason=reason)
    return error_response(
        request,
        http_status=403,
        err="ERR_FORBIDDEN",
        errmsg=(
            f"CSRF verification failed ({reason}): a write with a session cookie must send the csrftoken "
            "cookie's value in an X-CSRFToken header; API clients send a bearer token instead."
        ),
    )


handler400 = bad_request
handler403 = forbidden
handler404 = api_not_found
handler500 = server_error

urlpatterns = [
    path("health", health, name="health"),
    path("admin", RedirectView.as_view(url="/admin/", permanent=True)),
    # Insight dashboards (staff views behind the admin login), ahead of the admin's own catch-all.
    path("admin/insight/", include("tracking.dashboards")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="lms/redoc.html"), name="redoc"),
    # Ahead of the apps' routes: a floor measures what every request shares, not the ~50 patterns an
    # endpoint listed last would be matched against first (each endpoint's own place is its own cost).
    *([path("bench/", include("bench.floor.urls"))] if settings.LMS_BENCH_ENDPOINTS else []),
    path("", include("courses.api.urls")),
    path("", include("enrollment.api.urls")),
    path("", include("tracking.api.urls")),
    path("", include("viewer.api.urls")),
    path("", include("lms.events.api.urls")),
]

if settings.LMS_SERVE_MEDIA:
    # The embedded default serves uploads itself (DECISIONS §3); production uses a storage URL.
    media_prefix = settings.MEDIA_URL.lstrip("/")
    if media_prefix and not media_prefix.startswith("http"):
        urlpatterns.append(re_path(rf"^{re.escape(media_prefix)}(?P<path>.+)$", serve_media))

urlpatterns.append(re_path(r"^(?!admin/|static/).*$", api_not_found))
