from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from lms import admin_directory  # noqa: F401 (registers the learner directory page)
from lms.admin_tenancy import (
    SuperuserOnlyAdminMixin,
    TenantScopedAdminMixin,
    TenantScopedMixin,
    is_tenant_admin,
)
from lms.models import Tenant, TenantMembership
from lms.services import tenant_ensure

admin.site.site_header = "LMS administration"
admin.site.site_title = "LMS administration"
admin.site.index_title = "Courses, learners and progress"
# "View site" leads to what the admin serves: the API, documented.
admin.site.site_url = "/api/docs/"


class ReadOnlyAdminMixin:
    """An admin screen that only shows rows: they are written by services elsewhere."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TenantMembershipInline(TenantScopedMixin, admin.TabularInline):
    """Which staff accounts act in a tenant through the API and the admin, and as what (DECISIONS §8).

    Only a tenant's admins (and superusers) manage its memberships, and among staff accounts that
    already share one of their tenants: creating staff accounts is a superuser's job.
    """

    model = TenantMembership
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)

    def get_autocomplete_fields(self, request):
        # The user search is the superusers' user admin; others choose from the scoped list.
        return self.autocomplete_fields if request.user.is_superuser else ()

    def _manages(self, request, obj) -> bool:
        return is_tenant_admin(request, obj.pk if isinstance(obj, Tenant) else None)

    def has_add_permission(self, request, obj=None):
        return self._manages(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._manages(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._manages(request, obj) and super().has_delete_permission(request, obj)


class UserTenantMembershipInline(TenantMembershipInline):
    autocomplete_fields = ("tenant",)
    fields = ("tenant", "role", "created_at")


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """Superusers create and delete tenants; a tenant's admins may edit it; instructors only view."""

    inlines = (TenantMembershipInline,)
    list_display = ("name", "id", "carry_forward", "created_at")
    list_filter = ("carry_forward",)
    search_fields = ("name", "id")

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return is_tenant_admin(request, obj.pk if obj is not None else None) and super().has_change_permission(
            request, obj
        )

    def get_readonly_fields(self, request, obj=None):
        # The id is the identity provider's; it may be typed in once, never changed.
        return ("id", "created_at") if obj is not None else ("created_at",)

    def save_model(self, request, obj, form, change):
        # The same write path as `manage.py create_tenant`.
        tenant, _ = tenant_ensure(name=obj.name, tenant_id=obj.pk, carry_forward=obj.carry_forward)
        obj.pk, obj.created_at = tenant.pk, tenant.created_at


User = get_user_model()


class MemberUserAdmin(SuperuserOnlyAdminMixin, UserAdmin):
    """The user page also lists the tenants a staff account may act in. Superusers only: a user's
    flags include `is_superuser`, which no tenant admin may grant."""

    inlines = (*UserAdmin.inlines, UserTenantMembershipInline)


class StaffGroupAdmin(SuperuserOnlyAdminMixin, GroupAdmin):
    """Groups hold model permissions, shared by every tenant: superusers only."""


# Importing django.contrib.auth.admin registered the stock pages; these replace them.
admin.site.unregister(User)
admin.site.register(User, MemberUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, StaffGroupAdmin)
