"""Every statement the hot paths send to a per-user table names one user (issue 15, DECISIONS §8).

A table distributed by `user_id` (PostgreSQL with Citus, or partitions by user) routes a statement
to one shard only when its filter fixes `user_id` by equality; a statement that does not fans out to
every shard. This test records the SQL of each hot path as a learner's client sends it and checks
each statement that touches a per-user table:
- an `INSERT ... VALUES` is routed by the row it inserts (its `user_id` value);
- any other statement needs one `user_id = <value>` condition per per-user table it reads or
  writes, since a multi-table statement is routed only when every table is pinned to the same user;
  a join or correlated subquery on `user_id` equality with another table counts (co-located), when
  the statement pins at least one user by value.

The check counts conditions rather than proving which condition pins which table; the joins are
checked one by one as well: a JOIN of a per-user table needs a `user_id` equality in its own ON
clause (the summary reads join the course track and its certificate on the enrolment's user as
well as on their keys), since Citus co-locates a join only on the distribution column.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import build_course
from tests.tracking.helpers import enroll, result, start, update
from tests.viewer.conftest import wrapped
from tracking.models import (
    AssessmentAttempt,
    ContentConsumption,
    CourseTrack,
    IssuedCertificate,
    LessonAttempt,
    LessonAttemptCounter,
)

pytestmark = pytest.mark.django_db

PER_USER_TABLES = tuple(
    model._meta.db_table
    for model in (
        ContentConsumption, LessonAttempt, LessonAttemptCounter, CourseTrack, AssessmentAttempt, IssuedCertificate
    )
)
# `user_id` compared with a bound parameter (`%s` or a psycopg `$n`) or a literal value.
USER_EQUALITY = re.compile(r"""\buser_id"?\s*=\s*(%s|\$\d+|'[0-9a-fA-F-]{32,36}'|[0-9a-fA-F]{32}\b)""")
# `user_id` equal to another table's `user_id` (a join or a correlated subquery): Citus runs such a
# reference on the shard of the row it is joined to (tables distributed by user_id are co-located),
# so it is pinned once the other side is. The anchor below asks for one value equality as well.
CO_LOCATED_EQUALITY = re.compile(r'\buser_id"?\s*=\s*\(?"?\w+"?\."?user_id\b')
TABLE_REFERENCE = re.compile(r'"?\b(' + "|".join(PER_USER_TABLES) + r')\b"?')
PER_USER = "|".join(PER_USER_TABLES)


def _inserted_rows_routed(normalized: str) -> bool:
    """An INSERT whose rows are routed by their own `user_id` value: `INSERT … VALUES`, or
    `INSERT … SELECT <values> WHERE <condition>` with no FROM (the conditional upsert), which
    Citus evaluates once and routes like VALUES."""
    if not re.match(r"(?is)^\s*INSERT\b", normalized):
        return False
    if re.search(r"(?is)\bVALUES\b", normalized) and not re.search(r"(?is)\bSELECT\b", normalized):
        return True
    select = re.search(r"(?is)\)\s*SELECT\b(.*?)(\bON CONFLICT\b|\bRETURNING\b|$)", normalized)
    return bool(select) and not re.search(r"(?is)\bFROM\b", select.group(1))


def _inserts_a_given_user(normalized: str) -> int:
    """1 when an `INSERT INTO … (columns) SELECT <items> FROM …` takes its `user_id` item as a
    value (`%s` or a literal): the target is routed by that value, as with VALUES."""
    match = re.match(r"(?is)^\s*INSERT INTO\s+\S+\s*\(([^)]*)\)\s*SELECT\s+(.*?)\s+FROM\b", normalized)
    if not match:
        return 0
    columns = [column.strip().strip('"') for column in match.group(1).split(",")]
    items = [item.strip() for item in match.group(2).split(",")]
    if "user_id" not in columns or len(items) <= columns.index("user_id"):
        return 0
    return int(bool(re.fullmatch(r"%s|\$\d+|'[0-9a-fA-F-]{32,36}'(::uuid)?", items[columns.index("user_id")])))


