from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from lms import admin_directory  # noqa: F401 (registers the learner directory page)
from lms.models import Tenant, TenantMembership
from lms.services import tenant_ensure


class ReadOnlyAdminMixin:
    """An admin screen that only shows rows: they are written by services elsewhere."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TenantMembershipInline(admin.TabularInline):
    """Which staff accounts act in a tenant through the API, and as what (DECISIONS §8)."""

    model = TenantMembership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


class UserTenantMembershipInline(TenantMembershipInline):
    autocomplete_fields = ("tenant",)
    fields = ("tenant", "role", "created_at")


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    inlines = (TenantMembershipInline,)
    list_display = ("name", "id", "carry_forward", "created_at")
    list_filter = ("carry_forward",)
    search_fields = ("name", "id")

    def get_readonly_fields(self, request, obj=None):
        # The id is the identity provider's; it may be typed in once, never changed.
        return ("id", "created_at") if obj is not None else ("created_at",)

    def save_model(self, request, obj, form, change):
        # The same write path as `manage.py create_tenant`.
        tenant, _ = tenant_ensure(name=obj.name, tenant_id=obj.pk, carry_forward=obj.carry_forward)
        obj.pk, obj.created_at = tenant.pk, tenant.created_at


User = get_user_model()


class MemberUserAdmin(UserAdmin):
    """The user page also lists the tenants a staff account may act in."""

    inlines = (*UserAdmin.inlines, UserTenantMembershipInline)


# Importing django.contrib.auth.admin registered the stock page; this one replaces it.
admin.site.unregister(User)
admin.site.register(User, MemberUserAdmin)
