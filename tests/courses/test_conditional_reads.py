"""Conditional reads of a course (issue 15): GET /courses/:id and /courses/details/:id answer a weak
ETag, and If-None-Match naming it answers 304 with no body. Players poll both endpoints."""

from __future__ import annotations

import pytest
from django.core.files.storage import storages

from courses.api import rendering, views
from courses.models import Category, ContentStatus, Media
from lms.api import hosts as lms_hosts
from lms.lru import WeightedLRU
from tests.courses.conftest import failed, ok
from tests.factories import CourseFactory, LessonFactory, ModuleFactory, PlacementFactory, build_course

READS = ["/courses/{}", "/courses/details/{}"]


def _get(client, path: str, if_none_match: str | None = None):
    extra = {} if if_none_match is None else {"HTTP_IF_NONE_MATCH": if_none_match}
    return client.get(path, **extra)


def _etag(response) -> str:
    assert response.status_code == 200, response.content
    return response["ETag"]


def _assert_revalidation_headers(response) -> None:
    assert response["Cache-Control"] == "private, no-cache"
    vary = {name.strip().lower() for name in response["Vary"].split(",")}
    assert {"authorization", "tenantid"} <= vary


@pytest.fixture
def course(tenant):
    return build_course(tenant=tenant, modules=2, lessons_per_module=2)


# --- the validator and the 304 -------------------------------------------------------------------


@pytest.mark.parametrize("read", READS)
def test_a_read_carries_a_weak_etag_and_asks_to_be_revalidated(learner_client, course, read):
    response = learner_client.get(read.format(course.pk))
    result = ok(response)
    assert result["courseId"] == str(course.pk)
    etag = response["ETag"]
    assert etag.startswith('W/"') and etag.endswith('"') and len(etag) > 6
    _assert_revalidation_headers(response)
    assert _etag(learner_client.get(read.format(course.pk))) == etag  # stable while nothing changes


@pytest.mark.parametrize("read", READS)
def test_the_current_etag_answers_304_with_no_body_and_the_validator_headers(learner_client, course, read):
    path = read.format(course.pk)
    etag = _etag(learner_client.get(path))
    response = _get(learner_client, path, etag)
    assert response.status_code == 304
    assert response.content == b""  # no body, so no envelope either: the request id is in the header
    assert response["ETag"] == etag
    _assert_revalidation_headers(response)
    assert response["X-Request-Id"]
    assert "Content-Type" not in response


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    "header",
    [
        "{etag}",  # echoed as given
        "{strong}",  # the same tag without W/: If-None-Match compares weakly
        '"something-else", {etag}',  # a list holding it
        'W/"older",{strong} , "newer"',  # a list, spaced oddly, holding its strong form
        "*",  # any current representation: the course is visible to this caller
    ],
)
def test_every_form_of_a_matching_if_none_match_is_304(learner_client, course, read, header):
    path = read.format(course.pk)
    etag = _etag(learner_client.get(path))
    sent = header.format(etag=etag, strong=etag.removeprefix("W/"))
    assert _get(learner_client, path, sent).status_code == 304


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    "header",
    [
        'W/"not-the-tag"',
        '"not-the-tag", W/"nor-this"',
        "{bare}",  # the tag without its quotes is malformed: it matches nothing
        "W/",
        '"unterminated',
        ",,,",
    ],
)
def test_a_stale_or_malformed_if_none_match_gets_the_full_answer(learner_client, course, read, header):
    path = read.format(course.pk)
    first = learner_client.get(path)
    etag = _etag(first)
    response = _get(learner_client, path, header.format(bare=etag.removeprefix("W/").strip('"')))
    assert ok(response) == first.json()["result"]
    assert response["ETag"] == etag


# --- what the validator covers -------------------------------------------------------------------


