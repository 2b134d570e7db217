"""Reads of the viewer API: content progress across contexts and per-enrolment summaries.

Every read is filtered by tenant and user first (`user_id` leads the indexes of the
consumption, assessment and enrollment tables) and runs a constant number of queries,
whatever the number of contents or enrolments asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import operator
import struct
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Exists,
    F,
    FilteredRelation,
    Func,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber
from django.urls import reverse

from courses.models import Course
from courses.selectors import required_placements
from enrollment.models import Enrollment
from lms.api.envelope import encode_json, encode_json_to_keep
from lms.api.errors import NotFoundError
from lms.api.fields import iso_utc
from lms.api.pagination import Page
from lms.lru import WeightedLRU
from lms.rawsql import CompiledQuery, compiled_once
from tracking.models import (
    ENROLLMENT_STATE_FOR_TRACK,
    AssessmentAttempt,
    ConsumptionStatus,
    ContentConsumption,
)
from tracking.selectors import tenant_carries_forward, tenant_carries_forward_exists
from viewer.models import SummaryDeletion

COMPLETED = int(ConsumptionStatus.COMPLETED)
# A track's status as the summary's `status` (a plain int: int() of the enum per row cost a call).
_STATE_FOR_TRACK = {track_status: int(state) for track_status, state in ENROLLMENT_STATE_FOR_TRACK.items()}
EXPORT_CHUNK_SIZE = 500
ZERO_DIGIT = ord("0")


def epoch_ms(value: dt.datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


# A timestamptz as whole microseconds since the epoch on PostgreSQL, in float8 (date_part), not
# numeric (EXTRACT, PostgreSQL 14+): numeric arithmetic allocated per value, and the lean summary
# list computes four per enrolment (about 5 % of its statement's CPU). Still exact to the
# microsecond: date_part divides the exact int64 microseconds by 10**6 once (error at most half an
# ulp of the seconds: 1.2e-7 s below 2**31 s, 2.4e-7 s below 2**32, i.e. up to the year 2106), the
# product by 10**6 adds at most half an ulp of itself (0.125 / 0.25 µs), and ::bigint rounds to
# the nearest integer: the two errors stay under 0.5 µs, so the rounding lands on the exact value
# (tests/viewer/test_summary_list_fields.py compares both forms over the range).
_EPOCH_US_SQL = "(date_part('epoch', %s) * 1000000)::bigint"


class EpochMicroseconds(Func):
    """A timestamp as whole microseconds since the epoch, computed by the database: an integer
    is read for a fraction of a timestamp's cost (Django's timestamptz loader parses each one in
    Python; 150 of them were three quarters of the summary list's enrolment statement)."""

    arity = 1
    output_field = BigIntegerField()
    # Both databases compute an integer (or NULL): the int() of Django's converter for integer
    # expressions would change nothing, for a Python call per value (three per enrolment row).
    convert_value = staticmethod(Func._convert_value_noop)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template=_EPOCH_US_SQL % "%(expressions)s", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores a timestamp as UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]': whole seconds from
        # strftime of the first 19 characters (given the fraction, SQLite rounds it to milliseconds,
        # and .9995 up to the next second), then the fraction's digits as they are (none reads as 0).
        # The value is named twice.
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(CAST(strftime('%%s', substr({sql}, 1, 19)) AS INTEGER) * 1000000"
            f" + CAST(substr({sql}, 21, 6) AS INTEGER))",
            (*params, *params),
        )


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


_ENROLMENT_TRACK_FIELDS = (
    "id", "user_id", "course_id", "batch_id", "active", "state", "course__content_version",
    "user_track__id", "user_track__status",
)
_ENROLMENT_FIELDS = _ENROLMENT_TRACK_FIELDS + (
    # A track has at most one certificate (one-to-one), so it joins without multiplying rows.
    "user_certificate__id", "user_certificate__name", "user_certificate__token", "user_certificate__issued_at",
)
_COLLECTION_FIELDS = ("course__title", "course__description", "course__image")
# The timestamps a summary shows, as microseconds since the epoch (EpochMicroseconds).
_ENROLMENT_TIMES = ("enrolled_on_us", "completed_on_us", "track_last_accessed_us", "consumed_last_accessed_us")


@functools.cache
def _undeleted_enrollments(*, with_last_consumed: bool = True) -> QuerySet:
    """Enrolments whose summary is not deleted, with the last access recorded in their context's
    consumption (`with_last_consumed`), newest first. Built once: resolving its two correlated
    subqueries cost about a millisecond per request. Never evaluated itself (that would cache its
    rows): callers filter it, which clones it."""
    in_context = {
        "user_id": OuterRef("user_id"), "tenant_id": OuterRef("tenant_id"), "collection_id": OuterRef("course_id"),
        "batch_id": OuterRef("batch_id"),
    }
    deleted = SummaryDeletion.objects.filter(**in_context, deleted_at__gte=OuterRef("enrolled_on_time"))
    # One index probe per enrolment (the consumption's unique context leads with these columns),
    # rather than a timestamp per consumption row decoded in Python.
    last_consumed = (
        ContentConsumption.objects.filter(**in_context).order_by("-last_accessed_at").values("last_accessed_at")[:1]
    )
    enrollments = Enrollment.objects.exclude(Exists(deleted))
    if with_last_consumed:
        enrollments = enrollments.annotate(consumed_last_accessed_us=EpochMicroseconds(Subquery(last_consumed)))
    return (
        enrollments
        .annotate(
            # The track and certificate joins also match the enrolment's user: a redundant
            # condition here (they belong to it), which lets a database distributed by user_id
            # (Citus) run the join on one shard (docs/scaling.md).
            user_track=FilteredRelation("track", condition=Q(track__user_id=F("user_id"))),
            user_certificate=FilteredRelation(
                "user_track__certificate", condition=Q(user_track__certificate__user_id=F("user_id"))
            ),
        )
        .annotate(
            enrolled_on_us=EpochMicroseconds("enrolled_on_time"),
            completed_on_us=EpochMicroseconds("user_track__timeend"),
            track_last_accessed_us=EpochMicroseconds("user_track__last_accessed_date"),
        )
        .order_by("-enrolled_on_time", "id")
    )


