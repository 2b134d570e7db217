"""Tenant scoping of the whole admin (DECISIONS §8, staff sessions).

A superuser sees every tenant. Any other staff user sees and changes only the rows of the
tenants they are a member of (`TenantMembership`), on every admin page:

- change lists, actions and inlines: `get_queryset` filters by the model's path to its tenant;
- change, delete and history pages of another tenant's row: 404, the same answer as for a row
  that does not exist, so that ids cannot be probed (Django would redirect with a message);
- foreign-key and many-to-many choices, and so autocompletes (Django's autocomplete view asks
  the target model's admin for its queryset);
- list filters: a related filter offers only the user's tenants' rows, and the tenant filter and
  tenant column appear only for a user of several tenants;
- new objects: the tenant field is hidden and preset for a user of one tenant, a chooser of
  their tenants for a user of several.

Django's model permissions still apply on top. Managing tenants and memberships needs the
membership's admin role (or a superuser); an instructor membership may at most view them.
Staff accounts themselves (users and groups) are the superusers' alone: editing a user could
grant `is_superuser`, which no tenant may hand out.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404

from lms.models import Tenant, TenantMembership

_MEMBERSHIPS_ATTRIBUTE = "_lms_admin_memberships"


def admin_memberships(request) -> dict[uuid.UUID, str] | None:
    """{tenant id: role} of the logged-in staff user; None for a superuser (every tenant).

    One query per request, kept on the request: every admin of the page and every filter asks.
    """
    if request.user.is_superuser:
        return None
    memberships = getattr(request, _MEMBERSHIPS_ATTRIBUTE, None)
    if memberships is None:
        memberships = dict(
            TenantMembership.objects.filter(user_id=request.user.pk).values_list("tenant_id", "role")
        )
        setattr(request, _MEMBERSHIPS_ATTRIBUTE, memberships)
    return memberships


def admin_tenant_ids(request) -> list[uuid.UUID] | None:
    """The tenants whose rows the user may see; None for all (a superuser)."""
    memberships = admin_memberships(request)
    return None if memberships is None else list(memberships)


def has_several_tenants(request) -> bool:
    memberships = admin_memberships(request)
    return memberships is None or len(memberships) > 1


def is_tenant_admin(request, tenant_id: uuid.UUID | None = None) -> bool:
    """A superuser, or an admin-role member of `tenant_id` (of any tenant when None)."""
    memberships = admin_memberships(request)
    if memberships is None:
        return True
    if tenant_id is None:
        return TenantMembership.Role.ADMIN in memberships.values()
    return memberships.get(tenant_id) == TenantMembership.Role.ADMIN


def tenant_path_of(model: type[Model]) -> str | None:
    """The lookup from `model` to its Tenant; None for models that belong to no tenant."""
    if model is Tenant:
        return "pk"
    if model is get_user_model():
        return "tenant_memberships__tenant"
    explicit = getattr(model, "admin_tenant_path", None)
    if explicit:
        return explicit
    try:
        field = model._meta.get_field("tenant")
    except FieldDoesNotExist:
        return None
    return "tenant" if field.is_relation and field.related_model is Tenant else None


def scope_to_tenants(queryset: QuerySet, request, path: str | None) -> QuerySet:
    """`queryset` limited to the user's tenants along `path`; nothing for tenant-less models
    unless the user is a superuser."""
    tenant_ids = admin_tenant_ids(request)
    if tenant_ids is None:
        return queryset
    if path is None:
        return queryset.none()
    scoped = queryset.filter(**{f"{path}__in": tenant_ids})
    # A path through a to-many relation (a user's memberships) repeats rows.
    return scoped.distinct() if "__" in path else scoped


class TenantScopedRelatedFilter(admin.RelatedFieldListFilter):
    """A related-field filter that offers only the user's tenants' rows (Django offers all)."""

    def field_choices(self, field, request, model_admin):
        related = field.related_model
        queryset = scope_to_tenants(related._default_manager.all(), request, tenant_path_of(related))
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        to_field = field.target_field.attname
        return [(getattr(row, to_field), str(row)) for row in queryset]


class TenantScopedMixin:
    """Rows and foreign-key choices scoped to the user's tenants; for ModelAdmins and inlines.

    `tenant_path` is the lookup from the admin's model to its tenant; by default the model's own
    `tenant` field (see `tenant_path_of`).
    """

    tenant_path: str | None = None

    def get_tenant_path(self) -> str | None:
        return self.tenant_path or tenant_path_of(self.model)

    def get_queryset(self, request):
        return scope_to_tenants(super().get_queryset(request), request, self.get_tenant_path())

    def _scoped_choices(self, db_field, request, kwargs) -> None:
        if "queryset" in kwargs or admin_tenant_ids(request) is None:
            return
        related = db_field.related_model
        queryset = self.get_field_queryset(kwargs.get("using"), db_field, request)
        if queryset is None:
            queryset = related._default_manager.using(kwargs.get("using")).all()
        kwargs["queryset"] = scope_to_tenants(queryset, request, tenant_path_of(related))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._scoped_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TenantScopedAdminMixin(TenantScopedMixin):
    """TenantScopedMixin for a ModelAdmin: also its object pages, list filters, tenant column and
    the tenant of new objects."""

    def get_object(self, request, object_id, from_field=None):
        found = super().get_object(request, object_id, from_field)
        if found is None:
            # Another tenant's row and a missing one look alike, and neither is a redirect.
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return found

    def _is_tenant_field(self, path: str) -> bool:
        try:
            field = get_fields_from_path(self.model, path)[-1]
        except (FieldDoesNotExist, admin.utils.NotRelationField):
            return False
        return field.is_relation and field.related_model is Tenant

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if has_several_tenants(request):
            return shown
        return [name for name in shown if not (isinstance(name, str) and self._is_tenant_field(name))]

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if admin_tenant_ids(request) is None:
            return filters
        several = has_several_tenants(request)
        scoped = []
        for entry in filters:
            if isinstance(entry, str):
                try:
                    field = get_fields_from_path(self.model, entry)[-1]
                except (FieldDoesNotExist, admin.utils.NotRelationField):
                    field = None
                if field is not None and (field.many_to_one or field.many_to_many):
                    if field.related_model is Tenant and not several:
                        continue  # one tenant: nothing to choose
                    entry = (entry, TenantScopedRelatedFilter)
            elif isinstance(entry, tuple) and entry[1] is admin.RelatedFieldListFilter:
                entry = (entry[0], TenantScopedRelatedFilter)
            scoped.append(entry)
        return scoped

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        tenant_field = form.base_fields.get("tenant")
        memberships = admin_memberships(request)
        if (
            tenant_field is not None
            and isinstance(tenant_field, forms.ModelChoiceField)
            and memberships is not None
            and len(memberships) == 1
        ):
            # One tenant: new objects go to it, with no chooser (the scoped choices refuse any other).
            (only,) = memberships
            tenant_field.initial = only
            tenant_field.widget = forms.HiddenInput()
        return form


class SuperuserOnlyAdminMixin:
    """Screens for superusers alone (staff accounts, groups): other staff get 403 on the list and
    404 on any object, whatever model permissions they hold."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.none()

    def get_object(self, request, object_id, from_field=None):
        found = super().get_object(request, object_id, from_field)
        if found is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return found
