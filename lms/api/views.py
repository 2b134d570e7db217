"""Base classes every API view builds on, so that none can forget the tenant filter."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from lms.api.envelope import Family
from lms.api.errors import NotFoundError
from lms.api.negotiation import ApiContentNegotiation
from lms.api.tenancy import resolve_request_tenant


def refuse_empty_query_parameters(request, *, flags: tuple[str, ...] = ()) -> None:
    """Raises a 400 naming each query parameter sent empty (`flags` aside, where empty means true).

    DRF reads an empty optional query parameter as absent, so `?user_id=` would silently list
    everyone's rows and `?format=` fall back to the default: say so instead.
    """
    if not request.META.get("QUERY_STRING"):
        return  # nothing to refuse, and building the QueryDict costs every request about 5 µs (issue 15)
    empty = [name for name, values in request.query_params.lists() if "" in values and name not in flags]
    if empty:
        raise serializers.ValidationError(
            {name: [f"`{name}` is empty; give it a value or leave it out."] for name in empty}
        )


class TenantScopedMixin:
    """Resolves `request.tenant_id` after authentication, before permissions.

    `get_queryset()` is always filtered by the caller's tenant; subclasses narrow it
    further in `scope_queryset()`.
    """

    envelope_family = Family.LMS
    api_ids: dict[str, str] = {}
    content_negotiation_class = ApiContentNegotiation
    # Query parameters that are flags: a bare `?name` (empty value) means true.
    flag_query_parameters: tuple[str, ...] = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        refuse_empty_query_parameters(request, flags=self.flag_query_parameters)

    def check_permissions(self, request):
        # Authentication has run; an anonymous caller gets 401 before any tenant error.
        if request.user is not None and getattr(request.user, "is_authenticated", False):
            request.tenant_id = resolve_request_tenant(request)
        super().check_permissions(request)

    @property
    def tenant_id(self):
        return self.request.tenant_id

    def scope_queryset(self, queryset):
        return queryset

    def get_queryset(self):
        queryset = super().get_queryset().filter(tenant_id=self.request.tenant_id)
        return self.scope_queryset(queryset)

    def get_object_or_404(self, queryset, **lookup):
        try:
            return queryset.get(**lookup)
        except (queryset.model.DoesNotExist, DjangoValidationError, ValueError):
            raise NotFoundError(f"No {queryset.model._meta.verbose_name} with that id in this tenant.") from None


class TenantScopedViewSet(TenantScopedMixin, viewsets.GenericViewSet):
    lookup_value_converter = "uuid"

    def get_object(self):
        queryset = self.filter_queryset(self.get_queryset())
        return self.get_object_or_404(queryset, pk=self.kwargs[self.lookup_url_kwarg or self.lookup_field])


class TenantScopedAPIView(TenantScopedMixin, APIView):
    pass


def created(data) -> Response:
    return Response(data, status=status.HTTP_201_CREATED)


def json_parsers() -> list:
    """The configured JSON parser(s) alone, for endpoints whose bodies are never files.

    A form body cannot say null or nest an object (an empty value would read as "absent" or
    null), so those endpoints take JSON only: a form answers 415, and the schema advertises
    only application/json.
    """
    return [parser for parser in api_settings.DEFAULT_PARSER_CLASSES if parser.media_type == "application/json"]
