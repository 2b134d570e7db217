"""Reads of the viewer API: content progress across contexts and per-enrolment summaries.

Every read is filtered by tenant and user first (`user_id` leads the indexes of the
consumption, assessment and enrollment tables) and runs a constant number of queries,
whatever the number of contents or enrolments asked for.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber

from courses.models import Course
from courses.selectors import required_placements
from enrollment.models import Enrollment
from lms.api.errors import NotFoundError
from tracking.models import (
    AssessmentAttempt,
    ConsumptionStatus,
    ContentConsumption,
    CourseTrackStatus,
    IssuedCertificate,
)
from tracking.selectors import tenant_carries_forward
from viewer.models import SummaryDeletion

TRACK_STATUS_CODES = {
    CourseTrackStatus.NOT_STARTED: 0,
    CourseTrackStatus.IN_PROGRESS: 1,
    CourseTrackStatus.COMPLETED: 2,
}
COMPLETED = int(ConsumptionStatus.COMPLETED)
EXPORT_CHUNK_SIZE = 500


def epoch_ms(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def _best_attempts(attempts: QuerySet, *, partition: Sequence[str]) -> QuerySet:
    """The best attempt per partition: highest score, the newest on a tie, with its own max."""
    return (
        attempts.annotate(
            best_rank=Window(
                RowNumber(),
                partition_by=[F(name) for name in partition],
                order_by=[F("score").desc(), F("assessment_ts").desc()],
            )
        )
        .filter(best_rank=1)
        .values(*partition, "score", "max_score")
    )


def content_progress_read(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, content_ids: Sequence[uuid.UUID],
    collection_id: uuid.UUID | None = None, batch_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """Progress, status, view count, last access and best score of each content for one user.

    With a context (collection and batch) the values are that context's; with the tenant's
    `carry` setting a content completed in any of the user's contexts reads as completed.
    Without a context the read spans every context of the user: the highest status and
    progress win, view counts add up, the best score is the best of all. Never reads another
    user's rows. Returns one entry per requested content, in request order (not-started
    defaults when nothing is recorded). Three queries at most.
    """
    content_ids = list(dict.fromkeys(content_ids))
    consumption = ContentConsumption.objects.filter(user_id=user_id, tenant_id=tenant_id, content_id__in=content_ids)
    attempts = AssessmentAttempt.objects.filter(user_id=user_id, tenant_id=tenant_id, content_id__in=content_ids)
    carry = False
    if collection_id is not None:
        carry = tenant_carries_forward(tenant_id=tenant_id)
        in_context = Q(collection_id=collection_id, batch_id=batch_id)
        attempts = attempts.filter(in_context)
        if not carry:
            consumption = consumption.filter(in_context)
        aggregates = consumption.order_by().values("content_id").annotate(
            status_max=Max("status", filter=in_context),
            progress_max=Max("progress", filter=in_context),
            views=Sum("view_count", filter=in_context),
            last_access=Max("last_accessed_at", filter=in_context),
            status_anywhere=Max("status"),
        )
    else:
        aggregates = consumption.order_by().values("content_id").annotate(
            status_max=Max("status"),
            progress_max=Max("progress"),
            views=Sum("view_count"),
            last_access=Max("last_accessed_at"),
            status_anywhere=Max("status"),
        )
    facts = {row["content_id"]: row for row in aggregates}
    best = {row["content_id"]: row for row in _best_attempts(attempts, partition=["content_id"])}
    contents = []
    for content_id in content_ids:
        row = facts.get(content_id) or {}
        status = row.get("status_max") or 0
        progress = row.get("progress_max") or 0
        if carry and row.get("status_anywhere") == COMPLETED:
            status = COMPLETED
        if status == COMPLETED:
            progress = 100
        scored = best.get(content_id)
        contents.append({
            "identifier": str(content_id),
            "contentId": str(content_id),
            "progress": progress,
            "status": status,
            "score": scored["score"] if scored else None,
            "max_score": scored["max_score"] if scored else None,
            "viewCount": row.get("views") or 0,
            "lastAccessedTime": epoch_ms(row.get("last_access")),
        })
    return contents


# --- Enrolment summaries ---------------------------------------------------------------


_ENROLMENT_FIELDS = (
    "id", "user_id", "course_id", "batch_id", "enrolled_on_time", "active", "state",
    "track__id", "track__status", "track__timeend", "track__last_accessed_date",
)
_COLLECTION_FIELDS = ("course__title", "course__description", "course__image")


def summary_enrollments(*, tenant_id: uuid.UUID, user_id: uuid.UUID, with_collection: bool = True) -> QuerySet:
    """The user's enrolments whose summary is not deleted, newest first, as plain rows with their
    course track's fields (and the course's, `with_collection`): one query, no model instances.

    A deletion hides only the enrolments made before it: after a hard delete and a new
    enrolment in the same (collection, batch), the new enrolment has its own summary."""
    deleted = SummaryDeletion.objects.filter(
        user_id=OuterRef("user_id"), tenant_id=OuterRef("tenant_id"), collection_id=OuterRef("course_id"),
        batch_id=OuterRef("batch_id"), deleted_at__gte=OuterRef("enrolled_on_time"),
    )
    fields = _ENROLMENT_FIELDS + (_COLLECTION_FIELDS if with_collection else ())
    return (
        Enrollment.objects.filter(tenant_id=tenant_id, user_id=user_id)
        .exclude(Exists(deleted))
        .order_by("-enrolled_on_time", "id")
        .values(*fields)
    )


def _required_lessons(course_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each course's required lessons in placement order, in one uncorrelated query (a correlated
    rule per placement row took seconds for a user with many large courses)."""
    placements = (
        required_placements(course_ids=course_ids)
        .order_by("course_id", "module__ordering", "ordering")
        .values_list("course_id", "lesson_id")
    )
    # A dict keeps placement order and drops a lesson placed twice in one course, in O(1) per row.
    required: dict[uuid.UUID, dict[uuid.UUID, None]] = {}
    for course_id, lesson_id in placements:
        required.setdefault(course_id, {})[lesson_id] = None
    return {course_id: list(lessons) for course_id, lessons in required.items()}