def summary_enrollments(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, with_collection: bool = True, with_last_consumed: bool = True,
    with_certificates: bool = True,
) -> QuerySet:
    """The user's enrolments whose summary is not deleted, newest first, as plain rows with their
    course track's fields and its issued certificate's, their course's `content_version`, the
    timestamps a summary shows as microseconds since the epoch (enrolment, track's end and last
    access, and the last access recorded in their context's consumption: `_ENROLMENT_TIMES`; the
    last without `with_last_consumed`), and the course's own fields (`with_collection`): one query,
    no model instances. Without `with_certificates` the rows lack the certificate's fields, and the
    statement its join.

    A deletion hides only the enrolments made before it: after a hard delete and a new
    enrolment in the same (collection, batch), the new enrolment has its own summary."""
    fields = (_ENROLMENT_FIELDS if with_certificates else _ENROLMENT_TRACK_FIELDS) + (
        _COLLECTION_FIELDS if with_collection else ()
    )
    times = _ENROLMENT_TIMES if with_last_consumed else _ENROLMENT_TIMES[:-1]
    return (
        _undeleted_enrollments(with_last_consumed=with_last_consumed)
        .filter(tenant_id=tenant_id, user_id=user_id)
        .values(*fields, *times)
    )


@dataclasses.dataclass(frozen=True)
class RequiredLessons:
    """A course's required lessons at one content version. Shared between requests and threads,
    so never mutated: a summary copies `statuses`."""

    # Every required lesson id, as the string the summary shows, mapped to 0 (not started), in
    # placement order: copying it is the cheapest way to start a summary's contentStatus.
    statuses: dict[str, int]
    # The same lessons by their UUID's 16 bytes, to match the consumption the database returns
    # packed (`_consumption_by_context`): bytes hash and compare in C, a UUID in Python.
    by_key: dict[bytes, str]
    # `statuses` encoded as the response writes it (`encode_json`), and where each lesson's status
    # digit sits in it: a summary's contentStatus is a copy with a few digits changed, rather than
    # hundreds of entries built and encoded again per enrolment (`_encoded_statuses`).
    encoded: bytes = b"{}"
    digit_at: dict[str, int] | None = None
    # The course's id as a summary shows it (a UUID's str() is Python code, about 1 µs); empty in
    # the stand-in for a course without an entry.
    course_text: str = ""


# Each course's required lessons, keyed by (tenant, course, content_version), the ids as their UUID
# ints (a tuple of ints hashes in C; of UUIDs, in Python, at each of a lookup's steps). Every content write
# bumps the course's `content_version` through the services, in the same transaction as the write,
# so an entry is an immutable fact; the version is read with the enrolments, before the
# placements, so an entry is never older than its key. Bounded at 50,000 lessons (about 250
# bytes a lesson: some 12 MB a process).
_required_lessons_cache: WeightedLRU[RequiredLessons] = WeightedLRU(
    max_weight=50_000, weigh=lambda entry: len(entry.statuses)
)
_NO_REQUIRED_LESSONS = RequiredLessons(statuses={}, by_key={})


def required_lessons_cache_clear() -> None:
    """Empties the in-process cache of required lessons (tests measure the cold path with it)."""
    _required_lessons_cache.clear()


def _required_lessons(
    *, tenant_id: uuid.UUID, course_versions: dict[int, tuple[uuid.UUID | None, int]]
) -> dict[int, RequiredLessons]:
    """Each course's required lessons in placement order, from the cache or, for the courses it
    lacks at their current version, from one uncorrelated query (a correlated rule per placement
    row took seconds for a user with many large courses). Courses are keyed by their UUID's int,
    each with (its UUID or None, its content version)."""
    tenant_int = tenant_id.int
    keys = {course_int: (tenant_int, course_int, version) for course_int, (_, version) in course_versions.items()}
    cached = _required_lessons_cache.get_many(keys.values())
    # The UUID from its int: the lean list gives no UUID (None in its place).
    missing = [uuid.UUID(int=course_int) for course_int, key in keys.items() if key not in cached]
    if missing:
        placements = (
            required_placements(course_ids=missing)
            .filter(tenant_id=tenant_id)
            .order_by("course_id", "module__ordering", "ordering")
            .values_list("course_id", "lesson_id")
        )
        # A dict keeps placement order and drops a lesson placed twice in one course, in O(1) per row.
        by_course: dict[uuid.UUID, dict[bytes, str]] = {course_id: {} for course_id in missing}
        for course_id, lesson_id in placements:
            lessons = by_course[course_id]
            if lesson_id.bytes not in lessons:
                lessons[lesson_id.bytes] = str(lesson_id)
        loaded = {
            keys[course_id.int]: _required_lessons_of(lessons, course_text=str(course_id))
            for course_id, lessons in by_course.items()
        }
        _required_lessons_cache.put_many(loaded)
        cached.update(loaded)
    return {course_int: cached[key] for course_int, key in keys.items()}


def _required_lessons_of(lessons: dict[bytes, str], *, course_text: str = "") -> RequiredLessons:
    statuses = dict.fromkeys(lessons.values(), 0)
    encoded = encode_json_to_keep(statuses)
    # Each entry is `"<lesson id>":0`; a lesson id is a UUID's text, which JSON writes as it is, so
    # the digit of the lesson at `position` sits right after its quoted id and colon.
    digit_at: dict[str, int] | None = {}
    position = 1
    for lesson in statuses:
        position += len(lesson) + 3
        digit_at[lesson] = position
        position += 2  # the digit and the comma
    if len(encoded) != max(position, 2) or any(encoded[at] != ZERO_DIGIT for at in digit_at.values()):
        digit_at = None  # not the layout assumed above: summaries encode their statuses whole
    return RequiredLessons(
        statuses=statuses, by_key=lessons, encoded=encoded, digit_at=digit_at, course_text=course_text
    )


