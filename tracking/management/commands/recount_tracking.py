"""Recomputes every course track from the facts and reports (and fixes) what differs.

Uses the very derivation the services use on every write, so on a consistent database it
finds nothing. Tracks are read in chunks; only a track that differs is then locked and
recounted in its own short transaction, so the command can run beside live traffic.
"""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from courses.models import Course
from enrollment.models import Enrollment
from tracking.models import CourseTrack
from tracking.selectors import tenant_carries_forward
from tracking.services import course_track_recount, course_tracks_drift


class Command(BaseCommand):
    help = "Recompute course tracks from the facts; print the differences and fix them unless --dry-run."

    def add_arguments(self, parser):
        parser.add_argument("--course", type=uuid.UUID, help="Only the tracks of this course (UUID).")
        parser.add_argument("--dry-run", action="store_true", help="Report the differences without fixing them.")
        parser.add_argument("--chunk-size", type=int, default=500, help="Tracks read per database round trip.")

    def handle(self, *args, course=None, dry_run=False, chunk_size=500, **options):
        if course is not None and not Course.objects.filter(pk=course).exists():
            raise CommandError(f"No course with id {course}.")
        checked = CourseTrack.objects.filter(**({"course_id": course} if course else {})).count()
        differing = 0
        carry_by_tenant: dict[uuid.UUID, bool] = {}
        for track, differences in course_tracks_drift(course_id=course, chunk_size=chunk_size):
            if not dry_run:
                if track.tenant_id not in carry_by_tenant:
                    carry_by_tenant[track.tenant_id] = tenant_carries_forward(tenant_id=track.tenant_id)
                differences = self._fix(track_id=track.pk, carry=carry_by_tenant[track.tenant_id])
                if not differences:
                    continue  # a concurrent write settled it meanwhile
            differing += 1
            self.stdout.write(self._describe(track, differences))
        verb = "would be fixed (dry run)" if dry_run else "fixed"
        summary = f"Checked {checked} course tracks: {differing} with differences"
        self.stdout.write(summary + (f", {verb}." if differing else "."))

    @staticmethod
    def _fix(*, track_id, carry: bool) -> dict:
        with transaction.atomic():
            track = CourseTrack.objects.select_for_update().select_related("enrollment").get(pk=track_id)
            before = {
                "no_of_lessons": track.no_of_lessons, "completed_lessons": track.completed_lessons,
                "status": track.status, "timeend": track.timeend, "cert_gen_date": track.cert_gen_date,
                "enrollment.state": track.enrollment.state,
            }
            changed = course_track_recount(track=track, carry=carry)
            after = {name: getattr(track, name) for name in before if name != "enrollment.state"}
            after["enrollment.state"] = Enrollment.objects.values_list("state", flat=True).get(pk=track.enrollment_id)
        return {name: (before[name], after[name]) for name in changed}

    @staticmethod
    def _describe(track: CourseTrack, differences: dict) -> str:
        changes = ", ".join(f"{name} {old} -> {new}" for name, (old, new) in differences.items())
        return f"track {track.pk} (user {track.user_id}, course {track.course_id}, batch {track.batch_id}): {changes}"
