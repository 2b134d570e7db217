"""Consumes program-enrolment outbox events (the enrolment updater job)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser

from viewer.services import enrolment_updater_run


class Command(BaseCommand):
    help = (
        "Applies the carry-forward rules to new program enrolments: processes the pending outbox "
        "events and exits, or keeps polling with --loop. Safe to run as several workers at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Keep polling for new events.")
        parser.add_argument("--batch", type=int, default=100, help="Events claimed per transaction (default 100).")
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between polls with --loop.")
        parser.add_argument(
            "--max-attempts", type=int, default=5, help="Attempts before an event is marked failed (default 5)."
        )

    def handle(self, *args, loop: bool, batch: int, interval: float, max_attempts: int, **options) -> None:
        if batch < 1 or max_attempts < 1:
            self.stderr.write("--batch and --max-attempts must be at least 1.")
            raise SystemExit(2)
        try:
            while True:
                run = enrolment_updater_run(batch_size=batch, max_attempts=max_attempts)
                if run.claimed or not loop:
                    self.stdout.write(f"done={run.done} retried={run.retried} failed={run.failed}")
                if not loop:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
