"""`manage.py create_tenant --name NAME [--id UUID] [--carry-forward strict|carry]`.

For deployments that provision tenants explicitly (LMS_AUTO_PROVISION_TENANTS=false).
Idempotent: it prints the tenant's id, creating or updating the tenant only when needed.
"""

import uuid

from django.core.management.base import BaseCommand, CommandError

from lms.api.errors import ApiError
from lms.models import Tenant
from lms.services import tenant_ensure


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise CommandError(f"--id must be a UUID, got {value!r}.") from None


class Command(BaseCommand):
    help = "Create a tenant, or bring an existing one up to date; prints the tenant id."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Display name of the tenant.")
        parser.add_argument("--id", dest="tenant_id", help="The tenant's UUID as the identity provider knows it.")
        parser.add_argument(
            "--carry-forward",
            choices=Tenant.CarryForward.values,
            help="Whether content completed in one course counts in others (default for new tenants: strict).",
        )

    def handle(self, *args, name, tenant_id=None, carry_forward=None, **options):
        name = name.strip()
        if not name:
            raise CommandError("--name must not be empty.")
        try:
            tenant, outcome = tenant_ensure(
                name=name,
                tenant_id=_uuid(tenant_id) if tenant_id else None,
                carry_forward=carry_forward,
            )
        except ApiError as error:
            raise CommandError(error.errmsg) from None
        self.stderr.write(f"Tenant {tenant.name!r} {outcome} (carry-forward: {tenant.carry_forward}).")
        self.stdout.write(str(tenant.id))
