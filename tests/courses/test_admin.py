"""The authors' admin, driven through Django's test client as a logged-in superuser.

Every save goes through the services, so the checks here are the services' outcomes: dense
ordering, archive cascades, created_by from the staff account, image verification.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from courses.models import ContentStatus, Course, Lesson, LessonPlacement, Module
from courses.signals import course_content_changed
from lms.api.identity import staff_user_uuid
from tests.courses.conftest import bomb_png, image_file
from tests.factories import CourseFactory, LessonFactory, build_course

PASSWORD = "a-long-admin-password"


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.invalid", PASSWORD)


@pytest.fixture
def staff(client, superuser):
    assert client.login(username="root", password=PASSWORD)
    return client


def _management(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _course_form(tenant, **overrides) -> dict:
    data = {
        "tenant": str(tenant.pk),
        "title": "Admin-made course",
        "short_description": "Short",
        "description": "Long",
        "free": "on",
        "certificate_term": "COMPLETE_ALL",
        "certificate_id": "",
        "start_datetime_0": "2024-03-20",
        "start_datetime_1": "00:00:00",
        "end_datetime_0": "2024-12-31",
        "end_datetime_1": "23:59:59",
        "status": "published",
        "params": "{}",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def _errors(response) -> str:
    context = response.context
    if context is None:
        return ""
    messages = [str(context["adminform"].form.errors)] if "adminform" in context else []
    messages += [str(inline.formset.errors) for inline in context.get("inline_admin_formsets", [])]
    return " ".join(messages)


def test_create_course_with_modules_inline(staff, superuser, tenant):
    data = {
        **_course_form(tenant, image=image_file()),
        **_management("modules", 3, 0),
        "modules-0-title": "Welcome",
        "modules-0-description": "First",
        "modules-0-status": "published",
        "modules-0-ordering": "",
        "modules-1-title": "Basics",
        "modules-1-description": "Second",
        "modules-1-status": "unpublished",
        "modules-1-ordering": "",
        "modules-2-title": "Inserted first",
        "modules-2-description": "Third",
        "modules-2-status": "published",
        "modules-2-ordering": "1",
    }
    response = staff.post("/admin/courses/course/add/", data)
    assert response.status_code == 302, _errors(response)
    course = Course.objects.get()
    assert course.created_by == staff_user_uuid(superuser.pk)
    assert course.status == ContentStatus.PUBLISHED and course.image.name.endswith(".png")
    modules = list(course.modules.order_by("ordering").values_list("title", "ordering", "tenant_id"))
    assert modules == [("Inserted first", 1, tenant.pk), ("Welcome", 2, tenant.pk), ("Basics", 3, tenant.pk)]
    assert all(module.created_by == staff_user_uuid(superuser.pk) for module in course.modules.all())
    change_page = staff.get(f"/admin/courses/course/{course.pk}/change/")
    assert change_page.status_code == 200
    assert b"<img src=" in change_page.content and b"Enrollment rules" in change_page.content


def test_reordering_modules_inline_moves_them_through_the_service(staff, tenant):
    course = build_course(tenant=tenant, modules=3, lessons_per_module=0)
    first, second, third = course.modules.order_by("ordering")
    data = {
        **_course_form(tenant, title=course.title),
        **_management("modules", 3, 3),
    }
    for index, module in enumerate((first, second, third)):
        data.update(
            {
                f"modules-{index}-id": str(module.pk),
                f"modules-{index}-course": str(course.pk),
                f"modules-{index}-title": module.title,
                f"modules-{index}-description": module.description,
                f"modules-{index}-status": module.status,
                f"modules-{index}-ordering": str(module.ordering),
            }
        )
    data["modules-2-ordering"] = "1"
    data["modules-0-status"] = "archived"
    data.pop("tenant")
    response = staff.post(f"/admin/courses/course/{course.pk}/change/", data)
    assert response.status_code == 302, _errors(response)
    live = list(
        Module.objects.filter(course=course).exclude(status=ContentStatus.ARCHIVED).order_by("ordering").values_list("pk", "ordering")
    )
    assert live == [(third.pk, 1), (second.pk, 2)]


def test_admin_rejects_bombs_and_bad_schedules(staff, tenant):
    # 49 megapixels: under Pillow's own limit, over ours; the admin runs the API's checks.
    bomb = bomb_png(7000, 7000)
    response = staff.post("/admin/courses/course/add/", {**_course_form(tenant, image=bomb), **_management("modules", 0, 0)})
    assert response.status_code == 200 and "megapixels" in _errors(response)
    response = staff.post("/admin/courses/course/add/", {**_course_form(tenant, image=bomb_png()), **_management("modules", 0, 0)})
    assert response.status_code == 200 and "image" in response.context["adminform"].form.errors
    response = staff.post(
        "/admin/courses/course/add/",
        {**_course_form(tenant, end_datetime_0="2024-01-01"), **_management("modules", 0, 0)},
    )
    assert response.status_code == 200
    assert not Course.objects.exists()


def _action(staff, model: str, action: str, objects) -> None:
    response = staff.post(
        f"/admin/courses/{model}/",
        {"action": action, "_selected_action": [str(obj.pk) for obj in objects], "index": "0"},
    )
    assert response.status_code == 302


def test_course_actions(staff, superuser, tenant):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=2, status=ContentStatus.UNPUBLISHED)
    announced = []
    course_content_changed.connect(lambda sender, course_id, **kw: announced.append(course_id), weak=False, dispatch_uid="t-admin")
    try:
        _action(staff, "course", "publish", [course])
        course.refresh_from_db()
        assert course.status == ContentStatus.PUBLISHED and course.updated_by == staff_user_uuid(superuser.pk)
        _action(staff, "course", "unpublish", [course])
        course.refresh_from_db()
        assert course.status == ContentStatus.UNPUBLISHED
        _action(staff, "course", "archive", [course])
        course.refresh_from_db()
        assert course.status == ContentStatus.ARCHIVED
        assert not LessonPlacement.objects.filter(course=course, archived=False).exists()
        _action(staff, "course", "restore", [course])
        course.refresh_from_db()
        assert course.status == ContentStatus.UNPUBLISHED
        assert LessonPlacement.objects.filter(course=course, archived=False).count() == 4
    finally:
        course_content_changed.disconnect(dispatch_uid="t-admin")
    assert announced == [course.pk, course.pk]  # archive and restore change the required lessons
    _action(staff, "course", "duplicate", [course])
    copy = Course.objects.exclude(pk=course.pk).get()
    assert copy.status == ContentStatus.UNPUBLISHED and copy.modules.count() == 2
    assert LessonPlacement.objects.filter(course=copy).count() == 4


def test_archived_courses_stay_listed_and_filterable(staff, tenant):
    CourseFactory(tenant=tenant, status=ContentStatus.ARCHIVED, title="Old one")
    CourseFactory(tenant=tenant, title="Live one")
    assert b"Old one" in staff.get("/admin/courses/course/").content
    archived_only = staff.get("/admin/courses/course/", {"archived": "yes"}).content
    assert b"Old one" in archived_only and b"Live one" not in archived_only
    assert b"Live one" in staff.get("/admin/courses/course/", {"q": "Live"}).content
    assert staff.get("/admin/courses/course/", {"featured__exact": "1"}).status_code == 200
    assert staff.get("/admin/courses/course/", {"free__exact": "0"}).status_code == 200


def test_no_delete_in_the_admin(staff, tenant):
    course = CourseFactory(tenant=tenant)
    assert staff.get(f"/admin/courses/course/{course.pk}/delete/").status_code == 403
    assert b"delete_selected" not in staff.get("/admin/courses/course/").content


@pytest.mark.parametrize("model", ["course", "module", "lesson"])
def test_changelist_query_count_does_not_grow(staff, tenant, model):
    def queries_after_adding(n_courses):
        for _ in range(n_courses):
            build_course(tenant=tenant, modules=2, lessons_per_module=2)
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(f"/admin/courses/{model}/").status_code == 200
        return len(queries)

    # Annotated counts and list_select_related: rows add no queries.
    assert queries_after_adding(2) == queries_after_adding(18)


def test_module_admin_places_moves_and_archives_lessons(staff, tenant, other_tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
    module = course.modules.get()
    existing = list(module.placements.order_by("ordering"))
    new_lesson = LessonFactory(tenant=tenant, title="Placed by admin")
    change_page = staff.get(f"/admin/courses/module/{module.pk}/change/")
    assert change_page.status_code == 200
    offered = change_page.context["inline_admin_formsets"][0].formset.forms[0].fields["lesson"].queryset
    assert not offered.filter(tenant=other_tenant).exists()
    data = {
        "title": module.title,
        "description": module.description,
        "status": module.status,
        "ordering": str(module.ordering),
        **_management("placements", 3, 2),
        "placements-0-id": str(existing[0].pk),
        "placements-0-module": str(module.pk),
        "placements-0-lesson": str(existing[0].lesson_id),
        "placements-0-ordering": "1",
        "placements-0-archived": "on",
        "placements-1-id": str(existing[1].pk),
        "placements-1-module": str(module.pk),
        "placements-1-lesson": str(existing[1].lesson_id),
        "placements-1-ordering": "2",
        "placements-2-module": str(module.pk),
        "placements-2-lesson": str(new_lesson.pk),
        "placements-2-ordering": "1",
        "_save": "Save",
    }
    response = staff.post(f"/admin/courses/module/{module.pk}/change/", data)
    assert response.status_code == 302, _errors(response)
    live = list(LessonPlacement.objects.filter(module=module, archived=False).order_by("ordering").values_list("lesson__title", "ordering"))
    assert live == [("Placed by admin", 1), (existing[1].lesson.title, 2)]


def test_module_actions(staff, tenant):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=1)
    first, second = course.modules.order_by("ordering")
    _action(staff, "module", "unpublish", [first])
    first.refresh_from_db()
    assert first.status == ContentStatus.UNPUBLISHED
    _action(staff, "module", "publish", [first])
    _action(staff, "module", "archive", [first])
    second.refresh_from_db()
    assert second.ordering == 1
    _action(staff, "module", "restore", [first])
    first.refresh_from_db()
    assert first.status == ContentStatus.PUBLISHED and first.ordering == 2


def test_lesson_admin_creates_lesson_with_media(staff, superuser, tenant):
    data = {
        "tenant": str(tenant.pk),
        "title": "Admin lesson",
        "alias": "",
        "short_desc": "",
        "description": "Described",
        "content": "",
        "format": "",
        "media_format": "video",
        "media_sub_format": "video.youtube.url",
        "media_source": "https://youtube.com/x",
        "media_url": "",
        "media_params": '{"start": 5}',
        "no_of_attempts": "2",
        "attempts_grade": "highest",
        "total_marks": "10",
        "passing_marks": "6",
        "eligibility_criteria": "[]",
        "status": "published",
        "storage": "",
        "params": "{}",
        "image": image_file("WEBP", name="x.webp"),
        **_management("placements", 0, 0),
        "_save": "Save",
    }
    response = staff.post("/admin/courses/lesson/add/", data)
    assert response.status_code == 302, _errors(response)
    lesson = Lesson.objects.get()
    assert lesson.created_by == staff_user_uuid(superuser.pk)
    assert lesson.format == "video" and lesson.image.name.endswith(".webp")
    assert lesson.media.url == "https://youtube.com/x" and lesson.media.params == {"start": 5}
    change_page = staff.get(f"/admin/courses/lesson/{lesson.pk}/change/")
    assert b"video.youtube.url" in change_page.content


def test_lesson_admin_reports_service_rules_on_the_form(staff, tenant):
    lesson = LessonFactory(tenant=tenant)
    data = {
        "title": lesson.title,
        "description": lesson.description,
        "no_of_attempts": "0",
        "attempts_grade": "highest",
        "total_marks": "5",
        "passing_marks": "6",
        "eligibility_criteria": "[]",
        "status": "published",
        "params": "{}",
        **_management("placements", 0, 0),
        "_save": "Save",
    }
    response = staff.post(f"/admin/courses/lesson/{lesson.pk}/change/", data)
    assert response.status_code == 200 and "passingMarks cannot exceed totalMarks" in _errors(response)


def test_lesson_actions(staff, tenant):
    lesson = LessonFactory(tenant=tenant)
    _action(staff, "lesson", "unpublish", [lesson])
    lesson.refresh_from_db()
    assert lesson.status == ContentStatus.UNPUBLISHED
    _action(staff, "lesson", "publish", [lesson])
    _action(staff, "lesson", "archive", [lesson])
    lesson.refresh_from_db()
    assert lesson.status == ContentStatus.ARCHIVED
    _action(staff, "lesson", "restore", [lesson])
    lesson.refresh_from_db()
    assert lesson.status == ContentStatus.PUBLISHED


@pytest.mark.parametrize("page", ["course/add/", "module/add/", "lesson/add/", "media/"])
def test_authoring_pages_render(staff, tenant, page):
    build_course(tenant=tenant, modules=1, lessons_per_module=1)
    assert staff.get(f"/admin/courses/{page}").status_code == 200