def _encoded_statuses(lessons: RequiredLessons, changed: dict[str, int]) -> bytes:
    """The contentStatus of an enrolment as encoded JSON: the course's all-zero statuses with the
    `changed` ones (lesson id: status) written over, the bytes `encode_json` gives for the dict."""
    if not changed:
        return lessons.encoded
    # Statuses are 0, 1 or 2: one digit each, which the bytes below replace.
    if lessons.digit_at is None or not all(0 <= status <= 9 for status in changed.values()):
        return encode_json({**lessons.statuses, **changed})
    # The unchanged runs between the changed digits, joined once: a bytearray copy patched in place
    # and turned back into bytes copied the whole (~17 KB for 400 lessons) twice, which for the
    # fifty enrolments of a heavy user was the full list's largest single cost (issue 15).
    digit_at = lessons.digit_at
    whole = memoryview(lessons.encoded)
    pieces = []
    start = 0
    for at, status in sorted([(digit_at[lesson], status) for lesson, status in changed.items()]):
        pieces.append(whole[start:at])
        pieces.append(_DIGITS[status])
        start = at + 1
    pieces.append(whole[start:])
    return b"".join(pieces)


_DIGITS = tuple(bytes((ZERO_DIGIT + digit,)) for digit in range(10))


_image_storage = Course._meta.get_field("image").storage


# The heavy parts of a summary, which `fields` names (Sunbird's enrolment list does the same): a
# dashboard that shows progress and status asks for none of them. `contentStatus` has an entry per
# required lesson, so fifty enrolments in large courses make tens of thousands of entries.
SUMMARY_PARTS = ("contentStatus", "assessmentStatus", "issuedCertificates")
ALL_SUMMARY_PARTS = frozenset(SUMMARY_PARTS)


# A context's consumption, packed: per row its content's UUID (16 bytes) and its status (2 bytes,
# big-endian), as PostgreSQL's uuid_send and int2send write them.
_PACKED_ROW = 18
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _packed_row(content_id: uuid.UUID, status: int) -> bytes:
    return content_id.bytes + status.to_bytes(2, "big")


# The packed rows unpacked in C rather than sliced and shifted in Python, a fifth less for the 300
# completed rows of a bench heavy user: (key, status), or (key,) alone.
_unpack_rows = struct.Struct(">16sH").iter_unpack
_unpack_keys = struct.Struct("16s2x").iter_unpack
# The joined statement's completions (`_with_consumption` without contentStatus) are keys alone:
# every one is completed, so their status is not sent (nor built per row by the database).
_unpack_bare_keys = struct.Struct("16s").iter_unpack
_first = operator.itemgetter(0)
# Keys alone, n of them, split by one Struct of n "16s" fields: a tuple of the keys in one call,
# where iter_unpack builds a 1-tuple per key and map(_first) takes it apart again (about 3 % of
# the lean list's instructions, for the half-dozen keys of each of 50 contexts). Compiled once per n, for the n of up to a few hundred
# that contexts hold; beyond that iter_unpack as before (the cache stays small).
_KEYS_STRUCTS_MAX = 512
_keys_structs: dict[int, struct.Struct] = {}


def _packed_keys_count_among(packed: bytes, by_key: dict[bytes, str]) -> int:
    """How many of the packed keys alone (`_unpack_bare_keys`) are among `by_key`'s lessons."""
    count = len(packed) >> 4
    keys_struct = _keys_structs.get(count)
    if keys_struct is None:
        if count > _KEYS_STRUCTS_MAX:
            return sum(map(by_key.__contains__, map(_first, _unpack_bare_keys(packed))))
        # A dict write under the GIL: two threads compiling the same n both store an equal Struct.
        keys_struct = _keys_structs[count] = struct.Struct("16s" * count)
    return sum(map(by_key.__contains__, keys_struct.unpack(packed)))


def _packed_statuses(packed: bytes, by_key: dict[bytes, str]) -> Iterator[tuple[str, int]]:
    """(lesson, status) of each packed row whose content is among `by_key`'s lessons."""
    for key, status in _unpack_rows(packed):
        lesson = by_key.get(key)
        if lesson is not None:
            yield lesson, status


def _packed_count_among(packed: bytes, by_key: dict[bytes, str]) -> int:
    """How many packed rows have their content among `by_key`'s lessons (no Python per row)."""
    return sum(map(by_key.__contains__, map(_first, _unpack_keys(packed))))


def _packed_completed(packed: bytes) -> Iterator[bytes]:
    """The content keys of the completed rows among packed ones."""
    for key, status in _unpack_rows(packed):
        if status == COMPLETED:
            yield key