@pytest.mark.parametrize("read", READS)
def test_authors_and_learners_never_share_an_etag(admin_client, learner_client, course, read):
    path = read.format(course.pk)
    author_etag, learner_etag = _etag(admin_client.get(path)), _etag(learner_client.get(path))
    assert author_etag != learner_etag
    # Each one's tag gets the other the full answer, never a 304.
    assert _get(admin_client, path, learner_etag).status_code == 200
    assert _get(learner_client, path, author_etag).status_code == 200


def test_an_authors_tree_with_drafts_is_not_a_learners_tree(admin_client, learner_client, tenant, course):
    draft_module = ModuleFactory(course=course, tenant=tenant, ordering=3, status=ContentStatus.UNPUBLISHED)
    PlacementFactory(module=draft_module, course=course, tenant=tenant, ordering=1)
    path = f"/courses/details/{course.pk}"
    author_response, learner_response = admin_client.get(path), learner_client.get(path)
    assert len(ok(author_response)["modules"]) == 3 and len(ok(learner_response)["modules"]) == 2
    assert author_response["ETag"] != learner_response["ETag"]


@pytest.mark.parametrize("read", READS)
def test_the_etag_follows_the_host_the_image_urls_are_built_on(admin_client, tenant, settings, read):
    settings.ALLOWED_HOSTS = ["testserver", "lms.example.org"]
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1, image="courses/cover.png")
    path = read.format(course.pk)
    here, there = admin_client.get(path), admin_client.get(path, HTTP_HOST="lms.example.org")
    assert ok(here)["image"].startswith("http://testserver/")
    assert ok(there)["image"].startswith("http://lms.example.org/")
    assert _etag(here) != _etag(there)
    assert _get(admin_client, path, _etag(there)).status_code == 200  # testserver is the client's default host
    assert _get(admin_client, path, _etag(here)).status_code == 304


def test_signed_image_urls_are_never_cached_or_confirmed_past_half_their_life(admin_client, course, monkeypatch):
    """A storage that signs its URLs (S3's default) puts links that expire in the body: the key and
    the ETag change every half lifetime, so a player always gets links with at least half their life."""
    storage = storages["default"]
    monkeypatch.setattr(storage, "querystring_auth", True, raising=False)
    monkeypatch.setattr(storage, "querystring_expire", 3600, raising=False)
    now = 1_800_000_000 - 1  # the last second of a half-hour window
    monkeypatch.setattr(rendering, "_now", lambda: now)
    path = f"/courses/details/{course.pk}"
    etag = _etag(admin_client.get(path))
    assert _get(admin_client, path, etag).status_code == 304
    now += 1
    assert _etag(_get(admin_client, path, etag)) != etag


# --- changes give a new ETag and a new body at once ------------------------------------------------


def _title_of_first_lesson(result: dict) -> str:
    return result["modules"][0]["lessons"][0]["title"]


def _change_course_title(client, world):
    ok(client.put(f"/courses/{world['course'].pk}", {"title": "Renamed course"}, format="json"))
    return lambda result: result["title"] == "Renamed course"


def _change_module_title(client, world):
    ok(client.put(f"/modules/{world['module'].pk}", {"title": "Renamed module"}, format="json"))
    return lambda result: result["modules"][0]["title"] == "Renamed module"


def _change_lesson_title(client, world):
    ok(client.put(f"/lessons/{world['lesson'].pk}", {"title": "Renamed lesson"}, format="json"))
    return lambda result: _title_of_first_lesson(result) == "Renamed lesson"


def _edit_shared_media_through_another_lesson(client, world):
    ok(client.put(f"/lessons/{world['media_sharer'].pk}", {"mediaContent": {"sub_format": "webm"}}, format="json"))
    return lambda result: result["modules"][0]["lessons"][0]["mediaContent"]["sub_format"] == "webm"


def _place_another_lesson(client, world):
    lesson = LessonFactory(tenant=world["course"].tenant, title="Placed later")
    body = {"courseId": str(world["course"].pk), "moduleId": str(world["module"].pk), "lessonId": str(lesson.pk)}
    ok(client.post("/courses/lessons", body, format="json"), 201)
    return lambda result: [row["title"] for row in result["modules"][0]["lessons"]][-1] == "Placed later"


