"""GET /v1/viewer/summary/list/:userId?fields=&page=&limit=: the heavy parts on demand and pages.

Without `fields` the answer is the design's, every part included; `?fields=` (empty) is the lean
call for dashboards. Whatever is asked, the rest of each summary (progress, status, dates,
collection) is the same as in the full answer."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
import pytest

from courses.models import Course
from enrollment.models import Enrollment
from lms.api.envelope import encode_json
from lms.api.pagination import Page
from lms.models import Tenant
from tests.factories import build_course
from tests.viewer.conftest import enrol, lesson_ids
from tracking.models import AssessmentAttempt, ContentConsumption, CourseTrack, IssuedCertificate
from tracking.services import lesson_completion_record
from viewer.api.views import _encoded_summaries
from viewer.selectors import (
    _KEYS_STRUCTS_MAX,
    _LEAN_ROW_NAMES,
    SUMMARY_PARTS,
    _consumption_by_context,
    _encoded_statuses,
    _lean_summaries,
    _packed_by_context,
    _packed_keys_count_among,
    _required_lessons_of,
    _summary_enrollment_rows,
    _summary_enrollments_statement,
    build_summaries,
    epoch_ms,
    lean_summary_list_encoded,
    summary_enrollments,
    summary_list,
)

pytestmark = pytest.mark.django_db


def _list(client, user_id, query=""):
    return client.get(f"/v1/viewer/summary/list/{user_id}{query}")


def _summaries(client, user_id, query=""):
    response = _list(client, user_id, query)
    assert response.status_code == 200, response.json()
    return response.json()["result"]["summary"]


def _learning(tenant, user_id, *, enrolments: int):
    """`enrolments` enrolments in two courses (extra batches beyond the first two), some lessons
    completed in some contexts, both courses completed in their own batch (two certificates), and
    an assessment."""
    courses = [build_course(tenant=tenant, modules=1, lessons_per_module=3, certificate_term="COMPLETE_ALL")
               for _ in range(2)]
    for index in range(enrolments):
        course = courses[index % 2]
        batch = course.id if index < 2 else uuid.uuid4()
        enrol(course, user_id, batch_id=batch)
        lesson_completion_record(
            tenant_id=tenant.id, user_id=user_id, course_id=course.id, batch_id=batch,
            lesson_id=lesson_ids(course)[index % 3],
        )
    for lesson in lesson_ids(courses[0]):
        lesson_completion_record(
            tenant_id=tenant.id, user_id=user_id, course_id=courses[0].id, batch_id=courses[0].id, lesson_id=lesson,
        )
    AssessmentAttempt.objects.create(
        user_id=user_id, tenant=tenant, collection_id=courses[1].id, batch_id=courses[1].id,
        content_id=lesson_ids(courses[1])[0], attempt_id="a", assessment_ts=CourseTrack.objects.first().timestart,
        score=1, max_score=2,
    )
    return courses


def _without(summary: dict, parts) -> dict:
    return {key: value for key, value in summary.items() if key not in parts}


@pytest.mark.parametrize("carry", [False, True], ids=["own-context", "carry-forward"])
@pytest.mark.parametrize(
    "fields", ["", "contentStatus", "assessmentStatus", "issuedCertificates", "contentStatus,issuedCertificates",
               ",".join(SUMMARY_PARTS)],
)
def test_fields_name_the_parts_included_and_leave_the_rest_of_the_summary_alone(
    learner_client, tenant, carry, fields
):
    if carry:
        tenant.carry_forward = Tenant.CarryForward.CARRY
        tenant.save(update_fields=["carry_forward"])
    _learning(tenant, learner_client.user_id, enrolments=5)
    full = _summaries(learner_client, learner_client.user_id)
    asked = {name for name in fields.split(",") if name}

    chosen = _summaries(learner_client, learner_client.user_id, f"?fields={fields}")

    left_out = set(SUMMARY_PARTS) - asked
    assert chosen == [_without(summary, left_out) for summary in full]
    # The data is not trivial: progress differs between enrolments and parts have content.
    assert len({summary["progress"] for summary in full}) > 1
    assert sum(bool(summary["issuedCertificates"]) for summary in full) >= 1
    assert any(summary["assessmentStatus"] for summary in full)


def test_without_fields_the_answer_has_every_part_in_the_designs_order(learner_client, tenant):
    _learning(tenant, learner_client.user_id, enrolments=2)

    [first, _] = _summaries(learner_client, learner_client.user_id)

    assert list(first) == [
        "userId", "collectionId", "batchId", "enrolledDate", "active", "contentStatus", "assessmentStatus",
        "issuedCertificates", "completedOn", "lastAccessedOn", "progress", "status", "collection",
    ]


def test_fields_may_repeat_and_be_sent_twice(learner_client, tenant):
    _learning(tenant, learner_client.user_id, enrolments=2)

    [summary, _] = _summaries(
        learner_client, learner_client.user_id, "?fields=issuedCertificates,issuedCertificates&fields=contentStatus"
    )

    assert "issuedCertificates" in summary and "contentStatus" in summary and "assessmentStatus" not in summary


def test_an_unknown_part_is_a_400_naming_the_parts(learner_client, tenant):
    _learning(tenant, learner_client.user_id, enrolments=2)

    response = _list(learner_client, learner_client.user_id, "?fields=contentStatus,certificates")

    body = response.json()
    assert (response.status_code, body["params"]["err"]) == (400, "ERR_BAD_REQUEST")
    assert body["params"]["errmsg"].startswith("fields: Unknown part 'certificates'; name any of contentStatus, ")
    assert "leave fields out for all of them" in body["params"]["errmsg"]


def test_pages_follow_the_lists_order(learner_client, tenant):
    _learning(tenant, learner_client.user_id, enrolments=5)
    everything = _summaries(learner_client, learner_client.user_id)

    pages = [_summaries(learner_client, learner_client.user_id, f"?fields=&page={page}&limit=2") for page in (1, 2, 3, 4)]

    assert [len(page) for page in pages] == [2, 2, 1, 0]
    assert [summary["batchId"] for page in pages for summary in page] == [summary["batchId"] for summary in everything]
    assert _summaries(learner_client, learner_client.user_id, "?page=1") == everything  # limit defaults to 20
    assert _summaries(learner_client, learner_client.user_id, "?limit=3") == everything[:3]  # page defaults to 1


@pytest.mark.parametrize(
    ("query", "field"),
    [("?limit=0", "limit"), ("?limit=101", "limit"), ("?limit=ten", "limit"), ("?page=0", "page"),
     ("?page=-1", "page"), ("?page=1.5", "page"), ("?limit=", "limit"), ("?page=", "page")],
)
def test_bad_paging_is_a_400_in_the_envelope(learner_client, tenant, query, field):
    _learning(tenant, learner_client.user_id, enrolments=2)

    response = _list(learner_client, learner_client.user_id, query)

    body = response.json()
    assert (response.status_code, body["params"]["err"]) == (400, "ERR_BAD_REQUEST"), body
    assert body["params"]["errmsg"].startswith(f"{field}: ")
    assert body["result"]["errors"][field]


def test_the_lean_call_keeps_permissions_and_tenants(learner_client, client_for, instructor_client,
                                                     other_admin_client, tenant):
    _learning(tenant, learner_client.user_id, enrolments=2)
    other_learner = client_for(tenant, "learner")

    assert _list(other_learner, learner_client.user_id, "?fields=&limit=5").status_code == 403
    assert _list(other_learner, learner_client.user_id, "?fields=nonsense").status_code == 403
    assert len(_summaries(instructor_client, learner_client.user_id, "?fields=&limit=5")) == 2
    assert _summaries(other_admin_client, learner_client.user_id, "?fields=&page=1") == []


@pytest.mark.parametrize("enrolments", [3, 30])
def test_the_lean_and_paged_calls_run_a_constant_number_of_queries(
    learner_client, tenant, enrolments, django_assert_num_queries, is_postgres
):
    _learning(tenant, learner_client.user_id, enrolments=enrolments)
    user = learner_client.user_id
    # Warms the tenant cache and the cache of required lessons.
    _summaries(learner_client, user)

    # enrolments with course, track, last consumed access and the carry setting; completed
    # consumption (on PostgreSQL joined to the enrolments, grouped by context, in the same query)
    with django_assert_num_queries(1 if is_postgres else 2):
        lean = _summaries(learner_client, user, "?fields=")
    # the same two, the enrolments limited to the page
    with django_assert_num_queries(2):
        page = _summaries(learner_client, user, "?fields=issuedCertificates&page=1&limit=2")
    # the same two, and best assessments
    with django_assert_num_queries(3):
        _summaries(learner_client, user, "?fields=assessmentStatus&limit=100")

    assert len(lean) == enrolments
    assert len(page) == 2


def test_the_precompiled_enrolment_rows_are_what_the_queryset_gives(learner_client, tenant, other_tenant, is_postgres):
    _learning(tenant, learner_client.user_id, enrolments=5)
    _learning(other_tenant, learner_client.user_id, enrolments=2)  # the same user elsewhere stays out
    user = learner_client.user_id
    queryset = summary_enrollments(tenant_id=tenant.id, user_id=user)

    rows = _summary_enrollment_rows(tenant_id=tenant.id, user_id=user, page=None)

    # Each row carries the tenant's carry-forward setting too (the tenant does not carry).
    assert [row.pop("carries_forward") for row in rows] == [False] * 5
    if is_postgres:
        # The unpaged rows bring their own context's consumption, grouped by the database
        # (_with_consumption): the last access the queryset's subquery gives, and the packed rows
        # of _consumption_by_context (in no set order: compared as sets of rows).
        by_context = _consumption_by_context(tenant_id=tenant.id, user_id=user, completed_only=False)
        for row in rows:
            packed = row.pop("consumption_packed")
            _, expected = by_context.get((row["course_id"].int, row["batch_id"].int), (None, b""))
            assert {packed[at:at + 18] for at in range(0, len(packed), 18)} == {
                expected[at:at + 18] for at in range(0, len(expected), 18)
            }
            assert len(packed) == len(expected)
        # Without the enrolment's id and user id (the order's tie-break, and the user asked for).
        assert rows == [
            {name: value for name, value in row.items() if name not in ("id", "user_id")} for row in queryset
        ]
        # Without contentStatus, the completed rows' content keys alone (16 bytes each).
        lean = _summary_enrollment_rows(tenant_id=tenant.id, user_id=user, page=None, completed_only=True)
        completed = _consumption_by_context(tenant_id=tenant.id, user_id=user, completed_only=True)
        assert any(row["consumption_packed"] for row in lean)
        for row in lean:
            _, expected = completed.get((row["course_id"].int, row["batch_id"].int), (None, b""))
            packed = row["consumption_packed"]
            assert sorted(packed[at:at + 16] for at in range(0, len(packed), 16)) == sorted(
                expected[at:at + 16] for at in range(0, len(expected), 18)
            )
    else:
        # The unpaged rows leave the last consumed access to the consumption read (_consumption_by_context).
        assert rows == list(summary_enrollments(tenant_id=tenant.id, user_id=user, with_last_consumed=False))
        assert [{**row, "consumed_last_accessed_us": None} for row in rows] == [
            {**row, "consumed_last_accessed_us": None} for row in queryset
        ]
    assert len(rows) == 5 and any(row["user_certificate__id"] for row in rows)
    page = _summary_enrollment_rows(tenant_id=tenant.id, user_id=user, page=Page(page=2, limit=2))
    assert [row.pop("carries_forward") for row in page] == [False] * 2
    assert page == list(queryset[2:4])
    assert _summary_enrollment_rows(tenant_id=tenant.id, user_id=uuid.uuid4(), page=None) == []


@pytest.mark.parametrize("fields", [",", "contentStatus,", ",issuedCertificates", "contentStatus,,assessmentStatus",
                                    "%20contentStatus"])
def test_a_stray_comma_or_space_is_a_400_not_the_lean_call(learner_client, tenant, fields):
    # Schemathesis' fuzz found `?fields=,` answered as the lean call although the schema's enum
    # refuses an empty name; only a wholly empty `fields=` means none of the parts.
    _learning(tenant, learner_client.user_id, enrolments=1)

    response = _list(learner_client, learner_client.user_id, f"?fields={fields}")

    body = response.json()
    assert (response.status_code, body["params"]["err"]) == (400, "ERR_BAD_REQUEST")
    assert "fields=" in body["params"]["errmsg"]


@pytest.mark.parametrize("microsecond", [0, 1, 123000, 456789, 999999])
def test_the_dates_are_the_epoch_milliseconds_of_the_stored_timestamps(learner_client, tenant, course, microsecond):
    # The enrolment statement reads each timestamp as microseconds since the epoch, computed by the
    # database (EpochMicroseconds); the answer must keep what `epoch_ms` gives for the datetime.
    enrollment = enrol(course, learner_client.user_id)
    lesson_completion_record(
        tenant_id=tenant.id, user_id=learner_client.user_id, course_id=course.id, batch_id=course.id,
        lesson_id=lesson_ids(course)[0],
    )
    enrolled = dt.datetime(2026, 12, 2, 14, 9, 8, microsecond, tzinfo=dt.UTC)
    ended = enrolled + dt.timedelta(days=3, microseconds=7)
    track_accessed = enrolled + dt.timedelta(days=1)
    consumed_accessed = enrolled + dt.timedelta(days=2, seconds=1)
    Enrollment.objects.filter(pk=enrollment.pk).update(enrolled_on_time=enrolled)
    CourseTrack.objects.filter(enrollment=enrollment).update(timeend=ended, last_accessed_date=track_accessed)
    ContentConsumption.objects.filter(user_id=learner_client.user_id).update(last_accessed_at=consumed_accessed)

    for query in ("", "?fields="):
        [summary] = _summaries(learner_client, learner_client.user_id, query)
        assert summary["enrolledDate"] == epoch_ms(enrolled)
        assert summary["completedOn"] == epoch_ms(ended)
        assert summary["lastAccessedOn"] == epoch_ms(consumed_accessed)  # the later of the two accesses

    later = consumed_accessed + dt.timedelta(microseconds=999)
    CourseTrack.objects.filter(enrollment=enrollment).update(timeend=None, last_accessed_date=later)
    [summary] = _summaries(learner_client, learner_client.user_id, "?fields=")
    assert (summary["completedOn"], summary["lastAccessedOn"]) == (None, epoch_ms(later))
    CourseTrack.objects.filter(enrollment=enrollment).update(last_accessed_date=None)
    [summary] = _summaries(learner_client, learner_client.user_id, "?fields=")
    assert summary["lastAccessedOn"] == epoch_ms(consumed_accessed)
    # An enrolment nobody has opened: no access at all.
    other = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    Enrollment.objects.filter(pk=enrol(other, learner_client.user_id).pk).update(enrolled_on_time=enrolled)
    CourseTrack.objects.filter(course=other).update(last_accessed_date=None)
    unopened = [s for s in _summaries(learner_client, learner_client.user_id, "?fields=") if s["collectionId"] == str(other.id)]
    assert [(s["enrolledDate"], s["lastAccessedOn"]) for s in unopened] == [(epoch_ms(enrolled), None)]


@pytest.mark.parametrize("completed_only", [False, True])
def test_the_consumption_read_per_context_is_the_rows_and_last_access_of_each_context(
    learner_client, tenant, other_tenant, completed_only
):
    # The unpaged list reads the user's consumption grouped and packed per context (by the database
    # on PostgreSQL), with each context's last access: the same facts as the rows one by one and as
    # the enrolment statement's subquery of the last access.
    user = learner_client.user_id
    courses = _learning(tenant, user, enrolments=4)
    _learning(other_tenant, user, enrolments=2)  # the same user elsewhere stays out
    started = ContentConsumption.objects.filter(user_id=user, tenant=tenant).first()
    ContentConsumption.objects.create(
        user_id=user, tenant=tenant, collection_id=started.collection_id, batch_id=started.batch_id,
        content_id=uuid.uuid4(), status=1, progress=40, first_accessed_at=started.first_accessed_at,
        last_accessed_at=started.last_accessed_at + dt.timedelta(microseconds=1_000_001),
    )
    rows = ContentConsumption.objects.filter(user_id=user, tenant=tenant)

    by_context = _consumption_by_context(tenant_id=tenant.id, user_id=user, completed_only=completed_only)

    expected = _packed_by_context(
        rows.values_list("collection_id", "batch_id", "content_id", "status", "last_accessed_at"),
        completed_only=completed_only,
    )
    # A context's rows come in no set order: compare them as sets of packed rows.
    def unpacked(contexts):
        return {key: (last, {packed[at:at + 18] for at in range(0, len(packed), 18)})
                for key, (last, packed) in contexts.items()}

    assert unpacked(by_context) == unpacked(expected)
    assert len(by_context) == len({(row.collection_id, row.batch_id) for row in rows}) == 4
    read = rows.filter(status=2) if completed_only else rows
    assert sum(len(packed) for _, packed in by_context.values()) == 18 * read.count() > 0
    for enrollment in summary_enrollments(tenant_id=tenant.id, user_id=user):
        last_accessed, _ = by_context[(enrollment["course_id"].int, enrollment["batch_id"].int)]
        assert last_accessed == enrollment["consumed_last_accessed_us"]
    assert by_context[(courses[0].id.int, courses[0].id.int)][1]


def test_the_patched_statuses_are_the_encoding_of_the_changed_dict():
    lessons = [str(uuid.uuid4()) for _ in range(5)]
    required = _required_lessons_of({uuid.UUID(lesson).bytes: lesson for lesson in lessons})
    assert required.digit_at is not None
    for changed in ({}, {lessons[3]: 2, lessons[0]: 1}, {lessons[4]: 2}, dict.fromkeys(lessons, 2)):
        assert _encoded_statuses(required, changed) == encode_json({**required.statuses, **changed})


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_spliced_summary_list_is_what_encoding_it_whole_gives(count):
    def summary(index, statuses):
        # A title with a line separator: escaped by encode_json in either path.
        return {"userId": "u", "contentStatus": statuses, "progress": index, "collection": {"name": "a\u2028b"}}

    encoded = [encode_json({str(uuid.uuid4()): index % 3}) for index in range(count)]
    spliced = _encoded_summaries([summary(index, statuses) for index, statuses in enumerate(encoded)])
    whole = encode_json({"summary": [summary(index, orjson.Fragment(statuses)) for index, statuses in enumerate(encoded)]})
    assert spliced.encoded == whole
    lean = [{"userId": "u", "progress": index} for index in range(count)]
    assert _encoded_summaries(lean).encoded == encode_json({"summary": lean})


@pytest.mark.parametrize("count", [0, 1, 6, 6, _KEYS_STRUCTS_MAX, _KEYS_STRUCTS_MAX + 1])
def test_packed_keys_are_counted_among_the_lessons_whatever_their_number(count):
    # One Struct per count (cached up to _KEYS_STRUCTS_MAX, iter_unpack beyond): the same count as
    # matching the 16-byte keys one by one, lessons or not, the second time for a count as the first.
    lessons = {uuid.uuid4().bytes: "lesson" for _ in range(count)}
    keys = [key if index % 3 else uuid.uuid4().bytes for index, key in enumerate(lessons)]
    expected = sum(key in lessons for key in keys)
    assert _packed_keys_count_among(b"".join(keys), lessons) == expected
    assert _packed_keys_count_among(b"".join(keys), lessons) == expected
    assert _packed_keys_count_among(b"".join(keys), {}) == 0


@pytest.mark.parametrize("carry", [False, True], ids=["own-context", "carry-forward"])
def test_the_lean_lists_own_path_gives_what_build_summaries_gives(learner_client, tenant, other_tenant, is_postgres, carry):
    # `_lean_summaries` (the unpaged `?fields=` on PostgreSQL) builds the summaries from the joined
    # rows as tuples; they must be build_summaries' of the same rows, value for value and in the same
    # key order, including an enrolment without a track, batches other than the course and a
    # completed track. With carry-forward it declines (None) and the general path answers.
    if not is_postgres:
        pytest.skip("the joined statement is PostgreSQL's")
    if carry:
        tenant.carry_forward = Tenant.CarryForward.CARRY
        tenant.save(update_fields=["carry_forward"])
    courses = _learning(tenant, learner_client.user_id, enrolments=6)
    _learning(other_tenant, learner_client.user_id, enrolments=2)
    user = learner_client.user_id
    # A row made outside the services: an enrolment without its track.
    track = CourseTrack.objects.get(user_id=user, tenant=tenant, batch_id=courses[1].id)
    IssuedCertificate.objects.filter(track=track).delete()
    track.delete()
    lean = frozenset()

    fast = _lean_summaries(tenant_id=tenant.id, user_id=user)

    rows = _summary_enrollment_rows(
        tenant_id=tenant.id, user_id=user, page=None, with_certificates=False, completed_only=True
    )
    general = build_summaries(rows, tenant_id=tenant.id, user_id=user, carry=carry, parts=lean, every_enrollment=True)
    if carry:
        assert fast is None
        assert summary_list(tenant_id=tenant.id, user_id=user, parts=lean) == general
        return
    assert len(fast) == 6 and any(s["status"] == 2 for s in fast) and any(s["batchId"] != s["collectionId"] for s in fast)
    assert [list(summary.items()) for summary in fast] == [list(summary.items()) for summary in general]
    assert [list(s["collection"].items()) for s in fast] == [list(s["collection"].items()) for s in general]
    assert encode_json(fast) == encode_json(general)
    assert summary_list(tenant_id=tenant.id, user_id=user, parts=lean) == fast
    assert _lean_summaries(tenant_id=tenant.id, user_id=uuid.uuid4()) == []


@pytest.mark.parametrize("carry", [False, True], ids=["own-context", "carry-forward"])
def test_the_lean_lists_bytes_are_the_encoding_of_its_summaries(learner_client, tenant, other_tenant, is_postgres, carry):
    # `lean_summary_list_encoded` writes the answer of `?fields=` unpaged as bytes, each course's
    # collection encoded once: the same bytes as encoding `_lean_summaries`' dicts with the logos
    # made absolute, whatever the course's title, description and logo hold (quotes, a line
    # separator, no description, a logo), twice (the second time from its cache of collections),
    # and after a course's title changes. With carry-forward it declines (None) as _lean_summaries does.
    if not is_postgres:
        pytest.skip("the joined statement is PostgreSQL's")
    if carry:
        tenant.carry_forward = Tenant.CarryForward.CARRY
        tenant.save(update_fields=["carry_forward"])
    courses = _learning(tenant, learner_client.user_id, enrolments=6)
    user = learner_client.user_id
    Course.objects.filter(pk=courses[0].pk).update(title='A "quoted"\u2028title \\ é', description="", image="logos/x.png")
    Course.objects.filter(pk=courses[1].pk).update(description="line\nbreak <b>")

    def absolute(url):
        return None if url is None else f"http://testserver{url}"

    def expected():
        summaries = _lean_summaries(tenant_id=tenant.id, user_id=user)
        if summaries is None:
            return None
        for summary in summaries:
            summary["collection"]["logo"] = absolute(summary["collection"]["logo"])
        return encode_json({"summary": summaries})

    for _ in range(2):
        encoded = lean_summary_list_encoded(tenant_id=tenant.id, user_id=user, absolute_logo=absolute)
        assert encoded == expected()
    if carry:
        assert encoded is None
        return
    assert b"http://testserver/" in encoded and b"\\u2028" in encoded
    assert len(orjson.loads(encoded)["summary"]) == 6
    Course.objects.filter(pk=courses[0].pk).update(title="Renamed")
    encoded = lean_summary_list_encoded(tenant_id=tenant.id, user_id=user, absolute_logo=absolute)
    assert encoded == expected() and b"Renamed" in encoded
    assert lean_summary_list_encoded(tenant_id=tenant.id, user_id=uuid.uuid4(), absolute_logo=absolute) == b'{"summary":[]}'


def test_the_lean_rows_are_in_the_order_the_lean_path_unpacks(is_postgres):
    if not is_postgres:
        pytest.skip("the joined statement is PostgreSQL's")
    statement = _summary_enrollments_statement(page=None, with_certificates=False, completed_only=True, ids_as_keys=True)
    assert statement.names == _LEAN_ROW_NAMES


def test_the_epoch_microseconds_in_float8_are_the_exact_ones(is_postgres):
    # EpochMicroseconds (and the consumption's last access) compute in float8 (date_part), not numeric
    # (EXTRACT): exact to the microsecond up to 2106 by the rounding argument at _EPOCH_US_SQL. Checked
    # here against numeric's over the epoch's first 136 years at random, the microseconds around now,
    # the 2038 and 2106 boundaries and the years before 1970.
    if not is_postgres:
        pytest.skip("PostgreSQL's form")
    from django.db import connection

    from viewer.selectors import _EPOCH_US_SQL

    with connection.cursor() as cursor:
        cursor.execute(
            "WITH t AS ("
            " SELECT to_timestamp(0) + (random() * 4294967295 * 1000000)::bigint * interval '1 microsecond' AS ts"
            " FROM generate_series(1, 200000)"
            " UNION ALL SELECT now() + g * interval '1 microsecond' FROM generate_series(-100000, 100000) g"
            " UNION ALL SELECT to_timestamp(2147483648) + g * interval '1 microsecond' FROM generate_series(-50000, 50000) g"
            " UNION ALL SELECT to_timestamp(4294967295) + g * interval '1 microsecond' FROM generate_series(-50000, 0) g"
            " UNION ALL SELECT to_timestamp(-86400 * 365 * 50) + g * interval '1 second' / 7 FROM generate_series(0, 50000) g"
            f") SELECT count(*) FROM t WHERE {_EPOCH_US_SQL % 'ts'} <> (EXTRACT(EPOCH FROM ts) * 1000000)::bigint"
        )
        assert cursor.fetchone() == (0,)
