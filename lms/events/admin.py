"""Webhooks in the admin (DECISIONS §9): the same services as the API, rows scoped to the staff
user's tenants (superusers see all). Secrets are shown once, in the message after creation or
rotation, and never in a form, a list or a log."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from lms.admin import ReadOnlyAdminMixin
from lms.admin_tenancy import TenantScopedAdminMixin, admin_memberships
from lms.events import catalogue, services
from lms.events.models import Event, WebhookDelivery, WebhookSubscription
from lms.events.urlrules import WebhookUrlRefused, webhook_url_check
from lms.models import Tenant, TenantMembership

RECENT_DELIVERIES = 20


def _admin_tenant_ids(request) -> list:
    """The tenants whose webhooks this staff user manages: where they are an admin member."""
    memberships = admin_memberships(request) or {}
    return [tenant_id for tenant_id, role in memberships.items() if role == TenantMembership.Role.ADMIN]


class TenantScopedAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """The admin's tenant scoping (lms.admin_tenancy), narrowed to the tenants where the user is an
    admin member: webhooks are a tenant admin's business (DECISIONS §9), not an instructor's."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(tenant_id__in=_admin_tenant_ids(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant" and not request.user.is_superuser:
            kwargs["queryset"] = Tenant.objects.filter(pk__in=_admin_tenant_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class WebhookSubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(catalogue.ALL_EVENTS, "All events (*)")] + [(name, name) for name in catalogue.EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookSubscription
        fields = ("tenant", "url", "events", "description", "active")

    def clean_url(self):
        # The service's rules, said on the form rather than as an error page.
        try:
            return webhook_url_check(self.cleaned_data["url"])
        except WebhookUrlRefused as refused:
            raise forms.ValidationError(str(refused)) from None


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(TenantScopedAdmin):
    form = WebhookSubscriptionForm
    list_display = ("url", "tenant", "event_types", "active", "disabled_reason", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    readonly_fields = ("disabled_reason", "created_at", "recent_deliveries")
    actions = ["send_test", "rotate_secret"]

    def get_readonly_fields(self, request, obj=None):
        # A subscription stays in its tenant.
        return (*self.readonly_fields, "tenant") if obj is not None else self.readonly_fields

    @admin.display(description="Events")
    def event_types(self, obj):
        return ", ".join(obj.events)

    @admin.display(description=f"Recent deliveries (last {RECENT_DELIVERIES})")
    def recent_deliveries(self, obj):
        rows = obj.deliveries.select_related("event").order_by("-created_at")[:RECENT_DELIVERIES]
        if not rows:
            return "None yet."
        return format_html(
            "<table><tr><th>Event</th><th>Type</th><th>Status</th><th>Attempts</th><th>Last answer</th>"
            "<th>Next attempt</th><th></th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                             "<td><a href='../../../webhookdelivery/?id={}'>open</a></td></tr>", (
                (d.event_id, d.event.type, d.status, d.attempts, d.last_status_code or d.last_error or "-",
                 d.next_attempt_at or "-", d.pk) for d in rows
            )),
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = services.webhook_subscription_update(
                subscription=obj, url=data["url"], events=data["events"], description=data["description"],
                active=data["active"],
            )
        else:
            saved = services.webhook_subscription_create(
                tenant_id=data["tenant"].pk, url=data["url"], events=data["events"], description=data["description"],
            )
            if not data["active"]:
                saved = services.webhook_subscription_update(subscription=saved, active=False)
            messages.warning(request, f"Signing secret (shown only now; store it): {saved.secret}")
        obj.pk, obj.secret = saved.pk, saved.secret

    @admin.action(description="Send a webhook.test event")
    def send_test(self, request, queryset):
        for subscription in queryset:
            services.webhook_subscription_test(subscription=subscription)
        self.message_user(request, f"Test event queued for {queryset.count()} subscription(s).", messages.SUCCESS)

    @admin.action(description="Rotate the signing secret")
    def rotate_secret(self, request, queryset):
        for subscription in queryset:
            rotated = services.webhook_subscription_rotate_secret(subscription=subscription)
            messages.warning(request, f"New secret for {rotated.url} (shown only now): {rotated.secret}")

    def delete_model(self, request, obj):
        services.webhook_subscription_delete(subscription=obj)

    def delete_queryset(self, request, queryset):
        for subscription in queryset:
            services.webhook_subscription_delete(subscription=subscription)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantScopedAdmin):
    list_display = ("event_type", "subscription", "status", "attempts", "last_status_code", "last_attempt_at",
                    "next_attempt_at", "created_at")
    list_filter = ("status",)
    list_select_related = ("event", "subscription")
    search_fields = ("event__id", "subscription__url")
    fields = ("event", "subscription", "status", "attempts", "last_status_code", "last_error", "last_attempt_at",
              "next_attempt_at", "created_at", "attempt_history")
    readonly_fields = fields
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Event type")
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description="Attempts")
    def attempt_history(self, obj):
        return format_html_join(
            "", "<div>#{} at {}: {} ({} ms)</div>",
            ((a.number, a.attempted_at, a.status_code or a.error, a.duration_ms) for a in obj.attempt_log.all()),
        ) or "None yet."

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request, queryset):
        count = services.webhook_deliveries_redeliver(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} delivery(ies) queued again.", messages.SUCCESS)


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """The outbox, read-only: events are written by the services of the change they describe."""

    list_display = ("type", "tenant", "created_at", "relayed_at")
    list_filter = ("type",)
    search_fields = ("id",)
    readonly_fields = ("id", "tenant", "type", "data", "dedupe_key", "created_at", "relayed_at")
