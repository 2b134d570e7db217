from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The outbox, webhook subscriptions and their deliveries (DECISIONS §9).

    It sits in the shared layer, below every app that produces events, and imports only `lms`:
    producers call `lms.events.services.event_record` inside their own transaction.
    """

    name = "lms.events"
    label = "events"
    verbose_name = "Events and webhooks"
    default_auto_field = "django.db.models.BigAutoField"
