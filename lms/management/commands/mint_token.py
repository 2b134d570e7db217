"""`manage.py mint_token --user <uuid> --tenant <uuid> --roles admin[,instructor] [--ttl SECONDS]`.

Prints one line: a bearer token signed with the configured key (LMS_JWT_PRIVATE_KEY as
RS256, else LMS_JWT_SECRET as HS256), for operators and for trying the API with curl.
"""

import uuid

from django.core.management.base import BaseCommand, CommandError

from lms.api.authentication import mint_token
from lms.api.identity import KNOWN_ROLES


def _uuid(value: str, option: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise CommandError(f"{option} must be a UUID, got {value!r}.") from None


class Command(BaseCommand):
    help = "Print a signed bearer token for a user in a tenant."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The user's UUID (the token's `sub`).")
        parser.add_argument("--tenant", required=True, help="The tenant's UUID (the token's `tenant_id`).")
        parser.add_argument(
            "--roles",
            default="learner",
            help=f"Comma-separated roles from {', '.join(sorted(KNOWN_ROLES))} (default: learner).",
        )
        parser.add_argument("--ttl", type=int, default=3600, help="Lifetime in seconds (default: 3600).")

    def handle(self, *args, user, tenant, roles, ttl, **options):
        role_list = [role.strip() for role in roles.split(",") if role.strip()]
        unknown = sorted(set(role_list) - KNOWN_ROLES)
        if not role_list or unknown:
            raise CommandError(
                f"--roles takes a comma-separated list of {', '.join(sorted(KNOWN_ROLES))}; "
                f"got {', '.join(unknown) or 'nothing'}."
            )
        if ttl <= 0:
            raise CommandError("--ttl must be a positive number of seconds.")
        try:
            token = mint_token(
                user_id=_uuid(user, "--user"),
                tenant_id=_uuid(tenant, "--tenant"),
                roles=list(dict.fromkeys(role_list)),
                ttl_seconds=ttl,
            )
        except RuntimeError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(token)