def _move_a_lesson(client, world):
    body = {"moduleId": str(world["module"].pk), "courseId": str(world["course"].pk), "ordering": 2}
    ok(client.put(f"/lessons/{world['lesson'].pk}", body, format="json"))
    return lambda result: result["modules"][0]["lessons"][1]["lessonId"] == str(world["lesson"].pk)


def _archive_a_lesson(client, world):
    ok(client.delete(f"/lessons/{world['lesson'].pk}"))
    return lambda result: str(world["lesson"].pk) not in {row["lessonId"] for row in result["modules"][0]["lessons"]}


def _unpublish_a_module(client, world):
    ok(client.put(f"/modules/{world['module'].pk}", {"status": "unpublished"}, format="json"))
    return lambda result: result["modules"][0]["status"] == "unpublished"


def _archive_a_module(client, world):
    ok(client.delete(f"/modules/{world['module'].pk}"))
    return lambda result: len(result["modules"]) == 1


def _assign_a_category(client, world):
    category = Category.objects.create(tenant=world["course"].tenant, name="Maths", slug="maths")
    ok(client.put(f"/courses/{world['course'].pk}", {"categoryIds": [str(category.pk)]}, format="json"))
    return lambda result: result["categoryIds"] == [str(category.pk)]


@pytest.fixture
def world(tenant):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=2)
    module = course.modules.order_by("ordering").first()
    lesson = module.placements.order_by("ordering").first().lesson
    media = Media.objects.create(tenant=tenant, format="video", source="https://v", url="https://v", sub_format="mp4")
    lesson.media = media
    lesson.save(update_fields=["media"])
    media_sharer = LessonFactory(tenant=tenant, media=media)  # in the library only, sharing the record
    return {"course": course, "module": module, "lesson": lesson, "media_sharer": media_sharer}


@pytest.mark.parametrize(
    "change",
    [
        _change_course_title, _change_module_title, _change_lesson_title, _edit_shared_media_through_another_lesson,
        _place_another_lesson, _move_a_lesson, _archive_a_lesson, _unpublish_a_module, _archive_a_module,
        _assign_a_category,
    ],
)
def test_an_authors_change_gives_a_new_etag_and_a_new_body_at_once(admin_client, world, change):
    path = f"/courses/details/{world['course'].pk}"
    etag = _etag(admin_client.get(path))
    assert _get(admin_client, path, etag).status_code == 304
    shows_the_change = change(admin_client, world)
    response = _get(admin_client, path, etag)
    assert response.status_code == 200, "the old ETag must not be confirmed after a change"
    assert response["ETag"] != etag
    assert shows_the_change(ok(response))


def test_the_course_read_follows_its_changes_too(admin_client, learner_client, world):
    path = f"/courses/{world['course'].pk}"
    author_etag, learner_etag = _etag(admin_client.get(path)), _etag(learner_client.get(path))
    _change_course_title(admin_client, world)
    for client, etag in ((admin_client, author_etag), (learner_client, learner_etag)):
        response = _get(client, path, etag)
        assert ok(response)["title"] == "Renamed course"
        assert response["ETag"] != etag


def test_a_change_through_one_process_is_served_by_another_at_once(admin_client, world, monkeypatch):
    """Two app processes share Django's cache (Redis in production) but not their in-process copies.
    Process B serves what A rendered from the shared cache, and after an author's change through A
    renders the new tree, with a new ETag, without anybody telling it."""
    path = f"/courses/details/{world['course'].pk}"
    process_a, process_b = views._rendered_bodies, WeightedLRU(max_weight=views._rendered_bodies.max_weight, weigh=len)
    etag = _etag(admin_client.get(path))  # rendered by A: in A's copy and the shared cache

    monkeypatch.setattr(views, "_rendered_bodies", process_b)
    response = _get(admin_client, path, etag)
    assert response.status_code == 304
    assert ok(admin_client.get(path))["modules"][0]["title"] == world["module"].title
    assert len(process_b) == 1  # B took A's body from the shared cache

    monkeypatch.setattr(views, "_rendered_bodies", process_a)
    ok(admin_client.put(f"/modules/{world['module'].pk}", {"title": "Changed through A"}, format="json"))

    monkeypatch.setattr(views, "_rendered_bodies", process_b)
    response = _get(admin_client, path, etag)
    assert response.status_code == 200 and response["ETag"] != etag
    assert ok(response)["modules"][0]["title"] == "Changed through A"


