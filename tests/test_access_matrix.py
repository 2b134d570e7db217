"""The access matrix (DECISIONS §2, §8): every API route and method, against every way in which a
caller may reach for what is not theirs.

The URL conf is walked, so a new route without an entry in MATRIX (or in EXCLUDED, with a
reason) fails `test_every_api_route_and_method_has_a_matrix_entry`. Each (route, method, case)
is its own test: it sends one request, checks the answer (a refusal in the route's JSON
envelope, or, where the case is a legitimate read, an answer that shows none of the other
party's rows), and checks that no row of any model changed.

The cases:
  other_learner        a learner of the same tenant, reaching for another learner's rows (their
                       enrollment, attempt, course track, summaries) or, for content, which no
                       learner owns, for draft content that learners may not see or change;
  other_tenant         an admin of tenant A, naming tenant B's objects;
  foreign_learner      a learner of tenant B, naming tenant A's objects;
  tenant_mismatch      a token pinned to tenant A (`tenant_id` claim) sent with `tenantid: B`;
  no_tenant_header     an admin token with no `tenantid` header, LMS_DEFAULT_TENANT unset;
  no_token             no credentials at all;
  staff_no_membership  a Django staff session (not a superuser) without a TenantMembership.

The last four are decided before any view code runs, so they answer the same on every route;
the first three depend on the route and are spelled out per entry. Adding a route is one
`Entry(...)` line in MATRIX.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from courses.models import Category
from enrollment.services import enrollment_create
from lms.events.models import WebhookDelivery
from lms.events.services import events_relay, webhook_subscription_create
from lms.models import Tenant
from tests.conftest import make_client
from tests.factories import CourseFactory, LessonFactory, ModuleFactory, PlacementFactory, TenantFactory
from tracking.models import CourseTrack
from tracking.services import lesson_attempt_start
from viewer import services as viewer_services
from viewer.models import Program, ProgramCourse

# --- what the matrix covers ---------------------------------------------------------------------

# Routes that are not the tenant API, each with the reason it is outside the matrix.
EXCLUDED: dict[str, str] = {
    "admin": "redirects to /admin/; the Django admin is session-only and scoped in its own issue",
    "admin/": "the Django admin (its own login, permissions and tests; tenant scoping of every page: "
              "tests/lms/test_admin_tenancy.py)",
    "health": "public liveness probe with no tenant data (tests/lms/test_health_and_docs.py)",
    "api/schema/": "public OpenAPI document with no tenant data",
    "api/docs/": "public Swagger UI page with no tenant data",
    "api/redoc/": "public Redoc page with no tenant data",
    "v1/viewer/summary/file/<str:token>": "public by design: the signed link is the credential (DECISIONS §8); its "
    "binding to tenant, user and format, tampering and expiry are tested in tests/viewer/test_download.py",
    "certificates/verify/<str:token>": "public by design: the unguessable certificate token is the credential "
    "(DECISIONS §10); unknown tokens, throttling and the PDF are tested in tests/tracking/test_certificate_verify.py",
    "^media/(?P<path>.+)$": "serves uploaded images by unguessable generated name, like a CDN would",
    "^(?!admin/|static/).*$": "the catch-all JSON 404 for unrouted paths (tests/lms/test_envelope.py)",
    "bench/": "benchmark floors, mounted only with LMS_BENCH_ENDPOINTS=true by the benchmark harness",
}
# Exclusions whose routes exist only under a setting that is off in the test suite.
CONDITIONAL_EXCLUSIONS = {"bench/"}
# OPTIONS is CORS preflight and carries no data; HEAD answers as GET does, without a body.
EXCLUDED_METHODS = {"OPTIONS", "HEAD"}

OTHER_LEARNER = "other_learner"
OTHER_TENANT = "other_tenant"
FOREIGN_LEARNER = "foreign_learner"
TENANT_MISMATCH = "tenant_mismatch"
NO_TENANT_HEADER = "no_tenant_header"
NO_TOKEN = "no_token"
STAFF_NO_MEMBERSHIP = "staff_no_membership"
CASES = (OTHER_LEARNER, OTHER_TENANT, FOREIGN_LEARNER, TENANT_MISMATCH, NO_TENANT_HEADER, NO_TOKEN, STAFF_NO_MEMBERSHIP)

# Decided by authentication and tenancy before the view: the same on every route.
# A missing `tenantid` is a malformed request (400 ERR_TENANT_REQUIRED, docs/configuration.md),
# not a refusal: it names no tenant, so there is nothing to be forbidden from or not found in.
UNIFORM: dict[str, tuple[int, str]] = {
    TENANT_MISMATCH: (403, "ERR_TENANT_MISMATCH"),
    NO_TENANT_HEADER: (400, "ERR_TENANT_REQUIRED"),
    NO_TOKEN: (401, "ERR_UNAUTHORIZED"),
    STAFF_NO_MEMBERSHIP: (403, "ERR_NOT_A_MEMBER"),
}


@dataclasses.dataclass(frozen=True)
class Shows:
    """A legitimate 200 read: it must show none of the other party's rows (their `private_ids`),
    except the ids the request itself named and the answer echoes (Side attribute names), and
    `check(result)` must hold where the values, not the ids, would be the leak."""

    echoed: tuple[str, ...] = ()
    check: Callable[[Any], bool] | None = None


@dataclasses.dataclass(frozen=True)
class NotApplicable:
    reason: str


Expect = int | tuple[int, str] | Shows | NotApplicable


@dataclasses.dataclass(frozen=True)
class Side:
    """The objects a request names: one tenant's, seen as the case needs them."""

    tenant: uuid.UUID
    owner: uuid.UUID  # the learner whose rows are reached for
    course: uuid.UUID
    module: uuid.UUID
    lesson: uuid.UUID
    enrollment: uuid.UUID
    attempt: uuid.UUID
    course_track: uuid.UUID
    program: uuid.UUID
    download_token: str
    webhook: uuid.UUID
    webhook_delivery: uuid.UUID
    private_ids: frozenset[str]  # ids the caller of the case must never see
    # The user a body or query names as the one acted for: the owner, except for the learner of
    # the other tenant, who names themselves so that the request reaches for the objects alone
    # (naming another user is the other_learner case already).
    actor: uuid.UUID | None = None
    category: uuid.UUID | None = None  # readable by everyone in its tenant, written by its admins


