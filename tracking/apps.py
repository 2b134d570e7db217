from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Progress tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tracking import receivers

        receivers.connect()
