"""A test-only URLconf: tiny endpoints of both envelope families, then the real routes.

Used with `@pytest.mark.urls("tests.lms.urls_probe")`. The real patterns come last, so
/health, /api/schema/ and the catch-all JSON 404 behave as in production.
"""

from django.http import Http404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from lms import urls as lms_urls
from lms.api.envelope import Family
from lms.api.pagination import paginate
from lms.api.permissions import IsAuthor
from lms.api.views import TenantScopedAPIView, TenantScopedViewSet, created
from lms.models import Tenant


class ProbeInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=20)
    count = serializers.IntegerField(required=False, min_value=0)


class ProbeOutputSerializer(serializers.Serializer):
    userId = serializers.UUIDField()
    tenantId = serializers.UUIDField()
    roles = serializers.ListField(child=serializers.CharField())


class ProbeCreatedSerializer(serializers.Serializer):
    title = serializers.CharField()
    count = serializers.IntegerField()


class ProbeUploadSerializer(serializers.Serializer):
    note = serializers.CharField()


def _whoami(request) -> dict:
    return {
        "userId": str(request.user.user_id),
        "tenantId": str(request.tenant_id),
        "roles": sorted(request.user.roles),
    }


class WhoAmIView(TenantScopedAPIView):
    """GET: the caller as the API sees it. POST: validates a body that requires `title`."""

    api_id = "api.probe.whoami"

    @extend_schema(responses=ProbeOutputSerializer)
    def get(self, request):
        return Response(_whoami(request))

    @extend_schema(request=ProbeInputSerializer, responses={201: ProbeCreatedSerializer})
    def post(self, request):
        body = ProbeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return created({"title": body.validated_data["title"], "count": body.validated_data.get("count", 0)})


class DeleteProbeView(TenantScopedAPIView):
    """DELETE answers like DRF's destroy (204, no data); the envelope makes it a 200."""

    api_id = "api.probe.delete"

    def delete(self, request):
        return Response(status=204)


class AuthorsOnlyView(TenantScopedAPIView):
    api_id = "api.probe.authors"
    permission_classes = [IsAuthor]

    @extend_schema(responses=ProbeOutputSerializer)
    def get(self, request):
        return Response(_whoami(request))


class CrashView(TenantScopedAPIView):
    api_id = "api.probe.crash"

    @extend_schema(responses=ProbeOutputSerializer)
    def get(self, request):
        raise RuntimeError("secret-internal-detail: connection string postgres://user:pw@db")


class PostOnlyView(TenantScopedAPIView):
    api_id = "api.probe.postonly"

    @extend_schema(request=ProbeInputSerializer, responses={201: ProbeCreatedSerializer})
    def post(self, request):
        return created({"title": "posted", "count": 1})


class UploadView(TenantScopedAPIView):
    """Reads a multipart or JSON body, so Django's own size limits come into play."""

    api_id = "api.probe.upload"

    @extend_schema(request=ProbeUploadSerializer, responses={201: ProbeUploadSerializer})
    def post(self, request):
        body = ProbeUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return created({"note": body.validated_data["note"][:10]})


class MissingView(TenantScopedAPIView):
    api_id = "api.probe.missing"

    @extend_schema(responses=ProbeOutputSerializer)
    def get(self, request):
        raise Http404("secret-object-name")


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name"]


class TenantProbeViewSet(TenantScopedViewSet):
    """Exercises the tenant-scoped queryset base: a tenant lists and reads only itself."""

    queryset = Tenant.objects.all()
    serializer_class = TenantSerializer
    api_ids = {"list": "api.probe.tenant.list", "retrieve": "api.probe.tenant.read"}

    def get_queryset(self):
        # Tenant rows have no tenant_id column; their own id is the tenant.
        return Tenant.objects.filter(pk=self.request.tenant_id)

    def list(self, request):
        count, rows = paginate(self.get_queryset(), request)
        return Response(TenantSerializer(rows, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TenantSerializer(self.get_object()).data)


class ViewerWhoAmIView(WhoAmIView):
    envelope_family = Family.VIEWER
    api_id = "api.probe.viewer.whoami"


class ViewerCrashView(CrashView):
    envelope_family = Family.VIEWER
    api_id = "api.probe.viewer.crash"


class ViewerPostOnlyView(PostOnlyView):
    envelope_family = Family.VIEWER
    api_id = "api.probe.viewer.postonly"


class ViewerUploadView(UploadView):
    envelope_family = Family.VIEWER
    api_id = "api.probe.viewer.upload"


class ViewerAuthorsOnlyView(AuthorsOnlyView):
    envelope_family = Family.VIEWER
    api_id = "api.probe.viewer.authors"


class ViewerMissingView(MissingView):
    envelope_family = Family.VIEWER
    api_id = "api.probe.viewer.missing"


urlpatterns = [
    path("probe/whoami", WhoAmIView.as_view()),
    path("probe/authors", AuthorsOnlyView.as_view()),
    path("probe/crash", CrashView.as_view()),
    path("probe/post-only", PostOnlyView.as_view()),
    path("probe/upload", UploadView.as_view()),
    path("probe/missing", MissingView.as_view()),
    path("probe/delete", DeleteProbeView.as_view()),
    path("probe/tenants", TenantProbeViewSet.as_view({"get": "list"})),
    path("probe/tenants/<uuid:pk>", TenantProbeViewSet.as_view({"get": "retrieve"})),
    path("v1/probe/whoami", ViewerWhoAmIView.as_view()),
    path("v1/probe/authors", ViewerAuthorsOnlyView.as_view()),
    path("v1/probe/crash", ViewerCrashView.as_view()),
    path("v1/probe/post-only", ViewerPostOnlyView.as_view()),
    path("v1/probe/upload", ViewerUploadView.as_view()),
    path("v1/probe/missing", ViewerMissingView.as_view()),
    *lms_urls.urlpatterns,
]

handler400 = lms_urls.handler400
handler403 = lms_urls.handler403
handler404 = lms_urls.handler404
handler500 = lms_urls.handler500
