from django.urls import path

from lms.events.api.views import WebhookViewSet

urlpatterns = [
    path("webhooks", WebhookViewSet.as_view({"get": "list", "post": "create"}), name="webhook-list"),
    path("webhooks/<uuid:pk>", WebhookViewSet.as_view({"get": "retrieve", "put": "update", "delete": "destroy"}),
         name="webhook-detail"),
    path("webhooks/<uuid:pk>/rotate-secret", WebhookViewSet.as_view({"post": "rotate_secret"}),
         name="webhook-rotate-secret"),
    path("webhooks/<uuid:pk>/test", WebhookViewSet.as_view({"post": "test"}), name="webhook-test"),
    path("webhooks/<uuid:pk>/deliveries", WebhookViewSet.as_view({"get": "deliveries"}), name="webhook-deliveries"),
    path("webhooks/<uuid:pk>/deliveries/<uuid:delivery_id>/redeliver",
         WebhookViewSet.as_view({"post": "redeliver"}), name="webhook-redeliver"),
]
