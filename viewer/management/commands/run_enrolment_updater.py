"""Runs the program-enrolment job once (the Celery task `viewer.program_enrolment_run` runs it on
workers: after each program enrolment, and on beat)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from viewer.services import enrolment_updater_run


class Command(BaseCommand):
    help = (
        "Applies the carry-forward rules to new program enrolments: processes the pending job rows once "
        "and exits. Workers do this on their own (docs/events.md); safe to run beside them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=100, help="Rows claimed per transaction (default 100).")
        parser.add_argument(
            "--max-attempts", type=int, default=5, help="Attempts before a row is marked failed (default 5)."
        )

    def handle(self, *args, batch: int, max_attempts: int, **options) -> None:
        if batch < 1 or max_attempts < 1:
            self.stderr.write("--batch and --max-attempts must be at least 1.")
            raise SystemExit(2)
        run = enrolment_updater_run(batch_size=batch, max_attempts=max_attempts)
        self.stdout.write(f"done={run.done} retried={run.retried} failed={run.failed}")