def _unrouted(statements: list[str]) -> list[str]:
    problems = []
    for sql in statements:
        tables = TABLE_REFERENCE.findall(sql)
        if not tables:
            continue
        normalized = " ".join(sql.split())
        if _inserted_rows_routed(normalized):
            continue  # routed by the value it inserts
        # One pinned user per reference of a per-user table (a table named twice, as in an UPDATE's
        # target and its RETURNING, counts once: a reference is a FROM/JOIN/UPDATE/INTO occurrence).
        references = re.findall(r'(?i)\b(?:FROM|JOIN|UPDATE|INTO)\s+"?(' + PER_USER + r')\b', normalized)
        # An `INSERT INTO <per-user> (…) SELECT …, user_id, … FROM <source>` (a data-modifying WITH)
        # copies the user from a source row; it is pinned when its source is (counted there).
        copied = len(re.findall(
            r'(?i)\bINSERT INTO\s+"?(?:' + PER_USER + r')\b"?\s*\([^)]*\)\s*SELECT\b[^;]*?\buser_id\b[^;]*?\bFROM\b',
            normalized,
        ))
        anchors = len(USER_EQUALITY.findall(normalized))
        pins = anchors + len(CO_LOCATED_EQUALITY.findall(normalized)) + copied + _inserts_a_given_user(normalized)
        if anchors == 0 or pins < max(1, len(references)):
            problems.append(normalized)
    return problems


def _joins_without_user(statements: list[str]) -> list[str]:
    """Each JOIN of a per-user table whose ON clause has no `user_id` equality (as `<table> ON …`)."""
    problems = []
    for sql in statements:
        normalized = " ".join(sql.split())
        for join in re.finditer(
            r'(?i)\bJOIN\s+"?(' + PER_USER + r')"?(?:\s+(?!ON\b)\w+)?\s+ON\b(.*?)(?=\b(?:LEFT|RIGHT|INNER|FULL|CROSS|JOIN|WHERE|GROUP|ORDER|LIMIT)\b|$)',
            normalized,
        ):
            if not (USER_EQUALITY.search(join.group(2)) or CO_LOCATED_EQUALITY.search(join.group(2))):
                problems.append(f"{join.group(1)} ON{join.group(2)}")
    return problems


def _capture(action) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        action()
    return [query["sql"] for query in captured.captured_queries]


@pytest.fixture
def course(tenant):
    return build_course(tenant=tenant, modules=2, lessons_per_module=2, certificate_term="COMPLETE_ALL")


@pytest.fixture
def learner(tenant, course, client_for):
    client = client_for(tenant, "learner")
    enroll(course, client.user_id)
    return client


def _lessons(course):
    return [placement.lesson for placement in course.placements.select_related("lesson").order_by("module__ordering", "ordering")]


def _view(client, path, **fields):
    response = client.post(path, wrapped(**fields), format="json")
    assert response.status_code == 200, response.json()


def test_the_viewer_paths_pin_one_user(learner, course):
    lessons = _lessons(course)
    statements = []
    for path, extra in (
        ("/v1/view/start", {}),
        ("/v1/view/update", {"progress": 40}),
        ("/v1/view/update", {"progress": 60}),
        ("/v1/view/end", {}),
    ):
        statements += _capture(lambda p=path, e=extra: _view(learner, p, contentId=lessons[0].id, collectionId=course.id, **e))
    statements += _capture(lambda: _view(
        learner, "/v1/assessment/submit", contentId=lessons[1].id, collectionId=course.id,
        assessments=[{"attemptId": "a1", "assessmentTs": 1_700_000_000_000,
                      "events": [{"questionId": "q", "score": 1, "max_score": 2}]}],
    ))
    statements += _capture(lambda: _view(learner, "/v1/view/read", contentId=[str(lessons[0].id)], collectionId=course.id))
    summaries = _capture(lambda: _view(learner, "/v1/viewer/summary/read", collectionId=course.id))
    for query in ("", "?fields=", "?fields=issuedCertificates&page=1&limit=5"):
        summaries += _capture(lambda q=query: _listed(learner, q))
    statements += summaries
    assert any(TABLE_REFERENCE.search(sql) for sql in statements), "the paths sent no statement to a per-user table"
    problems = _unrouted(statements)
    assert problems == [], "\n\n".join(problems)
    assert any(re.search(r'(?i)\bJOIN\s+"?' + CourseTrack._meta.db_table, sql) for sql in summaries)
    assert _joins_without_user(statements) == []


def _listed(client, query: str) -> None:
    response = client.get(f"/v1/viewer/summary/list/{client.user_id}{query}")
    assert response.status_code == 200, response.json()


