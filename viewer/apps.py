from django.apps import AppConfig


class ViewerConfig(AppConfig):
    name = "viewer"
    verbose_name = "Viewer (consumption summaries and programs)"
    default_auto_field = "django.db.models.BigAutoField"
