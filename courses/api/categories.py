"""Category endpoints (DECISIONS §11): `GET/POST /categories`, `GET/PATCH/DELETE /categories/:id`.

Everyone in the tenant reads the categories (players build their catalogue menus from them);
admins write them. A category in use cannot be deleted (409).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response

from courses import selectors, services
from courses.models import Category
from lms.api.errors import NotFoundError
from lms.api.fields import TextField, UUIDStringField, iso_utc
from lms.api.pagination import PageQuerySerializer, paginate
from lms.api.permissions import IsAuthenticatedPrincipal
from lms.api.views import TenantScopedViewSet, created, json_parsers


class IsTenantAdmin(IsAuthenticatedPrincipal):
    """Admins only: categories shape every author's catalogue, so instructors read but do not write them."""

    message = "Only admins may change categories."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.user.is_admin


class CategoryInputSerializer(serializers.Serializer):
    name = TextField(max_length=255)
    slug = serializers.SlugField(
        max_length=255,
        # Not trimmed: the pattern is checked on what the client sent, as the schema states it.
        trim_whitespace=False,
        error_messages={"invalid": "Use letters, digits, hyphens and underscores only, e.g. data-science."},
    )
    parentId = UUIDStringField(source="parent_id", required=False, allow_null=True)  # noqa: N815
    ordering = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)


class CategoryOutputSerializer(serializers.Serializer):
    categoryId = serializers.UUIDField()  # noqa: N815
    tenantId = serializers.UUIDField()  # noqa: N815
    name = TextField()
    slug = TextField()
    parentId = serializers.UUIDField(allow_null=True)  # noqa: N815
    ordering = serializers.IntegerField()
    createdAt = serializers.DateTimeField()  # noqa: N815
    updatedAt = serializers.DateTimeField(allow_null=True)  # noqa: N815


@extend_schema_serializer(many=False)  # the list action answers one {count, categories} object
class CategoryListOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Total across all pages.")
    categories = CategoryOutputSerializer(many=True)


def category_data(category: Category) -> dict:
    return {
        "categoryId": str(category.id),
        "tenantId": str(category.tenant_id),
        "name": category.name,
        "slug": category.slug,
        "parentId": str(category.parent_id) if category.parent_id else None,
        "ordering": category.ordering,
        "createdAt": iso_utc(category.created_at),
        "updatedAt": iso_utc(category.updated_at),
    }


EXAMPLE = OpenApiExample(
    "A subcategory",
    value={"name": "Machine learning", "slug": "machine-learning", "parentId": "3f0c8a52-1d1e-4b8e-9a59-3c1b2f7d9a10",
           "ordering": 2},
    request_only=True,
)


class CategoryViewSet(TenantScopedViewSet):
    parser_classes = json_parsers()
    queryset = Category.objects.all()
    api_ids = {
        "list": "api.category.list",
        "create": "api.category.create",
        "retrieve": "api.category.get",
        "partial_update": "api.category.update",
        "destroy": "api.category.delete",
    }

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [IsAuthenticatedPrincipal()]
        return [IsTenantAdmin()]

    def _category(self, pk) -> Category:
        category = selectors.categories_visible(tenant_id=self.tenant_id).filter(pk=pk).first()
        if category is None:
            raise NotFoundError("No category with that id in this tenant.")
        return category

    @extend_schema(
        parameters=[PageQuerySerializer], responses=CategoryListOutputSerializer,
        summary="List the tenant's categories (by ordering, then name)",
    )
    def list(self, request):
        count, categories = paginate(selectors.categories_visible(tenant_id=self.tenant_id), request)
        return Response({"count": count, "categories": [category_data(category) for category in categories]})

    @extend_schema(
        request=CategoryInputSerializer, examples=[EXAMPLE],
        responses={201: CategoryOutputSerializer,
                   409: OpenApiResponse(description="The slug is taken in this tenant (ERR_SLUG_TAKEN).")},
        summary="Create a category (admin)",
    )
    def create(self, request):
        body = CategoryInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        category = services.category_create(
            tenant_id=self.tenant_id, created_by=request.user.user_id, **body.validated_data
        )
        return created(category_data(category))

    @extend_schema(responses=CategoryOutputSerializer, summary="Get a category")
    def retrieve(self, request, pk):
        return Response(category_data(self._category(pk)))

    @extend_schema(
        request=CategoryInputSerializer(partial=True),
        responses={200: CategoryOutputSerializer,
                   409: OpenApiResponse(description="The slug is taken in this tenant (ERR_SLUG_TAKEN).")},
        summary="Change a category (admin; send only the fields to change)",
    )
    def partial_update(self, request, pk):
        category = self._category(pk)
        body = CategoryInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        category = services.category_update(
            category=category, updated_by=request.user.user_id, changes=dict(body.validated_data)
        )
        return Response(category_data(category))

    @extend_schema(
        responses={200: OpenApiResponse(description="Deleted; `result` is null."),
                   409: OpenApiResponse(description="In use by courses, lessons or subcategories "
                                                    "(ERR_CATEGORY_IN_USE; `result` counts them).")},
        summary="Delete a category nobody uses (admin)",
    )
    def destroy(self, request, pk):
        services.category_delete(category=self._category(pk))
        return Response(None)
