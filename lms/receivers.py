"""Keeps the per-process tenant cache honest when a tenant is deleted (in the admin)."""

from lms.api.tenancy import forget_tenant


def tenant_deleted(sender, instance, **kwargs) -> None:
    forget_tenant(instance.pk)