_image_storage = Course._meta.get_field("image").storage


def build_summaries(
    enrollments: Sequence[dict[str, Any]], *, tenant_id: uuid.UUID, user_id: uuid.UUID, carry: bool,
    with_assessments: bool = True,
) -> list[dict[str, Any]]:
    """Summaries of enrolment rows of one user (from `summary_enrollments`).

    Four queries whatever their number: required lessons, consumption, best assessments
    (optional), issued certificates. `collection` is present when the rows carry the course's
    fields; its `logo` is the stored image URL, which the API makes absolute.
    """
    if not enrollments:
        return []
    course_ids = {enrollment["course_id"] for enrollment in enrollments}
    required = _required_lessons(course_ids)

    # The user's rows only (user_id leads the index); lessons are matched in Python, since an
    # IN list of every lesson of fifty large courses costs more than it filters.
    consumption = ContentConsumption.objects.filter(user_id=user_id, tenant_id=tenant_id)
    if not carry:
        consumption = consumption.filter(collection_id__in=course_ids)
    status_in_context: dict[tuple, int] = {}
    last_access: dict[tuple, dt.datetime] = {}
    completed_anywhere: set[uuid.UUID] = set()
    for collection_id, batch_id, content_id, status, accessed in consumption.values_list(
        "collection_id", "batch_id", "content_id", "status", "last_accessed_at"
    ):
        status_in_context[(collection_id, batch_id, content_id)] = status
        if status == COMPLETED:
            completed_anywhere.add(content_id)
        context = (collection_id, batch_id)
        if context not in last_access or accessed > last_access[context]:
            last_access[context] = accessed

    best: dict[tuple, dict[str, dict[str, float]]] = {}
    if with_assessments:
        attempts = AssessmentAttempt.objects.filter(user_id=user_id, tenant_id=tenant_id, collection_id__in=course_ids)
        for row in _best_attempts(attempts, partition=["collection_id", "batch_id", "content_id"]):
            best.setdefault((row["collection_id"], row["batch_id"]), {})[str(row["content_id"])] = {
                "score": row["score"], "max_score": row["max_score"],
            }

    track_ids = [enrollment["track__id"] for enrollment in enrollments if enrollment["track__id"] is not None]
    certificates: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for certificate in IssuedCertificate.objects.filter(track_id__in=track_ids).values(
        "track_id", "id", "name", "token", "issued_at"
    ):
        certificates.setdefault(certificate["track_id"], []).append({
            "name": certificate["name"],
            "id": str(certificate["id"]),
            "token": certificate["token"],
            "lastIssuedOn": certificate["issued_at"].isoformat(),
        })

    summaries = []
    for enrollment in enrollments:
        context = (enrollment["course_id"], enrollment["batch_id"])
        lessons = required.get(enrollment["course_id"], [])
        content_status = {}
        for lesson_id in lessons:
            status = status_in_context.get((*context, lesson_id), 0)
            if carry and lesson_id in completed_anywhere:
                status = COMPLETED
            content_status[str(lesson_id)] = status
        completed = sum(1 for status in content_status.values() if status == COMPLETED)
        # The track exists from enrolment; rows made outside the services may lack one.
        has_track = enrollment["track__id"] is not None
        status = TRACK_STATUS_CODES[enrollment["track__status"]] if has_track else enrollment["state"]
        progress = 100 if status == COMPLETED else (completed * 100 // len(lessons) if lessons else 0)
        accessed = [value for value in (last_access.get(context), enrollment["track__last_accessed_date"]) if value]
        summary = {
            "userId": str(enrollment["user_id"]),
            "collectionId": str(enrollment["course_id"]),
            "batchId": str(enrollment["batch_id"]),
            "enrolledDate": epoch_ms(enrollment["enrolled_on_time"]),
            "active": enrollment["active"],
            "contentStatus": content_status,
            "assessmentStatus": best.get(context, {}),
            "issuedCertificates": certificates.get(enrollment["track__id"], []),
            "completedOn": epoch_ms(enrollment["track__timeend"]),
            "lastAccessedOn": epoch_ms(max(accessed)) if accessed else None,
            "progress": progress,
            "status": status,
        }
        if "course__title" in enrollment:
            summary["collection"] = {
                "identifier": str(enrollment["course_id"]),
                "name": enrollment["course__title"],
                "logo": _image_storage.url(enrollment["course__image"]) if enrollment["course__image"] else None,
                "leafNodesCount": len(lessons),
                "description": enrollment["course__description"],
            }
        summaries.append(summary)
    return summaries


def summary_list(*, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every enrolment summary of the user in the tenant (deleted ones hidden). Six queries:
    carry setting, enrolments with course and track, then the four of `build_summaries`."""
    carry = tenant_carries_forward(tenant_id=tenant_id)
    enrollments = list(summary_enrollments(tenant_id=tenant_id, user_id=user_id))
    return build_summaries(enrollments, tenant_id=tenant_id, user_id=user_id, carry=carry)


def summary_read(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, collection_id: uuid.UUID, batch_id: uuid.UUID
) -> dict[str, Any]:
    """One enrolment's summary. Raises NotFoundError when the user has no such enrolment in
    the tenant, or its summary was deleted."""
    enrollment = summary_enrollments(tenant_id=tenant_id, user_id=user_id).filter(
        course_id=collection_id, batch_id=batch_id
    ).first()
    if enrollment is None:
        raise NotFoundError(
            "This user has no enrolment summary for that collectionId and batchId in this tenant.",
            code="ERR_SUMMARY_NOT_FOUND",
        )
    carry = tenant_carries_forward(tenant_id=tenant_id)
    return build_summaries([enrollment], tenant_id=tenant_id, user_id=user_id, carry=carry)[0]


EXPORT_FIELDS = (
    "collectionId", "batchId", "status", "progress", "completedOn", "enrolledDate", "lastAccessedOn",
    "certificatesCount",
)


def summary_export_rows(*, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Iterator[dict[str, Any]]:
    """The flat export row of every enrolment summary, computed chunk by chunk while the
    enrolments stream from a server-side cursor, so memory stays flat however many there are."""
    carry = tenant_carries_forward(tenant_id=tenant_id)
    enrollments = summary_enrollments(tenant_id=tenant_id, user_id=user_id, with_collection=False).iterator(
        chunk_size=EXPORT_CHUNK_SIZE
    )
    while chunk := list(itertools.islice(enrollments, EXPORT_CHUNK_SIZE)):
        for summary in build_summaries(chunk, tenant_id=tenant_id, user_id=user_id, carry=carry,
                                       with_assessments=False):
            yield {
                "collectionId": summary["collectionId"],
                "batchId": summary["batchId"],
                "status": summary["status"],
                "progress": summary["progress"],
                "completedOn": summary["completedOn"],
                "enrolledDate": summary["enrolledDate"],
                "lastAccessedOn": summary["lastAccessedOn"],
                "certificatesCount": len(summary["issuedCertificates"]),
            }