# --- visibility before any 304 ---------------------------------------------------------------------


@pytest.mark.parametrize("read", READS)
def test_another_tenant_gets_404_never_304(admin_client, other_admin_client, course, read):
    path = read.format(course.pk)
    etag = _etag(admin_client.get(path))
    for header in (etag, "*"):
        failed(_get(other_admin_client, path, header), 404, "ERR_NOT_FOUND")


@pytest.mark.parametrize("read", READS)
def test_a_learner_gets_404_never_304_for_a_course_out_of_sight(admin_client, learner_client, tenant, read):
    draft = CourseFactory(tenant=tenant, status=ContentStatus.UNPUBLISHED)
    path = read.format(draft.pk)
    etag = _etag(admin_client.get(path))
    for header in (etag, "*"):
        failed(_get(learner_client, path, header), 404, "ERR_NOT_FOUND")


@pytest.mark.parametrize("read", READS)
def test_unpublishing_or_archiving_answers_404_to_a_held_etag(admin_client, learner_client, course, read):
    path = read.format(course.pk)
    learner_etag, author_etag = _etag(learner_client.get(path)), _etag(admin_client.get(path))
    ok(admin_client.put(f"/courses/{course.pk}", {"status": "unpublished"}, format="json"))
    failed(_get(learner_client, path, learner_etag), 404, "ERR_NOT_FOUND")
    ok(admin_client.delete(f"/courses/{course.pk}"))
    failed(_get(admin_client, path, author_etag), 404, "ERR_NOT_FOUND")


