"""Reads of enrollments (and of the courses they point at)."""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import QuerySet

from courses.models import ContentStatus, Course
from enrollment.models import Enrollment
from lms.api.errors import NotFoundError
from lms.rawsql import sql_column, sql_param, sql_select_list, sql_values_rows
from lms.selectors import learner_directory, learner_directory_by_email

ENROLLMENT_VALUES = (
    "id", "course_id", "user_id", "tenant_id", "batch_id", "enrolled_on_time", "end_time", "state", "active",
    "unlimited_plan", "before_expiry_mail", "after_expiry_mail", "params", "enrolled_by", "enrolled_at",
    "updated_by", "updated_at",
)
# The course columns an enrollment listing shows; the rest of the course row stays in the database.
LISTED_COURSE_VALUES = ("title", "short_description", "description", "image")


def enrollment_page(
    *,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID | None = None,
    course_id: uuid.UUID | None = None,
    offset: int,
    limit: int,
) -> tuple[int, list[dict]]:
    """The tenant's enrollments, newest first, narrowed to a user and/or a course: (the total
    across pages, up to `limit` rows from `offset`). A row holds ENROLLMENT_VALUES and its
    course's LISTED_COURSE_VALUES as `course__<name>`, as `.values()` names them.

    Two queries whatever the data size: the count, and the page joined with its courses. Plain
    SQL (see `lms.rawsql.sql_values_rows`): compiling the two querysets cost about three
    times running them.
    """
    db = connections[router.db_for_read(Enrollment)]
    filters = {"tenant": tenant_id, "user_id": user_id, "course": course_id}
    conditions = {name: value for name, value in filters.items() if value is not None}
    params = [sql_param(db, Enrollment, name, value) for name, value in conditions.items()]
    count_sql, page_sql = _enrollment_page_sql(db.alias, tuple(conditions))
    with db.cursor() as cursor:
        cursor.execute(count_sql, params)
        (total,) = cursor.fetchone()
    rows = sql_values_rows(db, page_sql, [*params, limit, offset], _ENROLLMENT_PAGE_FIELDS)
    return total, rows


_ENROLLMENT_PAGE_FIELDS = {name: Enrollment._meta.get_field(name) for name in ENROLLMENT_VALUES} | {
    f"course__{name}": Course._meta.get_field(name) for name in LISTED_COURSE_VALUES
}


@functools.lru_cache(maxsize=32)
def _enrollment_page_sql(alias: str, conditions: tuple[str, ...]) -> tuple[str, str]:
    """The texts of `enrollment_page`'s count and page reads for one set of filters, fixed per
    database: built once."""
    db = connections[alias]
    where = " AND ".join(f"{sql_column(db, Enrollment, name)} = %s" for name in conditions)
    enrollments, courses = db.ops.quote_name(Enrollment._meta.db_table), db.ops.quote_name(Course._meta.db_table)
    count_sql = f"SELECT COUNT(*) FROM {enrollments} WHERE {where}"
    page_sql = (
        f"SELECT {sql_select_list(db, _ENROLLMENT_PAGE_FIELDS.values())} FROM {enrollments}"
        f" INNER JOIN {courses} ON {sql_column(db, Course, 'id')} = {sql_column(db, Enrollment, 'course')}"
        f" WHERE {where}"
        # `id` breaks ties between enrollments made in the same instant, so pages never overlap.
        f" ORDER BY {sql_column(db, Enrollment, 'enrolled_at')} DESC, {sql_column(db, Enrollment, 'id')} DESC"
        " LIMIT %s OFFSET %s"
    )
    return count_sql, page_sql


def course_for_enrollment(*, tenant_id: uuid.UUID, course_id: uuid.UUID) -> Course:
    """The tenant's course that enrollments may point at (anything but archived).

    Raises NotFoundError when the course is unknown, archived or belongs to another tenant.
    """
    course = (
        Course.objects.filter(tenant_id=tenant_id, pk=course_id)
        .exclude(status=ContentStatus.ARCHIVED)
        .only("id", "tenant_id", "title", "status", "auto_enroll", "admin_approval", "end_datetime")
        .first()
    )
    if course is None:
        raise NotFoundError(
            "No course with that course_id in this tenant (it may be archived).", code="ERR_COURSE_NOT_FOUND"
        )
    return course


def enrollments_due_for_expiry_reminder(*, now: dt.datetime, days: int) -> QuerySet[Enrollment]:
    """Active, limited enrollments ending within `days` whose reminder has not gone out."""
    return Enrollment.objects.filter(
        active=True,
        unlimited_plan=False,
        before_expiry_mail=False,
        end_time__gt=now,
        end_time__lte=now + dt.timedelta(days=days),
    )


def enrollments_due_for_expiry_notice(*, now: dt.datetime) -> QuerySet[Enrollment]:
    """Active, limited enrollments that have ended and whose notice has not gone out."""
    return Enrollment.objects.filter(
        active=True, unlimited_plan=False, after_expiry_mail=False, end_time__lte=now
    )


