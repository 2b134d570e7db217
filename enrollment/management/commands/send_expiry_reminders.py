"""Mails learners whose enrollment ends soon, and those whose enrollment has ended (DECISIONS §4).

Each mail goes to the learner's address in the learner directory (DECISIONS §10), read once per
batch, or to LMS_LEARNER_EMAIL_TEMPLATE's address when the directory has none.

Each mail goes out at most once: a batch of enrollments is claimed (its flag set in one
UPDATE, rows held by a concurrent run skipped) before its mails are sent, and the claim of
a mail that fails to send is given back for the next run.
"""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass
from itertools import islice

from django.conf import settings
from django.core import mail
from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from tqdm import tqdm

from enrollment import selectors, services
from lms.models import LearnerDirectoryEntry
from lms.selectors import learner_directory_of_pairs

logger = logging.getLogger("enrollment.reminders")


@dataclass(frozen=True)
class MailKind:
    label: str
    flag: str
    template: str
    due: QuerySet


def learner_address(user_id, entry: LearnerDirectoryEntry | None = None) -> str:
    """The directory's address of the learner when it has one, else the configured template's."""
    if entry is not None and entry.email:
        return entry.email
    return settings.LMS_LEARNER_EMAIL_TEMPLATE.format(user_id=user_id)


def directory_of(rows: list[dict]) -> dict:
    """The directory entries of a batch of claimed rows, in one query."""
    return learner_directory_of_pairs((row["tenant_id"], row["user_id"]) for row in rows)


class Command(BaseCommand):
    help = (
        "Mail learners whose active enrollment ends within --days days (before_expiry_mail) and those "
        "whose enrollment has ended (after_expiry_mail), once each. Unlimited plans are never mailed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="Remind enrollments ending within N days (default 7).")
        parser.add_argument("--dry-run", action="store_true", help="List who would be mailed; send and change nothing.")
        parser.add_argument("--batch-size", type=int, default=200, help="Enrollments claimed per UPDATE (default 200).")

    def handle(self, *args, days: int, dry_run: bool, batch_size: int, **options):
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        now = timezone.now()
        kinds = (
            MailKind(
                label="expiry reminder",
                flag="before_expiry_mail",
                template="expiry_reminder",
                due=selectors.enrollments_due_for_expiry_reminder(now=now, days=days),
            ),
            MailKind(
                label="expiry notice",
                flag="after_expiry_mail",
                template="expiry_notice",
                due=selectors.enrollments_due_for_expiry_notice(now=now),
            ),
        )
        if dry_run:
            for kind in kinds:
                self._list_due(kind, now=now)
            return
        failures = 0
        with mail.get_connection() as connection:
            for kind in kinds:
                sent, failed = self._send_due(kind, now=now, batch_size=batch_size, connection=connection)
                failures += failed
                self.stdout.write(f"Sent {sent} {kind.label}{'s' if sent != 1 else ''}.")
        if failures:
            raise CommandError(f"{failures} mails could not be sent; they will be retried on the next run.")

    def _list_due(self, kind: MailKind, *, now) -> None:
        rows = kind.due.order_by("end_time", "id").values("id", "user_id", "tenant_id", "end_time", "course__title")
        count = 0
        listed = rows.iterator(chunk_size=500)
        while batch := list(islice(listed, 500)):
            directory = directory_of(batch)
            for row in batch:
                count += 1
                address = learner_address(row["user_id"], directory.get((row["tenant_id"], row["user_id"])))
                self.stdout.write(
                    f"Would send {kind.label} to {address}: "
                    f"\"{row['course__title']}\" ends {row['end_time'].isoformat()} (enrollment {row['id']})"
                )
        self.stdout.write(f"Dry run: {count} {kind.label}{'s' if count != 1 else ''} would be sent; nothing changed.")

    def _send_due(self, kind: MailKind, *, now, batch_size: int, connection) -> tuple[int, int]:
        sent = 0
        failed_ids: list = []
        due = kind.due
        with tqdm(
            total=due.count(), desc=kind.label, unit="mail", file=sys.stderr, disable=not sys.stderr.isatty()
        ) as progress:
            while True:
                rows = services.enrollment_expiry_mail_claim(due=due, flag=kind.flag, limit=batch_size)
                if not rows:
                    break
                unsent = []
                directory = directory_of(rows)
                for row in rows:
                    entry = directory.get((row["tenant_id"], row["user_id"]))
                    try:
                        if not connection.send_messages([self._message(kind, row, entry, now=now)]):
                            raise RuntimeError("the mail backend accepted no message")
                    except Exception:
                        # One bad address or a transient SMTP error must not stop the others.
                        logger.exception("Could not send %s for enrollment %s", kind.label, row["id"])
                        unsent.append(row["id"])
                    else:
                        sent += 1
                    progress.update(1)
                if unsent:
                    services.enrollment_expiry_mail_release(enrollment_ids=unsent, flag=kind.flag)
                    failed_ids.extend(unsent)
                    # Released rows are due again; skip them for the rest of this run.
                    due = kind.due.exclude(pk__in=failed_ids)
        return sent, len(failed_ids)

    def _message(self, kind: MailKind, row: dict, entry: LearnerDirectoryEntry | None, *, now) -> mail.EmailMessage:
        seconds_left = (row["end_time"] - now).total_seconds()
        context = {
            "course_title": row["course__title"],
            "end_time": row["end_time"],
            "days_left": max(1, math.ceil(seconds_left / 86400)) if seconds_left > 0 else 0,
            "state": row["state"],
            "user_id": row["user_id"],
            "learner_name": entry.name if entry is not None else None,
        }
        subject = " ".join(render_to_string(f"enrollment/{kind.template}_subject.txt", context).split())
        body = render_to_string(f"enrollment/{kind.template}_body.txt", context)
        return mail.EmailMessage(
            subject=subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[learner_address(row["user_id"], entry)],
        )
