"""POST/GET/PUT/DELETE /modules and GET /modules/course/:courseId."""

from __future__ import annotations

import uuid

import pytest

from courses.models import ContentStatus, Module
from tests.courses.conftest import failed, image_file, ok
from tests.factories import CourseFactory, ModuleFactory


def _module_body(course, **extra):
    return {"title": "Module", "description": "About it", "courseId": str(course.pk), **extra}


def test_create_appends_with_dense_ordering(admin_client, course):
    first = ok(admin_client.post("/modules", _module_body(course), format="json"), 201)
    second = ok(admin_client.post("/modules", _module_body(course, image=image_file()), format="multipart"), 201)
    assert (first["ordering"], second["ordering"]) == (1, 2)
    assert first["courseId"] == str(course.pk) and first["tenantId"] == str(course.tenant_id)
    assert first["status"] == "unpublished" and first["createdBy"] == str(admin_client.user_id)
    assert second["image"].startswith("http://testserver/media/modules/")
    assert admin_client.post("/modules", _module_body(course)).json()["id"] == "api.module.create"


def test_create_at_a_position_shifts_the_followers(admin_client, course):
    for _ in range(3):
        ok(admin_client.post("/modules", _module_body(course), format="json"), 201)
    inserted = ok(admin_client.post("/modules", _module_body(course, ordering=2, title="Inserted"), format="json"), 201)
    assert inserted["ordering"] == 2
    orderings = list(Module.objects.filter(course=course).order_by("ordering").values_list("title", "ordering"))
    assert orderings == [("Module", 1), ("Inserted", 2), ("Module", 3), ("Module", 4)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"courseId": "nope"}, "courseId"),
        ({"status": "1"}, "status"),
        ({"ordering": 0}, "ordering"),
        ({"title": ""}, "title"),
    ],
)
def test_create_rejects_bad_input(admin_client, course, change, field):
    body = failed(admin_client.post("/modules", _module_body(course, **change), format="json"), 400, "ERR_VALIDATION")
    assert field in body["result"]["errors"]


def test_create_in_unknown_archived_or_other_tenants_course_is_404(admin_client, other_admin_client, course, tenant):
    archived = CourseFactory(tenant=tenant, status=ContentStatus.ARCHIVED)
    failed(admin_client.post("/modules", _module_body(archived), format="json"), 404)
    failed(admin_client.post("/modules", {**_module_body(course), "courseId": str(uuid.uuid4())}, format="json"), 404)
    failed(other_admin_client.post("/modules", _module_body(course), format="json"), 404)
    assert not Module.objects.exists()


def test_learner_cannot_write_modules(learner_client, module):
    failed(learner_client.post("/modules", _module_body(module.course), format="json"), 403)
    failed(learner_client.put(f"/modules/{module.pk}", {"title": "x"}, format="json"), 403)
    failed(learner_client.delete(f"/modules/{module.pk}"), 403)


def test_get_module_and_visibility(admin_client, learner_client, other_admin_client, module, tenant):
    result = ok(admin_client.get(f"/modules/{module.pk}"))
    assert result["moduleId"] == str(module.pk) and result["ordering"] == 1
    ok(learner_client.get(f"/modules/{module.pk}"))
    draft = ModuleFactory(course=module.course, tenant=tenant, status=ContentStatus.UNPUBLISHED)
    failed(learner_client.get(f"/modules/{draft.pk}"), 404)
    ok(admin_client.get(f"/modules/{draft.pk}"))
    in_draft_course = ModuleFactory(course=CourseFactory(tenant=tenant, status=ContentStatus.UNPUBLISHED), tenant=tenant)
    failed(learner_client.get(f"/modules/{in_draft_course.pk}"), 404)
    failed(other_admin_client.get(f"/modules/{module.pk}"), 404)


def test_modules_by_course_is_an_ordered_array(admin_client, learner_client, course, tenant):
    ModuleFactory(course=course, tenant=tenant, ordering=2, title="B")
    ModuleFactory(course=course, tenant=tenant, ordering=1, title="A")
    ModuleFactory(course=course, tenant=tenant, ordering=3, title="Draft", status=ContentStatus.UNPUBLISHED)
    ModuleFactory(course=course, tenant=tenant, ordering=4, title="Gone", status=ContentStatus.ARCHIVED)
    response = learner_client.get(f"/modules/course/{course.pk}")
    assert [m["title"] for m in ok(response)] == ["A", "B"]
    assert response["X-Total-Count"] == "2"
    assert response.json()["id"] == "api.module.list"
    assert [m["title"] for m in ok(admin_client.get(f"/modules/course/{course.pk}"))] == ["A", "B", "Draft"]
    page = admin_client.get(f"/modules/course/{course.pk}", {"limit": 1, "page": 2})
    assert [m["title"] for m in ok(page)] == ["B"] and page["X-Total-Count"] == "3"


def test_modules_by_course_hidden_course_is_404(learner_client, other_admin_client, draft_course, course):
    failed(learner_client.get(f"/modules/course/{draft_course.pk}"), 404)
    failed(other_admin_client.get(f"/modules/course/{course.pk}"), 404)


def test_update_moves_and_renames(admin_client, course, tenant):
    modules = [ModuleFactory(course=course, tenant=tenant, ordering=n) for n in (1, 2, 3, 4)]
    result = ok(admin_client.put(f"/modules/{modules[3].pk}", {"ordering": "1", "title": "Now first"}, format="multipart"))
    assert result["ordering"] == 1 and result["title"] == "Now first"
    assert result["updatedBy"] == str(admin_client.user_id)
    order = list(Module.objects.filter(course=course).order_by("ordering").values_list("pk", flat=True))
    assert order == [modules[3].pk, modules[0].pk, modules[1].pk, modules[2].pk]


def test_update_refuses_moving_to_another_course(admin_client, module, tenant, other_admin_client):
    other = CourseFactory(tenant=tenant)
    body = failed(admin_client.put(f"/modules/{module.pk}", {"courseId": str(other.pk)}, format="json"), 400)
    assert "courseId" in body["result"]["errors"]
    ok(admin_client.put(f"/modules/{module.pk}", {"courseId": str(module.course_id)}, format="json"))
    failed(other_admin_client.put(f"/modules/{module.pk}", {"title": "x"}, format="json"), 404)


def test_delete_archives_and_closes_the_gap(admin_client, course, tenant):
    modules = [ModuleFactory(course=course, tenant=tenant, ordering=n) for n in (1, 2, 3)]
    response = admin_client.delete(f"/modules/{modules[0].pk}")
    assert ok(response) is None and response.json()["id"] == "api.module.delete"
    modules[0].refresh_from_db()
    assert modules[0].status == ContentStatus.ARCHIVED
    assert [m["ordering"] for m in ok(admin_client.get(f"/modules/course/{course.pk}"))] == [1, 2]
    failed(admin_client.get(f"/modules/{modules[0].pk}"), 404)
    failed(admin_client.put(f"/modules/{modules[0].pk}", {"title": "x"}), 404)
    failed(admin_client.delete(f"/modules/{modules[0].pk}"), 404)
    failed(admin_client.get(f"/lessons/module/{modules[0].pk}"), 404)