def _packed_by_context(
    rows: Iterable[tuple], *, completed_only: bool
) -> dict[tuple[int, int], tuple[int | None, bytes]]:
    """`_consumption_by_context` of consumption rows (collection_id, batch_id, content_id, status[,
    last_accessed_at]) read one by one: the last access is None where the rows lack it."""
    packed: dict[tuple[int, int], list[bytes]] = {}
    last: dict[tuple[int, int], dt.datetime] = {}
    for collection_id, batch_id, content_id, status, *accessed in rows:
        key = (collection_id.int, batch_id.int)
        entries = packed.setdefault(key, [])
        if not completed_only or status == COMPLETED:
            entries.append(_packed_row(content_id, status))
        if accessed and (key not in last or accessed[0] > last[key]):
            last[key] = accessed[0]
    return {
        # Whole microseconds, as EpochMicroseconds computes them.
        key: ((last[key] - _EPOCH) // dt.timedelta(microseconds=1) if key in last else None, b"".join(entries))
        for key, entries in packed.items()
    }


@functools.cache
def _consumption_by_context_sql(completed_only: bool, *, keys_only: bool = False) -> str:
    """The statement of `_consumption_by_context`; with `keys_only` (and `completed_only`) the
    completed rows are packed as their content's 16 bytes alone (`_unpack_bare_keys`)."""
    table = connection.ops.quote_name(ContentConsumption._meta.db_table)
    if completed_only and keys_only:
        packed = f"string_agg(uuid_send(content_id), ''::bytea) FILTER (WHERE status = {COMPLETED})"
    else:
        packed = "string_agg(uuid_send(content_id) || int2send(status::smallint), ''::bytea)"
        if completed_only:
            packed += f" FILTER (WHERE status = {COMPLETED})"
    return (
        f"SELECT collection_id, batch_id, {_EPOCH_US_SQL % 'max(last_accessed_at)'}"
        f" AS last_accessed_us, {packed} AS packed"
        f" FROM {table} WHERE tenant_id = %s AND user_id = %s GROUP BY collection_id, batch_id"
    )


def _consumption_by_context(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, completed_only: bool
) -> dict[tuple[int, int], tuple[int | None, bytes]]:
    """Every consumption context of the user in the tenant, keyed by (collection, batch) as UUID
    ints: the last access recorded there (microseconds since the epoch) and its rows packed
    (`_PACKED_ROW`; only the completed ones with `completed_only`). One query.

    On PostgreSQL the database groups and packs the rows: a row per context instead of one per
    consumption row, and no UUID built in Python per row (three UUIDs a row were a third of the
    lean summary list's time), and the last access comes with them rather than from a correlated
    subquery per enrolment."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_consumption_by_context_sql(completed_only), [tenant_id, user_id])
            return {
                (collection_id.int, batch_id.int): (last_accessed, packed or b"")
                for collection_id, batch_id, last_accessed, packed in cursor.fetchall()
            }
    rows = ContentConsumption.objects.filter(user_id=user_id, tenant_id=tenant_id).values_list(
        "collection_id", "batch_id", "content_id", "status", "last_accessed_at"
    )
    return _packed_by_context(rows, completed_only=completed_only)


def _best_attempts_of_user(*, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The best attempt of the user per (collection, batch, content) in the tenant, from a
    statement compiled once per database. One query."""
    compiled = compiled_once(
        ("summary-best-attempts",),
        lambda tenant_id, user_id: _best_attempts(
            AssessmentAttempt.objects.filter(user_id=user_id, tenant_id=tenant_id),
            partition=["collection_id", "batch_id", "content_id"],
        ),
        ("tenant_id", "user_id"),
    )
    return compiled.values(tenant_id=tenant_id, user_id=user_id)


def build_summaries(
    enrollments: Sequence[dict[str, Any]], *, tenant_id: uuid.UUID, user_id: uuid.UUID, carry: bool,
    parts: frozenset[str] = ALL_SUMMARY_PARTS, every_enrollment: bool = False, statuses_as_bytes: bool = False,
) -> list[dict[str, Any]]:
    """Summaries of enrolment rows of one user (from `summary_enrollments`), with the heavy
    `parts` (SUMMARY_PARTS) asked for; the rest of a summary is the same whichever are asked for.
    `contentStatus` is encoded JSON already (an `orjson.Fragment`, which `encode_json` writes as
    it is); with `statuses_as_bytes`, the encoded bytes themselves, for a caller that splices them
    into its answer (`encode_json` cannot write bytes: such summaries are not for it).

    Three queries at most whatever their number: required lessons (only for courses whose
    current content version is not cached), consumption, best assessments (with
    `assessmentStatus`). Without `contentStatus` only completed consumption is read: progress
    needs no more. With `every_enrollment` (the rows are all of the user's enrolments) the
    consumption and assessments are read for the user as a whole, from statements built once,
    and the consumption read gives each context's last access (the rows need no
    `consumed_last_accessed_us`); otherwise they are read for the rows' contexts only. Rows that
    bring their context's consumption (`_with_consumption`) need no consumption read at all,
    unless `carry`.
    `collection` is present when the rows carry the course's fields; its `logo` is the stored
    image URL, which the API makes absolute.
    """
    if not enrollments:
        return []
    with_statuses = "contentStatus" in parts
    with_assessments = "assessmentStatus" in parts
    with_certificates = "issuedCertificates" in parts
    course_versions = {
        enrollment["course_id"].int: (enrollment["course_id"], enrollment["course__content_version"])
        for enrollment in enrollments
    }
    required = _required_lessons(tenant_id=tenant_id, course_versions=course_versions)

    # The user's rows only (user_id leads the index); lessons are matched in Python, since an
    # IN list of every lesson of fifty large courses costs more than it filters. Rows of contexts
    # not among the enrolments are read but never matched (except completions, with carry).
    # Rows from `_summary_enrollment_rows` may carry their own context's consumption already
    # (`consumption_packed`); carry-forward needs every context's completions, read here.
    packed_in_rows = every_enrollment and not carry and _PACKED_COLUMN in enrollments[0]
    if packed_in_rows:
        by_context = {}
    elif every_enrollment:
        by_context = _consumption_by_context(tenant_id=tenant_id, user_id=user_id, completed_only=not with_statuses)
    else:
        consumption = ContentConsumption.objects.filter(user_id=user_id, tenant_id=tenant_id)
        if not carry:
            # Both columns follow the user in the unique context index; the batches keep an export
            # chunk from reading every other chunk's rows too.
            consumption = consumption.filter(
                collection_id__in=[course_id for course_id, _ in course_versions.values()],
                batch_id__in={enrollment["batch_id"] for enrollment in enrollments},
            )
        if not with_statuses:
            consumption = consumption.filter(status=COMPLETED)
        by_context = _packed_by_context(
            consumption.values_list("collection_id", "batch_id", "content_id", "status"),
            completed_only=not with_statuses,
        )
    # Consumption is sparse beside the required lessons: it is kept per context and laid over the
    # course's all-zero statuses, rather than every lesson looked up. Without contentStatus only
    # completions are packed (progress, and what carry-forward carries, need no more).
    completed_anywhere: set[bytes] = set()
    if carry:
        for _, packed in by_context.values():
            completed_anywhere.update(_packed_completed(packed))

    best: dict[tuple, dict[str, dict[str, float]]] = {}
    if with_assessments:
        if every_enrollment:
            best_attempts = _best_attempts_of_user(tenant_id=tenant_id, user_id=user_id)
        else:
            best_attempts = _best_attempts(
                AssessmentAttempt.objects.filter(
                    user_id=user_id, tenant_id=tenant_id, collection_id__in=list(course_versions)
                ),
                partition=["collection_id", "batch_id", "content_id"],
            )
        for row in best_attempts:
            best.setdefault((row["collection_id"], row["batch_id"]), {})[str(row["content_id"])] = {
                "score": row["score"], "max_score": row["max_score"],
            }

    carried_by_course: dict[int, list[str]] = {}
    no_consumption = (None, b"")
    # The rows are all the user's: its id is written once, not per row.
    user_text = str(user_id)
    summaries = []
    for enrollment in enrollments:
        course_id = enrollment["course_id"]
        batch_id = enrollment["batch_id"]
        course_int = course_id.int
        context_key = (course_int, batch_id.int)
        lessons = required.get(course_int, _NO_REQUIRED_LESSONS)
        lesson_count = len(lessons.by_key)
        if packed_in_rows:
            consumed_last_accessed, packed = enrollment["consumed_last_accessed_us"], enrollment[_PACKED_COLUMN]
        else:
            consumed_last_accessed, packed = by_context.get(context_key, no_consumption)
            if not every_enrollment:
                consumed_last_accessed = enrollment["consumed_last_accessed_us"]
        content_status = None
        if with_statuses:
            # The lessons whose status is not 0 (not started), each once (a context holds a
            # content once: the unique context).
            changed = dict(_packed_statuses(packed, lessons.by_key))
            if carry:
                if course_int not in carried_by_course:
                    carried_by_course[course_int] = _lessons_among(lessons, completed_anywhere)
                for lesson in carried_by_course[course_int]:
                    changed[lesson] = COMPLETED
            completed = list(changed.values()).count(COMPLETED)
            content_status = _encoded_statuses(lessons, changed)
            if not statuses_as_bytes:
                content_status = orjson.Fragment(content_status)
        else:
            # The same count without the per-lesson map: the required lessons completed here (only
            # completions are packed), or with carry-forward anywhere.
            if carry:
                completed = len(lessons.by_key.keys() & completed_anywhere)
            elif packed_in_rows:
                completed = _packed_keys_count_among(packed, lessons.by_key)
            else:
                completed = _packed_count_among(packed, lessons.by_key)
        # The track exists from enrolment; rows made outside the services may lack one.
        has_track = enrollment["user_track__id"] is not None
        status = _STATE_FOR_TRACK[enrollment["user_track__status"]] if has_track else enrollment["state"]
        progress = 100 if status == COMPLETED else (completed * 100 // lesson_count if lesson_count else 0)
        # The later of the two accesses, either of which may be missing.
        last_accessed = enrollment["track_last_accessed_us"]
        if consumed_last_accessed is not None and (last_accessed is None or consumed_last_accessed > last_accessed):
            last_accessed = consumed_last_accessed
        # A course's own batch (the usual one) has the course's id: written once.
        course_text = lessons.course_text or str(course_id)
        # The timestamps as `epoch_ms` gives them, from the microseconds `EpochMicroseconds` read:
        # the same float arithmetic, since an aware datetime's `timestamp()` is its microseconds
        # since the epoch divided by 10**6 (written out here: a call per value cost more).
        enrolled = enrollment["enrolled_on_us"]
        completed_on = enrollment["completed_on_us"]
        summary = {
            "userId": user_text,
            "collectionId": course_text,
            "batchId": course_text if context_key[0] == context_key[1] else str(batch_id),
            "enrolledDate": None if enrolled is None else int(enrolled / 1_000_000 * 1000),
            "active": enrollment["active"],
        }
        # The parts stay in the place they always had, so the full answer keeps its key order.
        if with_statuses:
            summary["contentStatus"] = content_status
        if with_assessments:
            summary["assessmentStatus"] = best.get((course_id, batch_id), {})
        if with_certificates:
            summary["issuedCertificates"] = _issued_certificates(enrollment)
        summary["completedOn"] = None if completed_on is None else int(completed_on / 1_000_000 * 1000)
        summary["lastAccessedOn"] = None if last_accessed is None else int(last_accessed / 1_000_000 * 1000)
        summary["progress"] = progress
        summary["status"] = status
        if "course__title" in enrollment:
            summary["collection"] = {
                "identifier": course_text,
                "name": enrollment["course__title"],
                "logo": _image_storage.url(enrollment["course__image"]) if enrollment["course__image"] else None,
                "leafNodesCount": lesson_count,
                "description": enrollment["course__description"],
            }
        summaries.append(summary)
    return summaries


def _issued_certificates(enrollment: dict[str, Any]) -> list[dict[str, Any]]:
    if enrollment["user_certificate__id"] is None:
        return []
    return [{
        "name": enrollment["user_certificate__name"],
        "id": str(enrollment["user_certificate__id"]),
        "token": enrollment["user_certificate__token"],
        "lastIssuedOn": iso_utc(enrollment["user_certificate__issued_at"]),
        # The public verification page (DECISIONS §10); the API makes it absolute.
        "verifyUrl": reverse("certificate-verify", kwargs={"token": enrollment["user_certificate__token"]}),
    }]


def _lessons_among(lessons: RequiredLessons, content_ids: set[bytes]) -> list[str]:
    """The required lessons (as strings) whose UUID bytes are among `content_ids`, walking the
    smaller side."""
    if len(content_ids) < len(lessons.by_key):
        return [lessons.by_key[content_id] for content_id in content_ids if content_id in lessons.by_key]
    return [lesson for content_id, lesson in lessons.by_key.items() if content_id in content_ids]


# The packed consumption of a row's own context, in the rows of `_with_consumption`.
_PACKED_COLUMN = "consumption_packed"
_with_consumption_cache: dict[tuple, CompiledQuery] = {}
_NOT_IN_JOINED_ROWS = frozenset({"id", "user_id"})


# The lean list's own forms of two ids (`_LEAN_COLUMNS`): a UUID that
# psycopg loads is a Python object per value (uuid.UUID's constructor), 150 of them for a heavy user.
# The course as its 16 bytes (its int is int.from_bytes of them, the required lessons' key), the
# batch as the text the summary shows and only when it is not the course (NULL then: the summary
# writes the course's cached text); the track's id went into the status (`_LEAN_STATUS_SQL`). About
# 20–25 µs of the client's CPU at L (a tenth of the execute-and-fetch).
_KEY_COLUMNS = {
    "course_id": 'uuid_send(e."course_id")',
    "batch_id": 'CASE WHEN e."batch_id" = e."course_id" THEN NULL ELSE e."batch_id"::text END',
}


def _epoch_ms_sql(microseconds: str) -> str:
    # `epoch_ms` of whole microseconds as the summaries compute it in Python, int(us / 10**6 * 1000),
    # in the same IEEE double steps: the bigint is exact as a float8 below 2**53 µs (year 2255),
    # float8 division and product round as Python's do, and trunc() cuts towards zero as int().
    return f"trunc({microseconds}::float8 / 1000000 * 1000)::bigint"


# The lean statement's own columns after the keys (`_with_consumption(ids_as_keys=True)`), computed
# by the database rather than by Python per row: the summary's status (the track's, mapped as
# `_STATE_FOR_TRACK` maps it, else the enrolment's state), and its three dates in milliseconds
# (`_epoch_ms_sql`), the last access the later of the track's and the consumption's: epoch_ms never
# decreases, so the milliseconds of the later are the later of the milliseconds, and greatest() skips
# a NULL as the Python comparison did. Three columns and 150 conversions less a heavy user's request.
_LEAN_STATUS_SQL = (
    'CASE WHEN e."user_track__id" IS NULL THEN e."state"'
    + "".join(f" WHEN e.\"user_track__status\" = '{track_status}' THEN {state}" for track_status, state in _STATE_FOR_TRACK.items())
    + " END"
)
_LEAN_COLUMNS = (
    ("course_id", _KEY_COLUMNS["course_id"]),
    ("batch_id", _KEY_COLUMNS["batch_id"]),
    ("active", None),
    ("status", _LEAN_STATUS_SQL),
    ("course__content_version", None),
    ("course__title", None),
    ("course__description", None),
    ("course__image", None),
    ("enrolled_ms", _epoch_ms_sql('e."enrolled_on_us"')),
    ("completed_ms", _epoch_ms_sql('e."completed_on_us"')),
    ("last_accessed_ms", _epoch_ms_sql('greatest(e."track_last_accessed_us", c.last_accessed_us)')),
    ("carries_forward", None),
    ("consumption_packed", "coalesce(c.packed, ''::bytea)"),
)


def _with_consumption(enrollments: CompiledQuery, *, completed_only: bool, ids_as_keys: bool = False) -> CompiledQuery:
    """The unpaged enrolment statement joined to the user's consumption grouped by context (that
    of `_consumption_by_context`), so each row brings its context's last access
    (`consumed_last_accessed_us`) and packed rows (`consumption_packed`, empty without any): one
    round trip instead of two, and still one scan of the user's consumption (19 buffers at L),
    not a probe per enrolment. Contexts without an enrolment are left out, which is all that a
    tenant without carry-forward needs (`build_summaries` reads them apart with carry). PostgreSQL
    only (uuid_send, string_agg of bytea); its rows keep the enrolment statement's order."""
    key = (connection.alias, enrollments.sql, completed_only, ids_as_keys)
    joined = _with_consumption_cache.get(key)
    if joined is None:
        # Without contentStatus, the completions as keys alone (`_unpack_bare_keys`).
        consumption = _consumption_by_context_sql(completed_only, keys_only=True)
        if ids_as_keys:
            joined = _with_consumption_cache[key] = _lean_statement(enrollments, consumption)
            return joined
        # Every column but the enrolment's id (only its order's tie-break) and user id (the one
        # asked for, which `build_summaries` is given): fewer values to send and to load per row.
        kept = [index for index, name in enumerate(enrollments.names) if name not in _NOT_IN_JOINED_ROWS]
        columns = ", ".join(f"e.{connection.ops.quote_name(enrollments.names[index])}" for index in kept)
        position = {old: new for new, old in enumerate(kept)}
        joined = _with_consumption_cache[key] = dataclasses.replace(
            enrollments,
            # The enrolment statement's order (enrolment time newest first, then id; the enrolment
            # statement comes unsorted), on the columns it selects: `enrolled_on_us` is that time
            # to the microsecond, its precision.
            sql=(
                f"SELECT {columns}, c.last_accessed_us, coalesce(c.packed, ''::bytea) FROM ({enrollments.sql}) e"
                f" LEFT JOIN ({consumption}) c ON c.collection_id = e.course_id AND c.batch_id = e.batch_id"
                " ORDER BY e.enrolled_on_us DESC, e.id"
            ),
            slots=(*enrollments.slots, "tenant_id", "user_id"),
            fixed=(*enrollments.fixed, None, None),
            names=(*(enrollments.names[index] for index in kept), "consumed_last_accessed_us", _PACKED_COLUMN),
            converters=tuple(
                (position[at], functions, expression)
                for at, functions, expression in enrollments.converters
                if at in position
            ),
        )
    return joined


def _lean_statement(enrollments: CompiledQuery, consumption: str) -> CompiledQuery:
    """`_with_consumption(ids_as_keys=True)`: the joined statement with the lean list's columns
    (`_LEAN_COLUMNS`); the columns kept as they are keep their converters."""
    names = [name for name, _ in _LEAN_COLUMNS]
    columns = ", ".join(form or f"e.{connection.ops.quote_name(name)}" for name, form in _LEAN_COLUMNS)
    plain = {name: at for at, (name, form) in enumerate(_LEAN_COLUMNS) if form is None}
    return dataclasses.replace(
        enrollments,
        sql=(
            f"SELECT {columns} FROM ({enrollments.sql}) e"
            f" LEFT JOIN ({consumption}) c ON c.collection_id = e.course_id AND c.batch_id = e.batch_id"
            " ORDER BY e.enrolled_on_us DESC, e.id"
        ),
        slots=(*enrollments.slots, "tenant_id", "user_id"),
        fixed=(*enrollments.fixed, None, None),
        names=tuple(names),
        converters=tuple(
            (plain[enrollments.names[at]], functions, expression)
            for at, functions, expression in enrollments.converters
            if enrollments.names[at] in plain
        ),
    )


def _summary_enrollment_rows(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, page: Page | None, with_certificates: bool = True,
    completed_only: bool = False,
) -> list[dict[str, Any]]:
    """`list(summary_enrollments(...))` (sliced to `page`), each row with the tenant's carry-forward
    setting too (`carries_forward`), from its statement compiled once per database (compiling two
    correlated subqueries and four joins cost more than running them), with the values `.values()`
    gives. Unpaged, without the last consumed access from a subquery per enrolment: on PostgreSQL
    the same statement joins the user's consumption grouped by context (`_with_consumption`: the
    last access and the packed rows, only the completed ones with `completed_only`); elsewhere the
    user's whole consumption, read next (`_consumption_by_context`), holds it. One query. The
    joined rows lack the enrolment's `id` and `user_id` (`_NOT_IN_JOINED_ROWS`)."""
    compiled = _summary_enrollments_statement(
        page=page, with_certificates=with_certificates, completed_only=completed_only
    )
    if page is None:
        return compiled.values(tenant_id=tenant_id, user_id=user_id)
    return compiled.values(
        suffix=" LIMIT %s OFFSET %s", suffix_params=[page.limit, page.offset], tenant_id=tenant_id, user_id=user_id
    )


def _summary_enrollments_statement(
    *, page: Page | None, with_certificates: bool, completed_only: bool, ids_as_keys: bool = False
) -> CompiledQuery:
    """The statement of `_summary_enrollment_rows` (joined to the consumption when unpaged on
    PostgreSQL, then with `ids_as_keys` the lean list's forms of the ids: `_KEY_COLUMNS`), compiled
    once per database; a page's takes the LIMIT and OFFSET appended."""
    # A page's summaries read only their own contexts' consumption, through the ORM and without
    # the last accesses (build_summaries): those come from here.
    with_last_consumed = page is not None
    # Joined to the consumption (unpaged, PostgreSQL), the statement is sorted once, outside the
    # join (`_with_consumption`): its own ORDER BY inside would be a second sort of the same rows.
    joined = page is None and connection.vendor == "postgresql"

    def build(tenant_id, user_id):
        enrollments = summary_enrollments(
            tenant_id=tenant_id, user_id=user_id, with_last_consumed=with_last_consumed,
            with_certificates=with_certificates,
        ).annotate(carries_forward=tenant_carries_forward_exists(tenant_id=tenant_id))
        return enrollments.order_by() if joined else enrollments

    compiled = compiled_once(
        ("summary-enrollments", with_last_consumed, with_certificates, joined), build, ("tenant_id", "user_id")
    )
    if not joined:
        return compiled
    return _with_consumption(compiled, completed_only=completed_only, ids_as_keys=ids_as_keys)


# The joined statement's columns in the lean list (`_lean_summaries` unpacks its rows by position).
_LEAN_ROW_NAMES = tuple(name for name, _ in _LEAN_COLUMNS)


def _lean_rows(*, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[tuple] | None:
    """The lean list's enrolments, newest first, each decoded as `build_summaries` reads its row: (course
    text, batch text or None for the course's own batch, active, status, progress, required lessons'
    count, title, description, image, enrolled, completed and last-accessed milliseconds). One query.
    None where the lean read declines: a statement changed without `_LEAN_COLUMNS` (before the
    query), or the tenant carries forward (after it: the rows lack the other contexts' completions)."""
    compiled = _summary_enrollments_statement(page=None, with_certificates=False, completed_only=True, ids_as_keys=True)
    if compiled.names != _LEAN_ROW_NAMES:  # a statement changed without this: the general path
        return None
    rows = compiled.tuples(tenant_id=tenant_id, user_id=user_id)
    if not rows:
        return []
    if rows[0][11]:  # carries_forward
        return None
    # The courses by their UUID's int (`_KEY_COLUMNS`: the course's 16 bytes, big-endian as UUID.int).
    course_ints = [int.from_bytes(row[0]) for row in rows]
    required = _required_lessons(
        tenant_id=tenant_id, course_versions={course_int: (None, row[4]) for course_int, row in zip(course_ints, rows, strict=True)}
    )
    decoded = []
    for course_int, (
        _course_key, batch_text, active, status, _version, title, description, image, enrolled, completed_on,
        last_accessed, _carries, packed,
    ) in zip(course_ints, rows, strict=True):
        lessons = required.get(course_int, _NO_REQUIRED_LESSONS)
        by_key = lessons.by_key
        lesson_count = len(by_key)
        # As build_summaries: the status (the track's when there is one: `_LEAN_STATUS_SQL`), then
        # progress from the completed required lessons (only completions are packed, as keys alone).
        # The dates are milliseconds already, the last access the later of two (`_LEAN_COLUMNS`).
        if status == COMPLETED:
            progress = 100
        else:
            progress = _packed_keys_count_among(packed, by_key) * 100 // lesson_count if lesson_count else 0
        decoded.append((
            lessons.course_text or str(uuid.UUID(int=course_int)), batch_text, active, status, progress, lesson_count,
            title, description, image, enrolled, completed_on, last_accessed,
        ))
    return decoded


def _lean_summaries(*, tenant_id: uuid.UUID, user_id: uuid.UUID) -> list[dict[str, Any]] | None:
    """`summary_list(parts=frozenset())` unpaged on PostgreSQL, for a tenant without carry-forward:
    the same summaries (keys, order, values) as `build_summaries` makes of the joined rows, from
    `_lean_rows` (no dict per row, no per-row test of the parts; about a fifth of the lean list's
    Python). None where `_lean_rows` declines: the caller takes the general path then."""
    rows = _lean_rows(tenant_id=tenant_id, user_id=user_id)
    if rows is None:
        return None
    user_text = str(user_id)
    image_url = _image_storage.url
    return [
        {
            "userId": user_text,
            "collectionId": course_text,
            "batchId": course_text if batch_text is None else batch_text,
            "enrolledDate": enrolled,
            "active": active,
            "completedOn": completed_on,
            "lastAccessedOn": last_accessed,
            "progress": progress,
            "status": status,
            "collection": {
                "identifier": course_text,
                "name": title,
                "logo": image_url(image) if image else None,
                "leafNodesCount": lesson_count,
                "description": description,
            },
        }
        for (
            course_text, batch_text, active, status, progress, lesson_count, title, description, image, enrolled,
            completed_on, last_accessed,
        ) in rows
    ]


# The lean list's answer written as bytes (`lean_summary_list_encoded`): a summary's collection,
# encoded once per (course, its fields, the logo's absolute URL, the required lessons' count), keyed by
# those values themselves, so an entry is never stale; bounded by emptying it when full (a course's
# values change rarely, and each miss costs one encoder call).
_lean_collections: dict[tuple, tuple[bytes, bytes]] = {}
_LEAN_COLLECTIONS_MAX = 20_000
_JSON_BOOLEANS = {True: b"true", False: b"false"}
# One summary of the lean list, as `encode_json` writes `_lean_summaries`' dict (same keys, same order):
# the user's prefix, then the course's text, the batch's, the three dates, active, progress and
# status, then the course's encoded collection.
_LEAN_SUMMARY_BYTES = (
    b'%s%s","batchId":"%s","enrolledDate":%s,"active":%s,"completedOn":%s,"lastAccessedOn":%s,'
    b'"progress":%d,"status":%d,"collection":%s}'
)


def lean_summary_list_encoded(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, absolute_logo: Callable[[str], str | None]
) -> bytes | None:
    """`encode_json({"summary": summaries})` of the lean list (`_lean_summaries`, with each logo made
    absolute by `absolute_logo`, as the API shows it), the same bytes, written directly: no dict per
    summary, and each course's collection encoded once (`_lean_collections`). None where
    `_lean_summaries` declines before its query (not PostgreSQL, a statement changed) or after it
    (carry-forward): the caller takes the general path then, telling `summary_list` the lean read
    was tried (`try_lean=False`), so the query count is `_lean_summaries`'.

    The summary's values are JSON-safe as written: ids are UUID text, the dates, progress and
    status ints, `active` a boolean; the course's title, description and logo go through the
    encoder."""
    if connection.vendor != "postgresql":
        return None
    rows = _lean_rows(tenant_id=tenant_id, user_id=user_id)
    if rows is None:
        return None
    head = b'{"userId":"%s","collectionId":"' % str(user_id).encode()
    image_url = _image_storage.url
    collections = _lean_collections
    booleans = _JSON_BOOLEANS
    row_bytes = _LEAN_SUMMARY_BYTES
    encoded = []
    for (
        course_text, batch_text, active, status, progress, lesson_count, title, description, image, enrolled,
        completed_on, last_accessed,
    ) in rows:
        logo = absolute_logo(image_url(image)) if image else None
        key = (course_text, title, description, logo, lesson_count)
        course = collections.get(key)
        if course is None:
            if len(collections) >= _LEAN_COLLECTIONS_MAX:
                collections.clear()
            course = collections[key] = (course_text.encode(), encode_json_to_keep({
                "identifier": course_text, "name": title, "logo": logo, "leafNodesCount": lesson_count,
                "description": description,
            }))
        course_bytes, collection = course
        encoded.append(row_bytes % (
            head, course_bytes, course_bytes if batch_text is None else batch_text.encode(),
            b"null" if enrolled is None else b"%d" % enrolled, booleans[active],
            b"null" if completed_on is None else b"%d" % completed_on,
            b"null" if last_accessed is None else b"%d" % last_accessed,
            progress, status, collection,
        ))
    return b'{"summary":[' + b",".join(encoded) + b"]}"


def summary_list(
    *, tenant_id: uuid.UUID, user_id: uuid.UUID, parts: frozenset[str] = ALL_SUMMARY_PARTS, page: Page | None = None,
    statuses_as_bytes: bool = False, try_lean: bool = True,
) -> list[dict[str, Any]]:
    """The enrolment summaries of the user in the tenant (deleted ones hidden), newest enrolment
    first: all of them, or one `page`; with the heavy `parts` asked for (contentStatus encoded, as
    `build_summaries` says, `statuses_as_bytes` too). Four queries at most, three once its courses'
    required lessons are cached, two without assessmentStatus: enrolments with course, track,
    certificate and the carry setting, then those of `build_summaries`. Unpaged on PostgreSQL, a query less for a tenant
    without carry-forward: the consumption comes with the enrolments (`_with_consumption`), so the
    lean list is one query once the required lessons are cached. Without `try_lean` (the caller's
    `lean_summary_list_encoded` declined) the general path at once."""
    if try_lean and not parts and page is None and connection.vendor == "postgresql":
        summaries = _lean_summaries(tenant_id=tenant_id, user_id=user_id)
        if summaries is not None:
            return summaries
    enrollments = _summary_enrollment_rows(
        # Without issuedCertificates the statement has no certificate join (four columns less a row).
        tenant_id=tenant_id, user_id=user_id, page=page, with_certificates="issuedCertificates" in parts,
        # Progress needs only the completions (build_summaries).
        completed_only="contentStatus" not in parts,
    )
    if not enrollments:
        return []
    return build_summaries(
        enrollments, tenant_id=tenant_id, user_id=user_id, carry=bool(enrollments[0]["carries_forward"]),
        parts=parts, every_enrollment=page is None, statuses_as_bytes=statuses_as_bytes,
    )


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


# The export counts certificates and needs no per-lesson statuses or scores.
_EXPORT_PARTS = frozenset({"issuedCertificates"})
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
                                       parts=_EXPORT_PARTS):
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