def test_the_attempt_paths_pin_one_user(learner, course):
    lessons = _lessons(course)
    statements = []
    started = {}

    def start_attempt():
        response = start(learner, lessons[0])
        assert response.status_code in (200, 201), response.json()
        started.update(result(response))

    statements += _capture(start_attempt)
    # A lesson that resumes takes the checked path (counter lock, resume read) on PostgreSQL too.
    resumable = lessons[1]
    resumable.resume = True
    resumable.save(update_fields=["resume"])
    for expected in (201, 200):
        statements += _capture(lambda e=expected: _expect(start(learner, resumable), e))
    statements += _capture(lambda: update(learner, started["id"], progress=50))
    statements += _capture(lambda: update(learner, started["id"], status="completed"))
    statements += _capture(lambda: learner.get("/courses/tracking", {"course_id": str(course.id), "user_id": str(learner.user_id)}))
    assert any(TABLE_REFERENCE.search(sql) for sql in statements)
    problems = _unrouted(statements)
    assert problems == [], "\n\n".join(problems)


def test_the_explain_read_pins_one_user(learner, course):
    """The explain read (`/courses/tracking/explain`) joins the learner's enrollment, its track and
    the track's certificate in one hand-written statement, as the summaries do: each per-user
    table is joined on the user as well as on its key."""
    lessons = _lessons(course)
    _expect(start(learner, lessons[0]), 201)
    statements = _capture(lambda: _expect(
        learner.get("/courses/tracking/explain", {"course_id": str(course.id)}), 200
    ))
    assert any(re.search(r'(?i)\bJOIN\s+"?' + IssuedCertificate._meta.db_table, sql) for sql in statements)
    problems = _unrouted(statements)
    assert problems == [], "\n\n".join(problems)
    assert _joins_without_user(statements) == []


def test_the_learner_home_pins_one_user(learner, course):
    """The learner home (`/enrollments/users-courses`) reads the page's tracks with the enrolments
    (grouped to sort and cut the page, each row as its id and version), then the rows it has not
    seen at those versions by id: each reference names the user."""
    from tracking import home

    home.row_version_cache_clear()  # so the rows are read here, whatever ran before
    _expect(start(learner, _lessons(course)[0]), 201)
    statements = _capture(lambda: _expect(learner.get("/enrollments/users-courses", {"hasEnroll": "true"}), 200))
    track = CourseTrack._meta.db_table
    assert any(re.search(r'(?i)\bJOIN\s+\(SELECT\b.*\bFROM\s+"?' + track, sql) for sql in statements)
    assert any(re.search(r'(?i)\bFROM\s+"?' + track + r'"?\s+WHERE\b.*"id" IN \(', sql) for sql in statements)
    problems = _unrouted(statements)
    assert problems == [], "\n\n".join(problems)
    assert _joins_without_user(statements) == []


def _expect(response, status_code):
    assert response.status_code == status_code, response.json()


def test_the_check_itself_finds_a_statement_that_fans_out():
    table = CourseTrack._meta.db_table
    fans_out = f'SELECT * FROM "{table}" WHERE "{table}"."course_id" = %s'
    pinned = f'SELECT * FROM "{table}" WHERE "{table}"."user_id" = %s AND "{table}"."course_id" = %s'
    inserted = f'INSERT INTO "{table}" ("user_id", "course_id") VALUES (%s, %s)'
    two_tables_one_pin = (
        f'SELECT 1 FROM "{table}" JOIN "{LessonAttempt._meta.db_table}" ON true WHERE "{table}"."user_id" = %s'
    )
    assert _unrouted([fans_out, pinned, inserted, two_tables_one_pin]) == [fans_out, two_tables_one_pin]


def test_the_join_check_finds_a_join_on_keys_alone():
    track, certificate = CourseTrack._meta.db_table, IssuedCertificate._meta.db_table
    on_keys = (
        f'SELECT 1 FROM "enrollment_enrollment" LEFT OUTER JOIN "{track}" t ON ("enrollment_enrollment"."id" = '
        f't."enrollment_id") WHERE "enrollment_enrollment"."user_id" = %s'
    )
    on_user = (
        f'SELECT 1 FROM "enrollment_enrollment" LEFT OUTER JOIN "{track}" t ON ("enrollment_enrollment"."id" = '
        f't."enrollment_id" AND (t."user_id" = ("enrollment_enrollment"."user_id"))) LEFT OUTER JOIN "{certificate}" '
        f'ON (t."id" = "{certificate}"."track_id") WHERE "enrollment_enrollment"."user_id" = %s'
    )
    assert _joins_without_user([on_keys]) == [f'{track} ON ("enrollment_enrollment"."id" = t."enrollment_id") ']
    assert _joins_without_user([on_user]) == [f'{certificate} ON (t."id" = "{certificate}"."track_id") ']
