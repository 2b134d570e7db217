from django.apps import AppConfig
from django.db.models.signals import post_delete


class LmsConfig(AppConfig):
    name = "lms"
    verbose_name = "Platform (tenants)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lms import receivers
        from lms.api.authentication import check_jwt_configuration

        # A malformed key must stop the service at start-up, not fail every request later.
        check_jwt_configuration()
        from lms.models import Tenant

        post_delete.connect(receivers.tenant_deleted, sender=Tenant, dispatch_uid="lms.tenant_deleted")