# ---------------------------------------------------------------------------------------------
# Enrolling a class from a pasted or uploaded list (the admin's bulk enrolment page)

BULK_NEW = "new"
BULK_EXISTING = "existing"
BULK_DUPLICATE = "duplicate"
BULK_UNKNOWN = "unknown"
BULK_INVALID = "invalid"

_ENTRY_SEPARATORS = re.compile(r"[\s,;]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class BulkLine:
    """One learner named in a bulk enrolment list, and what enrolling the list does for them."""

    line: int  # the line of the list it is on, from 1
    text: str  # as typed: a user id or an email
    outcome: str  # BULK_NEW, BULK_EXISTING, BULK_DUPLICATE, BULK_UNKNOWN or BULK_INVALID
    reason: str = ""
    user_id: uuid.UUID | None = None
    name: str | None = None
    email: str | None = None
    enrollment_id: uuid.UUID | None = None


def bulk_entries(text: str) -> list[tuple[int, str]]:
    """The learners a pasted or uploaded list names, as (line, user id or email) pairs.

    Entries are separated by new lines, commas, semicolons or spaces. A line that holds a user id
    counts by that id alone (so a directory CSV `user_id,name,email` names each learner once); a line
    with no id counts by its emails; a line with neither is one invalid entry, except a header line.
    """
    entries: list[tuple[int, str]] = []
    first = True
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = [token.strip("\"'<>") for token in _ENTRY_SEPARATORS.split(line.strip()) if token.strip("\"'<>")]
        if not tokens:
            continue
        ids = [token for token in tokens if as_uuid(token) is not None]
        emails = [token for token in tokens if _EMAIL.match(token)]
        if ids or emails:
            entries.extend((number, token) for token in (ids or emails))
        elif not (first and {"user_id", "email"} & {token.lower() for token in tokens}):
            entries.append((number, line.strip()))
        first = False
    return entries


def as_uuid(text: str) -> uuid.UUID | None:
    """`text` as a UUID, or None when it is not one."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def enrollment_bulk_preview(
    *, course: Course, batch_id: uuid.UUID | None, entries: list[tuple[int, str]]
) -> list[BulkLine]:
    """What enrolling `entries` (from `bulk_entries`) in the course and batch would do, line by line:
    a new enrollment, one already there, a repeat of an earlier line, an email the tenant's
    learner directory does not know (or shares among several learners), or an invalid entry.

    Three queries whatever the number of entries: the directory by email, the enrollments already
    in the context, the directory entries of the named learners. Writes nothing.
    """
    batch_id = batch_id or course.id
    emails = [text for _, text in entries if as_uuid(text) is None and _EMAIL.match(text)]
    by_email = learner_directory_by_email(tenant_id=course.tenant_id, emails=emails)
    lines: list[BulkLine] = []
    for number, text in entries:
        user_id = as_uuid(text)
        if user_id is not None:
            lines.append(BulkLine(line=number, text=text, outcome=BULK_NEW, user_id=user_id))
        elif _EMAIL.match(text):
            matches = by_email.get(text.lower(), [])
            if len(matches) == 1:
                lines.append(BulkLine(line=number, text=text, outcome=BULK_NEW, user_id=matches[0].user_id))
            elif matches:
                lines.append(BulkLine(line=number, text=text, outcome=BULK_UNKNOWN,
                                      reason=f"{len(matches)} learners share this email; enter their user id instead."))
            else:
                lines.append(BulkLine(line=number, text=text, outcome=BULK_UNKNOWN,
                                      reason="No learner with this email in the learner directory; enter their user id "
                                             "or import them first."))
        else:
            lines.append(BulkLine(line=number, text=text, outcome=BULK_INVALID,
                                  reason="Neither a user id (UUID) nor an email address."))
    first_line: dict[uuid.UUID, int] = {}
    for line in lines:
        if line.user_id is None:
            continue
        if line.user_id in first_line:
            line.outcome, line.reason = BULK_DUPLICATE, f"The same learner as line {first_line[line.user_id]}."
        else:
            first_line[line.user_id] = line.line
    enrolled = dict(
        Enrollment.objects.filter(
            user_id__in=list(first_line), tenant_id=course.tenant_id, course=course, batch_id=batch_id
        ).values_list("user_id", "id")
    ) if first_line else {}
    directory = learner_directory(tenant_id=course.tenant_id, user_ids=first_line)
    for line in lines:
        if line.user_id is None:
            continue
        entry = directory.get(line.user_id)
        if entry is not None:
            line.name, line.email = entry.name, entry.email
        if line.outcome == BULK_NEW and line.user_id in enrolled:
            line.outcome, line.reason = BULK_EXISTING, "Already enrolled in this course and batch."
            line.enrollment_id = enrolled[line.user_id]
    return lines