def test_an_anonymous_caller_gets_401_whatever_it_sends(client, course):
    response = client.get(f"/courses/{course.pk}", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 401


# --- cost ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 20])
@pytest.mark.parametrize("read", READS)
def test_a_304_and_a_cached_200_are_one_query_at_any_size(
    learner_client, tenant, warm, django_assert_num_queries, size, read
):
    course = build_course(tenant=tenant, modules=size, lessons_per_module=size)
    path = read.format(course.pk)
    warm(learner_client)
    etag = _etag(learner_client.get(path))
    with django_assert_num_queries(1):  # the course's version (visibility, and it names the body)
        assert _get(learner_client, path, etag).status_code == 304
    with django_assert_num_queries(1):  # the course's version; the body comes from the cache
        assert _get(learner_client, path, 'W/"stale"').status_code == 200


# --- the host in the key: checked against ALLOWED_HOSTS once per header, not once per request ------


@pytest.fixture
def checked_hosts(monkeypatch):
    hosts: dict = {}
    monkeypatch.setattr(lms_hosts, "_checked_hosts", hosts)
    return hosts


def test_the_key_names_the_host_django_accepts_and_remembers_the_check(rf, settings, checked_hosts):
    settings.ALLOWED_HOSTS = ["lms.example.org"]
    request = rf.get("/", HTTP_HOST="lms.example.org")

    for _ in range(2):  # the second time from the remembered check
        assert rendering._request_host(request) == request.get_host() == "lms.example.org"
    assert list(checked_hosts) == ["lms.example.org"]


def test_a_host_is_checked_again_when_allowed_hosts_change(rf, settings, checked_hosts):
    from django.core.exceptions import DisallowedHost

    settings.ALLOWED_HOSTS = ["lms.example.org"]
    request = rf.get("/", HTTP_HOST="lms.example.org")
    rendering._request_host(request)

    settings.ALLOWED_HOSTS = ["elsewhere.example.org"]
    with pytest.raises(DisallowedHost):
        rendering._request_host(request)
    with pytest.raises(DisallowedHost):
        rendering._request_host(rf.get("/", HTTP_HOST="evil.example"))


def test_hosts_remembered_are_bounded_whatever_a_wildcard_admits(rf, settings, checked_hosts):
    settings.ALLOWED_HOSTS = ["*"]

    for index in range(lms_hosts.CHECKED_HOSTS_MAX + 10):
        host = f"host-{index}.example.org"
        assert rendering._request_host(rf.get("/", HTTP_HOST=host)) == host
    assert len(checked_hosts) == lms_hosts.CHECKED_HOSTS_MAX


def test_a_forwarded_host_is_read_as_django_reads_it(rf, settings, checked_hosts):
    settings.ALLOWED_HOSTS = ["lms.example.org", "proxy.internal"]
    settings.USE_X_FORWARDED_HOST = True
    request = rf.get("/", HTTP_HOST="proxy.internal", HTTP_X_FORWARDED_HOST="lms.example.org")

    assert rendering._request_host(request) == "lms.example.org"
    assert checked_hosts == {}


def test_the_production_handlers_requests_remember_the_check_too(settings, checked_hosts):
    # CommonMiddleware asks every request for its host: through `LmsWSGIRequest` the same memo answers.
    from django.core.exceptions import DisallowedHost
    from django.test import RequestFactory

    from lms.api.handler import LmsWSGIRequest

    settings.ALLOWED_HOSTS = ["lms.example.org"]
    environ = RequestFactory(HTTP_HOST="lms.example.org").get("/").environ
    request = LmsWSGIRequest(environ)
    assert request.get_host() == "lms.example.org"
    assert list(checked_hosts) == ["lms.example.org"]
    assert rendering._request_host(request) == "lms.example.org"

    refused = LmsWSGIRequest(RequestFactory(HTTP_HOST="evil.example").get("/").environ)
    with pytest.raises(DisallowedHost):
        refused.get_host()
    assert list(checked_hosts) == ["lms.example.org"]


# --- the cached 200 as a plain response of the renderer's bytes (seventh pass) ---------------------


def _through_drf(monkeypatch):
    """The read as it answered before the seventh pass: DRF's Response around the cached bytes."""
    from rest_framework.response import Response

    from lms.api.envelope import PreRenderedJSON

    monkeypatch.setattr(views, "pre_rendered_ok", lambda request, view, encoded: Response(PreRenderedJSON(encoded)))


def _volatile_free(response) -> tuple:
    body = response.content
    for name in (b"ts", b"resmsgid"):
        start = body.index(b'"' + name + b'":"') + len(name) + 4
        body = body[:start] + body[body.index(b'"', start):]
    headers = [(name, value) for name, value in response.items() if name != "X-Request-Id"]
    return response.status_code, headers, body


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("who", ["learner", "admin"])
def test_a_cached_200_is_a_plain_response_with_drfs_bytes_and_headers(
    learner_client, admin_client, course, read, who, monkeypatch
):
    from rest_framework.response import Response

    client = learner_client if who == "learner" else admin_client
    path = read.format(course.pk)
    client.get(path)  # renders and caches the body
    fast = client.get(path)
    assert not isinstance(fast, Response)  # no SimpleTemplateResponse built and rendered per request
    _through_drf(monkeypatch)
    slow = client.get(path)
    assert isinstance(slow, Response)
    assert _volatile_free(fast) == _volatile_free(slow)
    assert fast["Content-Type"] == "application/json; charset=utf-8"
    assert fast["Content-Length"] == str(len(fast.content))


@pytest.mark.parametrize("read", READS)
def test_an_indented_accept_still_goes_through_drfs_renderer(learner_client, course, read):
    path = read.format(course.pk)
    learner_client.get(path)
    response = learner_client.get(path, HTTP_ACCEPT="application/json; indent=4")
    assert response.status_code == 200
    assert b'\n    "result": {' in response.content  # indented, as DRF renders it
    assert response.json()["result"]["courseId"] == str(course.pk)