Build = Callable[[Side], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One route and method. `pk` names the Side attribute a `<uuid:pk>` in the path stands for;
    the other path parameters (`course_id`, `module_id`, `user_id`, `token`) take the Side's
    course, module, owner and download_token."""

    other_learner: Expect
    other_tenant: Expect
    foreign_learner: Expect
    pk: str | None = None
    body: Build | None = None
    query: Build | None = None
    # A route that answers one of the UNIFORM cases differently (a public route, say) says so here.
    overrides: dict[str, Expect] = dataclasses.field(default_factory=dict)


def _view(s: Side, **extra) -> dict:
    return {"request": {"userId": str(s.actor), "contentId": str(s.lesson), "collectionId": str(s.course), **extra}}


_ASSESSMENT = [{"attemptId": "a1", "assessmentTs": 1_700_000_000_000, "events": [{"questionId": "q1", "score": 1, "max_score": 1}]}]
_COURSE = {"title": "T", "shortDescription": "S", "description": "D",
           "startDatetime": "2026-01-01T00:00:00Z", "endDatetime": "2027-01-01T00:00:00Z"}  # fmt: skip
_NEW = "a create names no existing object; learners' creates are covered by other_learner/foreign_learner"
# A course of another tenant as collectionId is a bad course context: 400 ERR_UNKNOWN_COURSE, the
# same answer as for an id that exists nowhere, so it tells nothing (README, "Viewer API").
_NO_COURSE = (400, "ERR_UNKNOWN_COURSE")
# User ids are the identity provider's, not a tenant's: an admin naming the other tenant's learner
# (summary list, download link, view/read) reads that id's rows in the admin's own tenant, where
# there are none. The owner viewed the lesson once in their tenant, so a leak would show a view.
_NOTHING_VIEWED = Shows(echoed=("actor", "lesson"), check=lambda result: all(
    content["viewCount"] == 0 and content["status"] == 0 for content in result["contents"]))

# (route pattern, method) -> Entry.
# fmt: off
MATRIX: dict[tuple[str, str], Entry] = {
    ("courses", "GET"): Entry(Shows(), Shows(), Shows()),
    ("courses", "POST"): Entry(403, NotApplicable(_NEW), 403, body=lambda s: _COURSE),
    ("courses/lessons", "POST"): Entry(403, 404, 403, body=lambda s: {"courseId": str(s.course), "moduleId": str(s.module), "lessonId": str(s.lesson)}),
    ("courses/details/<uuid:pk>", "GET"): Entry(404, 404, 404, pk="course"),
    ("courses/<uuid:pk>", "GET"): Entry(404, 404, 404, pk="course"),
    ("courses/<uuid:pk>", "PUT"): Entry(403, 404, 403, pk="course", body=lambda s: {"title": "Changed"}),
    ("courses/<uuid:pk>", "DELETE"): Entry(403, 404, 403, pk="course"),
    ("modules", "POST"): Entry(403, 404, 403, body=lambda s: {"title": "M", "description": "D", "courseId": str(s.course)}),
    ("modules/course/<uuid:course_id>", "GET"): Entry(404, 404, 404),
    ("modules/<uuid:pk>", "GET"): Entry(404, 404, 404, pk="module"),
    ("modules/<uuid:pk>", "PUT"): Entry(403, 404, 403, pk="module", body=lambda s: {"title": "Changed"}),
    ("modules/<uuid:pk>", "DELETE"): Entry(403, 404, 403, pk="module"),
    ("lessons", "GET"): Entry(Shows(), Shows(), Shows()),
    ("lessons", "POST"): Entry(403, 404, 403, body=lambda s: {"title": "L", "description": "D", "courseId": str(s.course), "moduleId": str(s.module)}),
    ("lessons/module/<uuid:module_id>", "GET"): Entry(404, 404, 404),
    ("lessons/course/<uuid:course_id>", "GET"): Entry(404, 404, 404),
    ("lessons/<uuid:pk>", "GET"): Entry(404, 404, 404, pk="lesson"),
    ("lessons/<uuid:pk>", "PUT"): Entry(403, 404, 403, pk="lesson", body=lambda s: {"title": "Changed"}),
    ("lessons/<uuid:pk>", "DELETE"): Entry(403, 404, 403, pk="lesson"),
    ("enrollments", "GET"): Entry(403, Shows(), Shows(), query=lambda s: {"user_id": str(s.actor), "course_id": str(s.course)}),
    ("enrollments", "POST"): Entry(403, 404, 404, body=lambda s: {"course_id": str(s.course), "user_id": str(s.actor)}),
    ("enrollments/bulk", "POST"): Entry(403, 404, 403, body=lambda s: {"course_id": str(s.course), "user_ids": [str(s.actor)]}),
    ("enrollments/<uuid:pk>", "PUT"): Entry(403, 404, 403, pk="enrollment", body=lambda s: {"active": False}),
    ("enrollments/<uuid:pk>", "DELETE"): Entry(404, 404, 404, pk="enrollment"),
    ("lessons/tracking", "GET"): Entry(403, Shows(), Shows(), query=lambda s: {"user_id": str(s.actor), "course_id": str(s.course)}),
    ("lessons/tracking", "POST"): Entry(403, 404, 404, body=lambda s: {"lesson_id": str(s.lesson), "course_id": str(s.course), "user_id": str(s.actor)}),
    ("lessons/tracking/<uuid:pk>", "PUT"): Entry(403, 404, 404, pk="attempt", body=lambda s: {"status": "completed"}),
    ("courses/tracking", "GET"): Entry(403, Shows(), Shows(), query=lambda s: {"user_id": str(s.actor), "course_id": str(s.course)}),
    ("courses/<uuid:pk>/report", "GET"): Entry(403, 404, 403, pk="course"),
    ("courses/tracking/explain", "GET"): Entry(403, 404, 404, query=lambda s: {"course_id": str(s.course), "user_id": str(s.actor)}),
    ("courses/tracking/<uuid:pk>", "PUT"): Entry(403, 404, 403, pk="course_track", body=lambda s: {"status": "completed"}),
    ("v1/view/start", "POST"): Entry(403, _NO_COURSE, _NO_COURSE, body=lambda s: _view(s)),
    ("v1/view/update", "POST"): Entry(403, _NO_COURSE, _NO_COURSE, body=lambda s: _view(s, progress=50)),
    ("v1/view/end", "POST"): Entry(403, _NO_COURSE, _NO_COURSE, body=lambda s: _view(s)),
    ("v1/assessment/submit", "POST"): Entry(403, _NO_COURSE, _NO_COURSE, body=lambda s: _view(s, assessments=_ASSESSMENT)),
    ("v1/view/read", "POST"): Entry(403, _NOTHING_VIEWED, _NOTHING_VIEWED, body=lambda s: {"request": {"userId": str(s.actor), "contentId": [str(s.lesson)]}}),
    ("v1/viewer/summary/list/<uuid:user_id>", "GET"): Entry(403, Shows(), 403),
    ("v1/viewer/summary/read", "POST"): Entry(403, 404, 404, body=lambda s: {"request": {"userId": str(s.actor), "collectionId": str(s.course)}}),
    ("v1/viewer/summary/delete/<uuid:user_id>", "DELETE"): Entry(403, 404, 403, body=lambda s: {"request": {"collectionId": str(s.course)}}),
    ("v1/summary/delete/<uuid:user_id>", "DELETE"): Entry(403, 404, 403, body=lambda s: {"request": {"collectionId": str(s.course)}}),
    ("v1/viewer/summary/download/<uuid:user_id>", "GET"): Entry(403, Shows(), 403),
    ("v1/summary/download/<uuid:user_id>", "GET"): Entry(403, Shows(), 403),
    ("v1/program/enrol", "POST"): Entry(403, 404, 404, body=lambda s: {"request": {"programId": str(s.program), "userId": str(s.actor)}}),
    # The learner home and catalogue (DECISIONS §11).
    ("categories", "GET"): Entry(Shows(), Shows(), Shows()),
    ("categories", "POST"): Entry(403, NotApplicable(_NEW), 403, body=lambda s: {"name": "C", "slug": "c"}),
    ("categories/<uuid:pk>", "GET"): Entry(Shows(echoed=("category",)), 404, 404, pk="category"),
    ("categories/<uuid:pk>", "PATCH"): Entry(403, 404, 403, pk="category", body=lambda s: {"name": "Changed"}),
    ("categories/<uuid:pk>", "DELETE"): Entry(403, 404, 403, pk="category"),
    ("courses/search", "GET"): Entry(403, Shows(), Shows(), query=lambda s: {"hasEnroll": "true", "userId": str(s.actor)}),
    ("enrollments/users-courses", "GET"): Entry(403, Shows(), Shows(), query=lambda s: {"hasEnroll": "true", "userId": str(s.actor)}),
    ("enrollments/dashboard", "GET"): Entry(403, Shows(check=lambda r: r["enrolled"] == 0), Shows(check=lambda r: r["enrolled"] == 0),
                                            query=lambda s: {"userId": str(s.actor)}),
    ("courses/tracking/modules", "GET"): Entry(403, 404, 404, query=lambda s: {"course_id": str(s.course), "user_id": str(s.actor)}),
    ("lessons/tracking/status", "GET"): Entry(403, 404, 404, query=lambda s: {"lesson_id": str(s.lesson), "course_id": str(s.course), "user_id": str(s.actor)}),
    ("webhooks", "GET"): Entry(403, Shows(), 403),
    ("webhooks", "POST"): Entry(403, NotApplicable(_NEW), 403, body=lambda s: {"url": "http://127.0.0.1:9/hook", "events": ["*"]}),
    ("webhooks/<uuid:pk>", "GET"): Entry(403, 404, 403, pk="webhook"),
    ("webhooks/<uuid:pk>", "PUT"): Entry(403, 404, 403, pk="webhook", body=lambda s: {"active": False}),
    ("webhooks/<uuid:pk>", "DELETE"): Entry(403, 404, 403, pk="webhook"),
    ("webhooks/<uuid:pk>/rotate-secret", "POST"): Entry(403, 404, 403, pk="webhook"),
    ("webhooks/<uuid:pk>/test", "POST"): Entry(403, 404, 403, pk="webhook"),
    ("webhooks/<uuid:pk>/deliveries", "GET"): Entry(403, 404, 403, pk="webhook"),
    ("webhooks/<uuid:pk>/deliveries/<uuid:delivery_id>/redeliver", "POST"): Entry(403, 404, 403, pk="webhook"),
}
# fmt: on

# --- the URL conf --------------------------------------------------------------------------------


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def _methods(pattern: URLPattern) -> set[str]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route: its method -> action map
        return {method.upper() for method in actions}
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:  # a plain function view: it takes any method
        return {"ANY"}
    return {method.upper() for method in view_class.http_method_names if hasattr(view_class, method)}


def _excluded(route: str) -> bool:
    return any(route == excluded or (excluded.endswith("/") and route.startswith(excluded)) for excluded in EXCLUDED)


def api_routes() -> set[tuple[str, str]]:
    routes = set()
    for route, pattern in _walk(get_resolver().url_patterns):
        if _excluded(route):
            continue
        routes |= {(route, method) for method in _methods(pattern) - EXCLUDED_METHODS}
    return routes


def test_every_api_route_and_method_has_a_matrix_entry():
    missing = sorted(api_routes() - set(MATRIX))

    assert not missing, f"Add these to MATRIX (or to EXCLUDED with a reason): {missing}"


def test_every_matrix_entry_is_a_route():
    stale = sorted(set(MATRIX) - api_routes())

    assert not stale, f"MATRIX names routes or methods that no longer exist: {stale}"


@pytest.mark.urls("tests.lms.urls_probe")
def test_a_route_added_without_an_entry_is_caught():
    # The probe URL conf adds test-only API routes in front of the real ones.
    assert {("probe/whoami", "GET"), ("probe/whoami", "POST")} <= api_routes() - set(MATRIX)


def test_the_exclusions_are_all_still_routes():
    routes = {route for route, _ in _walk(get_resolver().url_patterns)}
    unrouted = [excluded for excluded in set(EXCLUDED) - CONDITIONAL_EXCLUSIONS
                if not any(route.startswith(excluded) for route in routes)]

    assert not unrouted, f"EXCLUDED names routes that no longer exist: {unrouted}"


# --- the world ---------------------------------------------------------------------------------


def _download_token(tenant_id, user_id) -> str:
    """The token of a real download link, asked of the API as that tenant's admin would."""
    response = make_client(tenant_id=tenant_id, roles=["admin"]).get(f"/v1/viewer/summary/download/{user_id}")
    assert response.status_code == 200, response.content
    return urlsplit(response.json()["result"]["url"]).path.rsplit("/", 1)[-1]


def _tenant_world(tenant: Tenant) -> tuple[Side, Side]:
    """(the tenant as a stranger sees it, the same tenant as another learner in it sees it)."""
    course = CourseFactory(tenant=tenant, auto_enroll=True)
    module = ModuleFactory(course=course, tenant=tenant)
    lesson = PlacementFactory(module=module, course=course, tenant=tenant).lesson
    draft_course = CourseFactory(tenant=tenant, status="unpublished", auto_enroll=True)
    draft_module = ModuleFactory(course=course, tenant=tenant, status="unpublished")
    draft_lesson = LessonFactory(tenant=tenant, status="unpublished")
    PlacementFactory(module=draft_module, course=course, tenant=tenant, lesson=draft_lesson)
    owner = uuid.uuid4()
    webhook = webhook_subscription_create(tenant_id=tenant.id, url="http://127.0.0.1:9/hook", events=["*"])
    enrollment = enrollment_create(tenant_id=tenant.id, course=course, user_id=owner, enrolled_by=owner)
    attempt, _ = lesson_attempt_start(tenant_id=tenant.id, user_id=owner, lesson_id=lesson.id, course_id=course.id)
    viewer_services.view_start(
        context=viewer_services.view_context(
            tenant_id=tenant.id, user_id=owner, content_id=lesson.id, collection_id=course.id
        )
    )
    program = Program.objects.create(tenant=tenant, identifier=f"p-{tenant.id}", name="Program")
    ProgramCourse.objects.create(program=program, course=course, ordering=1)
    course_track = CourseTrack.objects.get(enrollment=enrollment)
    category = Category.objects.create(tenant=tenant, name="Category", slug="category")
    events_relay()  # the enrollment's event becomes a delivery to the webhook (if no task relayed it)
    webhook_delivery = WebhookDelivery.objects.filter(subscription=webhook).first()
    owned = {enrollment.id, attempt.id, course_track.id, owner, webhook.id, webhook_delivery.id}
    drafts = {draft_course.id, draft_module.id, draft_lesson.id}
    everything = owned | drafts | {course.id, module.id, lesson.id, program.id, category.id}
    common = {
        "tenant": tenant.id, "owner": owner, "enrollment": enrollment.id, "attempt": attempt.id,
        "course_track": course_track.id, "program": program.id, "category": category.id,
        "download_token": _download_token(tenant.id, owner),
        "webhook": webhook.id, "webhook_delivery": webhook_delivery.id,
    }
    stranger_view = Side(
        course=course.id, module=module.id, lesson=lesson.id, private_ids=frozenset(map(str, everything)),
        actor=owner, **common,
    )
    neighbour_view = Side(
        course=draft_course.id, module=draft_module.id, lesson=draft_lesson.id,
        private_ids=frozenset(map(str, owned | drafts)), actor=owner, **common,
    )
    return stranger_view, neighbour_view


@dataclasses.dataclass
class World:
    home: Side  # tenant A, as a stranger sees it
    home_for_neighbour: Side  # tenant A, as another learner of A sees it
    foreign: Side  # tenant B


def _service_models() -> list:
    return [model for model in apps.get_models(include_auto_created=True) if model._meta.app_label in _SNAPSHOT_APPS]


def _primary_keys() -> dict:
    return {model: set(model._base_manager.values_list("pk", flat=True)) for model in _service_models()}


def _erase(rows: dict) -> None:
    # Raw deletes in one transaction: foreign keys are checked at commit on both databases, so
    # the order does not matter, and no PROTECT rule stands in the way of removing a fixture.
    with transaction.atomic(), connection.cursor() as cursor:
        for model, pks in rows.items():
            table, pk_field = connection.ops.quote_name(model._meta.db_table), model._meta.pk
            for pk in pks:
                cursor.execute(
                    f"DELETE FROM {table} WHERE {connection.ops.quote_name(pk_field.column)} = %s",
                    [pk_field.get_db_prep_value(pk, connection)],
                )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    """Built once for the module, committed, and erased afterwards: every test only reads it (and
    checks that it still holds exactly this), and each test's own transaction rolls back anyway."""
    with django_db_blocker.unblock():
        existing = _primary_keys()
        home, neighbour = _tenant_world(TenantFactory(name="Home"))
        foreign, _ = _tenant_world(TenantFactory(name="Foreign"))
    yield World(home=home, home_for_neighbour=neighbour, foreign=foreign)
    with django_db_blocker.unblock():
        _erase({model: pks - existing[model] for model, pks in _primary_keys().items()})
        # Later test modules count rows; they must find the database as this module found it.
        assert _primary_keys() == existing


def _caller(case: str, world: World) -> tuple[APIClient, Side]:
    """The client a case calls with, and the side whose objects it names."""
    home, foreign = world.home, world.foreign
    if case == OTHER_LEARNER:
        return make_client(tenant_id=home.tenant, roles=["learner"]), world.home_for_neighbour
    if case == OTHER_TENANT:
        return make_client(tenant_id=home.tenant, roles=["admin"]), foreign
    if case == FOREIGN_LEARNER:
        client = make_client(tenant_id=foreign.tenant, roles=["learner"])
        return client, dataclasses.replace(home, actor=client.user_id)
    if case == TENANT_MISMATCH:
        client = make_client(tenant_id=home.tenant, roles=["admin"])
        client.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"], HTTP_TENANTID=str(foreign.tenant))
        return client, foreign
    if case == NO_TENANT_HEADER:
        client = make_client(tenant_id=home.tenant, roles=["admin"])
        client.credentials(HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"])
        return client, home
    client = APIClient()
    if case == STAFF_NO_MEMBERSHIP:
        client.force_login(get_user_model().objects.create_user("ops", password=None, is_staff=True))
    client.credentials(HTTP_TENANTID=str(home.tenant))
    return client, home


_PATH_PARAMETERS = {"course_id": "course", "module_id": "module", "user_id": "owner", "token": "download_token",
                    "delivery_id": "webhook_delivery"}


def _path(route: str, entry: Entry, side: Side) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(2)
        return str(getattr(side, entry.pk if name == "pk" else _PATH_PARAMETERS[name]))

    return "/" + re.sub(r"<(\w+):(\w+)>", fill, route)


# --- "nothing changed" -------------------------------------------------------------------------

_SNAPSHOT_APPS = {"lms", "courses", "enrollment", "tracking", "viewer", "events"}


def _snapshot() -> dict[str, list]:
    """Every row of every table of the service (and the user table): the whole state a request may touch.

    Plain SQL, because compiling ~20 ORM querysets twice per test was most of the matrix's time.
    """
    tables = sorted({model._meta.db_table for model in [*_service_models(), get_user_model()]})
    with connection.cursor() as cursor:
        rows = {}
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows[table] = sorted(map(repr, cursor.fetchall()))
    return rows


def _expectation(route: str, method: str, case: str) -> Expect:
    entry = MATRIX[(route, method)]
    if case in entry.overrides:
        return entry.overrides[case]
    if case in UNIFORM:
        return UNIFORM[case]
    return getattr(entry, case)


_PARAMS = [
    pytest.param(route, method, case, id=f"{method} /{route} [{case}]")
    for (route, method) in MATRIX
    for case in CASES
]


@pytest.mark.parametrize(("route", "method", "case"), _PARAMS)
def test_access_is_refused_and_nothing_changes(db, world, settings, route, method, case):
    settings.LMS_DEFAULT_TENANT = ""
    expectation = _expectation(route, method, case)
    if isinstance(expectation, NotApplicable):
        pytest.skip(expectation.reason)
    entry = MATRIX[(route, method)]
    client, side = _caller(case, world)
    path = _path(route, entry, side)
    before = _snapshot()

    response = client.generic(method, path + _query_string(entry, side), **_body(entry, side))

    _assert_answer(response, route, expectation, side)
    assert _snapshot() == before, f"{method} {path} as {case} changed rows"


def _query_string(entry: Entry, side: Side) -> str:
    return "?" + urlencode(entry.query(side)) if entry.query else ""


def _body(entry: Entry, side: Side) -> dict:
    if entry.body is None:
        return {}
    return {"data": json.dumps(entry.body(side)), "content_type": "application/json"}


def _assert_answer(response, route: str, expectation: Expect, side: Side) -> None:
    viewer = route.startswith("v1/")
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    body = response.json()
    assert set(body) == {"id", "ver", "ts", "params", "responseCode", "result"}, body
    assert body["ver"] == ("v1" if viewer else "1.0")
    if isinstance(expectation, Shows):
        assert response.status_code == 200, body
        shown = response.content.decode()
        echoed = {str(getattr(side, name)) for name in expectation.echoed}
        leaked = sorted(identifier for identifier in side.private_ids - echoed if identifier in shown)
        assert not leaked, f"the answer shows another party's rows: {leaked}"
        assert expectation.check is None or expectation.check(body["result"]), body
        return
    status, err = expectation if isinstance(expectation, tuple) else (expectation, None)
    assert response.status_code == status, body
    assert body["params"]["status"] == "failed" and body["params"]["errmsg"], body
    if err is not None:
        assert body["params"]["err"] == err, body
