"""Webhook subscriptions (DECISIONS §9): tenant admins only, LMS envelope. Thin: parse, call, shape."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from lms.api.pagination import PageQuerySerializer, paginate
from lms.api.permissions import IsAuthenticatedPrincipal
from lms.api.schema import EnvelopeAutoSchema
from lms.api.views import TenantScopedViewSet, json_parsers
from lms.events import selectors, services
from lms.events.api.serializers import (
    WebhookCreateInputSerializer,
    WebhookDeliveryListOutputSerializer,
    WebhookDeliveryOutputSerializer,
    WebhookOutputSerializer,
    WebhookUpdateInputSerializer,
    WebhookWithSecretOutputSerializer,
)
from lms.events.models import WebhookDelivery, WebhookSubscription


class IsTenantAdmin(IsAuthenticatedPrincipal):
    message = "Only the tenant's admins manage webhooks."

    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.user.is_admin


class WebhookSchema(EnvelopeAutoSchema):
    def _is_list_view(self, serializer=None):
        # GET /webhooks/:id/deliveries answers one object, {count, deliveries}.
        return self.view.action == "list" and super()._is_list_view(serializer)


class WebhookViewSet(TenantScopedViewSet):
    parser_classes = json_parsers()
    permission_classes = [IsTenantAdmin]
    queryset = WebhookSubscription.objects.all()
    schema = WebhookSchema()
    api_ids = {
        "create": "api.webhook.create",
        "list": "api.webhook.list",
        "retrieve": "api.webhook.read",
        "update": "api.webhook.update",
        "destroy": "api.webhook.delete",
        "rotate_secret": "api.webhook.rotate-secret",
        "test": "api.webhook.test",
        "deliveries": "api.webhook.deliveries",
        "redeliver": "api.webhook.redeliver",
    }

    @extend_schema(request=WebhookCreateInputSerializer, responses={201: WebhookWithSecretOutputSerializer},
                   summary="Subscribe an endpoint to events (the secret is shown only here)")
    def create(self, request):
        body = WebhookCreateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = services.webhook_subscription_create(
            tenant_id=self.tenant_id, created_by=request.user.user_id, **body.validated_data
        )
        return Response(WebhookWithSecretOutputSerializer(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=WebhookOutputSerializer(many=True), summary="List the tenant's webhook subscriptions")
    def list(self, request):
        subscriptions = selectors.webhook_subscriptions(tenant_id=self.tenant_id)
        return Response(WebhookOutputSerializer(subscriptions, many=True).data)

    @extend_schema(responses=WebhookOutputSerializer, summary="Read a webhook subscription (never its secret)")
    def retrieve(self, request, pk=None):
        return Response(WebhookOutputSerializer(self.get_object()).data)

    @extend_schema(request=WebhookUpdateInputSerializer, responses=WebhookOutputSerializer,
                   summary="Change a subscription's url, events, active or description")
    def update(self, request, pk=None):
        subscription = self.get_object()
        body = WebhookUpdateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription = services.webhook_subscription_update(subscription=subscription, **body.validated_data)
        return Response(WebhookOutputSerializer(subscription).data)

    @extend_schema(responses={200: OpenApiResponse(description="Deleted, with its deliveries; `result` is null.")},
                   summary="Delete a webhook subscription")
    def destroy(self, request, pk=None):
        services.webhook_subscription_delete(subscription=self.get_object())
        return Response(None)

    @extend_schema(request=None, responses=WebhookWithSecretOutputSerializer,
                   summary="Replace the signing secret (the new one is shown only here)")
    def rotate_secret(self, request, pk=None):
        subscription = services.webhook_subscription_rotate_secret(subscription=self.get_object())
        return Response(WebhookWithSecretOutputSerializer(subscription).data)

    @extend_schema(request=None, responses={202: WebhookDeliveryOutputSerializer},
                   summary="Send a webhook.test event to this endpoint")
    def test(self, request, pk=None):
        delivery = services.webhook_subscription_test(subscription=self.get_object())
        return Response(WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[PageQuerySerializer], responses=WebhookDeliveryListOutputSerializer,
                   summary="The subscription's deliveries, newest first")
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        count, rows = paginate(selectors.webhook_deliveries(subscription=subscription), request)
        return Response({"count": count, "deliveries": WebhookDeliveryOutputSerializer(rows, many=True).data})

    @extend_schema(request=None, responses={202: WebhookDeliveryOutputSerializer},
                   summary="Send a delivery again (from now, with a fresh retry schedule)")
    def redeliver(self, request, pk=None, delivery_id=None):
        subscription = self.get_object()
        delivery = self.get_object_or_404(
            WebhookDelivery.objects.select_related("event").filter(subscription=subscription), pk=delivery_id
        )
        delivery = services.webhook_delivery_redeliver(delivery=delivery)
        return Response(WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
