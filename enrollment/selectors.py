"""Reads of enrollments (and of the courses they point at)."""

from __future__ import annotations

import datetime as dt
import functools
import uuid

from django.db import connections, router
from django.db.models import QuerySet

from courses.models import ContentStatus, Course
from enrollment.models import Enrollment
from lms.api.errors import NotFoundError
from lms.rawsql import sql_column, sql_param, sql_select_list, sql_values_rows

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
