from django.contrib import admin

from lms.models import Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "carry_forward", "created_at")
    list_filter = ("carry_forward",)
    search_fields = ("name", "id")
    readonly_fields = ("created_at",)
