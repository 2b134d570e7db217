"""POST/GET/PUT/DELETE /lessons, the by-module and by-course lists, and POST /courses/lessons."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from courses.models import ContentStatus, Lesson, LessonPlacement, Media
from tests.courses.conftest import failed, image_file, ok
from tests.factories import CourseFactory, LessonFactory, ModuleFactory, PlacementFactory, build_course

LESSON_BODY = {"title": "Intro video", "description": "Watch this first"}


def test_create_multipart_with_bracketed_media_and_placement(admin_client, module, lesson):
    body = {
        **LESSON_BODY,
        "courseId": str(module.course_id),
        "moduleId": str(module.pk),
        "status": "published",
        "duration": "60",
        "startDate": "2024-03-20T00:00:00Z",
        "endDate": "2024-12-31T23:59:59Z",
        "storage": "local",
        "freeLesson": "yes",
        "noOfAttempts": "3",
        "attemptsGrade": "average",
        "considerMarks": "1",
        "eligibilityCriteria": str(lesson.pk),
        "idealTime": "45",
        "resume": "true",
        "totalMarks": "100",
        "passingMarks": "60",
        "inLib": "false",
        "alias": "intro",
        "shortDesc": "Short",
        "content": "Body",
        "params": "{}",
        "image": image_file(),
        "mediaContent[format]": "video",
        "mediaContent[sub_format]": "video.youtube.url",
        "mediaContent[source]": "https://youtube.com/wQdsmn",
        "mediaContent[params][quality]": "hd",
    }
    result = ok(admin_client.post("/lessons", body, format="multipart"), 201)
    assert result["moduleId"] == str(module.pk) and result["courseId"] == str(module.course_id)
    assert result["ordering"] == 1
    assert result["freeLesson"] is True and result["considerMarks"] is True and result["resume"] is True
    assert result["inLib"] is False
    assert result["noOfAttempts"] == 3 and result["idealTime"] == 45 and result["duration"] == 60
    assert result["totalMarks"] == 100 and result["passingMarks"] == 60
    assert result["attemptsGrade"] == "average"
    assert result["eligibilityCriteria"] == [str(lesson.pk)]
    assert result["params"] == {} and result["alias"] == "intro" and result["shortDesc"] == "Short"
    assert result["format"] == "video"
    media = result["mediaContent"]
    assert media == {
        "url": "https://youtube.com/wQdsmn",
        "format": "video",
        "sub_format": "video.youtube.url",
        "source": "https://youtube.com/wQdsmn",
        "params": {"quality": "hd"},
    }
    assert Media.objects.get(pk=result["mediaId"]).tenant_id == module.tenant_id
    assert result["image"].startswith("http://testserver/media/lessons/")
    assert result["createdBy"] == str(admin_client.user_id)


def test_create_with_media_content_as_json_string_and_no_placement(admin_client):
    media = {"format": "pdf", "source": "https://x/y.pdf", "url": "https://cdn/y.pdf"}
    result = ok(
        admin_client.post("/lessons", {**LESSON_BODY, "mediaContent": json.dumps(media), "inLib": "yes"}, format="multipart"),
        201,
    )
    assert result["mediaContent"]["url"] == "https://cdn/y.pdf"
    assert result["courseId"] is None and result["moduleId"] is None and result["ordering"] is None
    assert result["inLib"] is True and result["format"] == "pdf"


def test_create_json_body_with_nested_media_and_id_list(admin_client, lesson):
    other = LessonFactory(tenant=lesson.tenant)
    result = ok(
        admin_client.post(
            "/lessons",
            {**LESSON_BODY, "mediaContent": {"format": "video"}, "eligibilityCriteria": [str(lesson.pk), str(other.pk)]},
            format="json",
        ),
        201,
    )
    assert result["eligibilityCriteria"] == [str(lesson.pk), str(other.pk)]


def test_media_id_links_an_existing_media_record(admin_client, tenant):
    media = Media.objects.create(tenant=tenant, format="audio", source="s", url="u")
    result = ok(admin_client.post("/lessons", {**LESSON_BODY, "mediaId": str(media.pk)}, format="json"), 201)
    assert result["mediaId"] == str(media.pk) and result["mediaContent"]["format"] == "audio"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"attemptsGrade": "best"}, "attemptsGrade"),
        ({"noOfAttempts": "-1"}, "noOfAttempts"),
        ({"startDate": "2024-03-20T00:00:00"}, "startDate"),
        ({"startDate": "2024-03-21T00:00:00Z", "endDate": "2024-03-20T00:00:00Z"}, "endDate"),
        ({"params": "{oops"}, "params"),
        ({"mediaContent": "{oops"}, "mediaContent"),
        ({"eligibilityCriteria": "not-a-uuid"}, "eligibilityCriteria.0"),
        ({"eligibilityCriteria": str(uuid.uuid4())}, "eligibilityCriteria"),
        ({"totalMarks": "10", "passingMarks": "20"}, "passingMarks"),
        ({"courseId": str(uuid.uuid4())}, None),
        ({"mediaId": str(uuid.uuid4())}, None),
        ({"status": "archived"}, "status"),
    ],
)
def test_create_rejects_bad_input_and_writes_nothing(admin_client, change, field):
    response = admin_client.post("/lessons", {**LESSON_BODY, **change}, format="multipart")
    assert response.status_code in (400, 404)
    body = failed(response, response.status_code)
    if field is not None:
        assert field in body["result"]["errors"], body
    assert not Lesson.objects.exists() and not Media.objects.exists()


def test_course_id_without_module_id_is_400(admin_client, course):
    body = failed(admin_client.post("/lessons", {**LESSON_BODY, "courseId": str(course.pk)}), 400)
    assert "moduleId" in body["result"]["errors"]


def test_module_of_another_course_is_400(admin_client, module, tenant):
    other_course = CourseFactory(tenant=tenant)
    body = failed(
        admin_client.post("/lessons", {**LESSON_BODY, "courseId": str(other_course.pk), "moduleId": str(module.pk)}),
        400,
        "ERR_MODULE_NOT_IN_COURSE",
    )
    assert "moduleId" in body["result"]["errors"]
    assert not Lesson.objects.exists()


def test_learner_cannot_write_lessons(learner_client, lesson, module):
    failed(learner_client.post("/lessons", LESSON_BODY), 403)
    failed(learner_client.put(f"/lessons/{lesson.pk}", {"title": "x"}), 403)
    failed(learner_client.delete(f"/lessons/{lesson.pk}"), 403)
    failed(
        learner_client.post(
            "/courses/lessons",
            {"courseId": str(module.course_id), "moduleId": str(module.pk), "lessonId": str(lesson.pk)},
            format="json",
        ),
        403,
    )


# --- reads ------------------------------------------------------------------------------------


def test_get_lesson_with_placements(admin_client, tenant, placement):
    second = PlacementFactory(
        module=ModuleFactory(course=CourseFactory(tenant=tenant), tenant=tenant),
        tenant=tenant,
        lesson=placement.lesson,
    )
    response = admin_client.get(f"/lessons/{placement.lesson_id}")
    result = ok(response)
    assert response.json()["id"] == "api.lesson.get"
    assert result["courseId"] == str(placement.course_id) and result["moduleId"] == str(placement.module_id)
    assert [p["placementId"] for p in result["placements"]] == [str(placement.pk), str(second.pk)]
    assert result["placements"][1] == {
        "placementId": str(second.pk),
        "courseId": str(second.course_id),
        "moduleId": str(second.module_id),
        "ordering": second.ordering,
    }


def test_lesson_visibility(learner_client, admin_client, other_admin_client, tenant):
    draft = LessonFactory(tenant=tenant, status=ContentStatus.UNPUBLISHED)
    archived = LessonFactory(tenant=tenant, status=ContentStatus.ARCHIVED)
    published = LessonFactory(tenant=tenant)
    failed(learner_client.get(f"/lessons/{draft.pk}"), 404)
    ok(admin_client.get(f"/lessons/{draft.pk}"))
    failed(admin_client.get(f"/lessons/{archived.pk}"), 404)
    ok(learner_client.get(f"/lessons/{published.pk}"))
    failed(other_admin_client.get(f"/lessons/{published.pk}"), 404)


def _listed(client, **query) -> tuple[list, int]:
    response = client.get("/lessons", query)
    return ok(response), int(response["X-Total-Count"])


def test_list_lessons_filters_and_pagination(admin_client, learner_client, tenant, other_tenant, placement):
    LessonFactory.create_batch(2, tenant=tenant, format="pdf", in_lib=True)
    LessonFactory(tenant=tenant, status=ContentStatus.UNPUBLISHED)
    LessonFactory(tenant=tenant, status=ContentStatus.ARCHIVED)
    LessonFactory(tenant=other_tenant)
    response = admin_client.get("/lessons")
    result = ok(response)
    assert response.json()["id"] == "api.lesson.list"
    assert isinstance(result, list) and len(result) == 4 and response["X-Total-Count"] == "4"
    assert len(_listed(learner_client)[0]) == 3
    assert _listed(admin_client, format="pdf")[1] == 2
    assert _listed(admin_client, inLib="true")[1] == 2
    assert _listed(admin_client, status="unpublished")[1] == 1
    by_course, total = _listed(admin_client, courseId=str(placement.course_id))
    assert total == 1 and by_course[0]["moduleId"] == str(placement.module_id)
    assert _listed(admin_client, moduleId=str(placement.module_id))[1] == 1
    assert _listed(admin_client, moduleId=str(uuid.uuid4())) == ([], 0)
    page, total = _listed(admin_client, limit=3)
    assert len(page) == 3 and total == 4
    page, total = _listed(admin_client, limit=3, page=2)
    assert len(page) == 1 and total == 4
    failed(admin_client.get("/lessons", {"courseId": "x"}), 400)
    failed(admin_client.get("/lessons", {"inLib": "perhaps"}), 400)
    failed(admin_client.get("/lessons", {"limit": "101"}), 400)


def test_list_lessons_is_newest_first_with_or_without_filters(admin_client, tenant, module):
    lessons = LessonFactory.create_batch(3, tenant=tenant)
    base = dt.datetime(2024, 3, 20, tzinfo=dt.UTC)
    # Placed in the reverse of their age, so the order cannot come from the placements.
    for days, lesson in enumerate(lessons):
        Lesson.objects.filter(pk=lesson.pk).update(created_at=base + dt.timedelta(days=days))
        PlacementFactory(module=module, course=module.course, tenant=tenant, lesson=lesson, ordering=3 - days)
    newest_first = [str(lesson.pk) for lesson in reversed(lessons)]
    assert [row["lessonId"] for row in _listed(admin_client)[0]] == newest_first
    in_module = _listed(admin_client, moduleId=str(module.pk))[0]
    assert [row["lessonId"] for row in in_module] == newest_first
    assert [row["ordering"] for row in in_module] == [1, 2, 3]


def test_lessons_by_module_and_course_are_ordered_arrays(learner_client, admin_client, tenant):
    course = CourseFactory(tenant=tenant)
    second_module = ModuleFactory(course=course, tenant=tenant, ordering=2)
    first_module = ModuleFactory(course=course, tenant=tenant, ordering=1)
    c = PlacementFactory(module=second_module, course=course, tenant=tenant, ordering=1)
    b = PlacementFactory(module=first_module, course=course, tenant=tenant, ordering=2)
    a = PlacementFactory(module=first_module, course=course, tenant=tenant, ordering=1)
    PlacementFactory(module=first_module, course=course, tenant=tenant, ordering=3, lesson__status=ContentStatus.UNPUBLISHED)
    by_module = learner_client.get(f"/lessons/module/{first_module.pk}")
    assert [row["lessonId"] for row in ok(by_module)] == [str(a.lesson_id), str(b.lesson_id)]
    assert by_module["X-Total-Count"] == "2"
    assert len(ok(admin_client.get(f"/lessons/module/{first_module.pk}"))) == 3
    by_course = ok(learner_client.get(f"/lessons/course/{course.pk}"))
    assert [row["lessonId"] for row in by_course] == [str(a.lesson_id), str(b.lesson_id), str(c.lesson_id)]
    assert by_course[2]["moduleId"] == str(second_module.pk) and by_course[2]["ordering"] == 1


def test_lists_by_hidden_or_foreign_parent_are_404(learner_client, other_admin_client, tenant, module):
    draft_module = ModuleFactory(course=module.course, tenant=tenant, status=ContentStatus.UNPUBLISHED)
    draft_course = CourseFactory(tenant=tenant, status=ContentStatus.UNPUBLISHED)
    failed(learner_client.get(f"/lessons/module/{draft_module.pk}"), 404)
    failed(learner_client.get(f"/lessons/course/{draft_course.pk}"), 404)
    failed(other_admin_client.get(f"/lessons/module/{module.pk}"), 404)
    failed(other_admin_client.get(f"/lessons/course/{module.course_id}"), 404)


# --- update -----------------------------------------------------------------------------------


def test_update_fields_media_and_image(admin_client, lesson):
    result = ok(
        admin_client.put(
            f"/lessons/{lesson.pk}",
            {
                "title": "Renamed",
                "freeLesson": "no",
                "noOfAttempts": "5",
                "inLib": "true",
                "mediaContent[format]": "document",
                "mediaContent[source]": "https://x/doc",
                "image": image_file("GIF", name="a.gif"),
                "videoUrl": "ignored",
            },
            format="multipart",
        )
    )
    assert result["title"] == "Renamed" and result["freeLesson"] is False and result["noOfAttempts"] == 5
    assert result["inLib"] is True and result["mediaContent"]["format"] == "document"
    assert result["image"].endswith(".gif")
    assert result["updatedBy"] == str(admin_client.user_id)
    media_id = result["mediaId"]
    again = ok(admin_client.put(f"/lessons/{lesson.pk}", {"mediaContent": {"sub_format": "pdf"}}, format="json"))
    assert again["mediaId"] == media_id and again["mediaContent"]["sub_format"] == "pdf"
    assert again["mediaContent"]["format"] == "document"


def test_update_moves_placement_within_module(admin_client, module, tenant):
    placements = [PlacementFactory(module=module, course=module.course, tenant=tenant, ordering=n) for n in (1, 2, 3)]
    lesson_id = placements[2].lesson_id
    result = ok(admin_client.put(f"/lessons/{lesson_id}", {"ordering": 1}, format="json"))
    assert result["ordering"] == 1 and result["moduleId"] == str(module.pk)
    assert [row["lessonId"] for row in ok(admin_client.get(f"/lessons/module/{module.pk}"))] == [
        str(placements[2].lesson_id),
        str(placements[0].lesson_id),
        str(placements[1].lesson_id),
    ]


def test_update_with_module_id_places_the_lesson(admin_client, lesson, module):
    result = ok(admin_client.put(f"/lessons/{lesson.pk}", {"moduleId": str(module.pk)}, format="json"))
    assert result["moduleId"] == str(module.pk) and result["courseId"] == str(module.course_id)
    assert LessonPlacement.objects.filter(lesson=lesson, module=module).exists()


def test_json_empty_string_for_an_id_or_number_is_a_400_not_a_null(admin_client, lesson):
    # The schema says uuid-or-null; only multipart (which has no null) reads "" as null.
    body = failed(admin_client.put(f"/lessons/{lesson.pk}", {"moduleId": "", "totalMarks": 14}, format="json"), 400)
    assert "moduleId" in body["result"]["errors"]
    lesson.refresh_from_db()
    assert lesson.total_marks != 14
    failed(admin_client.put(f"/lessons/{lesson.pk}", {"idealTime": ""}, format="json"), 400)


def test_multipart_empty_string_clears_a_nullable_field(admin_client, lesson):
    ok(admin_client.put(f"/lessons/{lesson.pk}", {"idealTime": "5"}, format="multipart"))
    result = ok(admin_client.put(f"/lessons/{lesson.pk}", {"idealTime": "", "moduleId": ""}, format="multipart"))
    assert result["idealTime"] is None
    lesson.refresh_from_db()
    assert lesson.ideal_time is None


def test_update_ordering_needs_a_placement_to_name(admin_client, lesson, tenant):
    failed(admin_client.put(f"/lessons/{lesson.pk}", {"ordering": 2}, format="json"), 400)
    for _ in range(2):
        PlacementFactory(tenant=tenant, lesson=lesson, module=ModuleFactory(course=CourseFactory(tenant=tenant), tenant=tenant))
    body = failed(admin_client.put(f"/lessons/{lesson.pk}", {"ordering": 2}, format="json"), 400)
    assert "moduleId" in body["result"]["errors"]


def test_update_other_tenant_is_404(other_admin_client, lesson):
    failed(other_admin_client.put(f"/lessons/{lesson.pk}", {"title": "Stolen"}, format="json"), 404)
    lesson.refresh_from_db()
    assert lesson.title != "Stolen"


def test_update_rejects_self_prerequisite(admin_client, lesson):
    body = failed(admin_client.put(f"/lessons/{lesson.pk}", {"eligibilityCriteria": [str(lesson.pk)]}, format="json"), 400)
    assert "eligibilityCriteria" in body["result"]["errors"]


# --- delete -----------------------------------------------------------------------------------


def test_delete_archives_the_lesson(admin_client, placement):
    lesson_id = placement.lesson_id
    response = admin_client.delete(f"/lessons/{lesson_id}")
    assert ok(response) is None and response.json()["id"] == "api.lesson.delete"
    assert Lesson.objects.get(pk=lesson_id).status == ContentStatus.ARCHIVED
    failed(admin_client.get(f"/lessons/{lesson_id}"), 404)
    failed(admin_client.put(f"/lessons/{lesson_id}", {"title": "x"}), 404)
    failed(admin_client.delete(f"/lessons/{lesson_id}"), 404)
    assert ok(admin_client.get(f"/lessons/module/{placement.module_id}")) == []
    assert ok(admin_client.get("/lessons")) == []


# --- POST /courses/lessons --------------------------------------------------------------------


def _place(client, course_id, module_id, lesson_id, **extra):
    return client.post(
        "/courses/lessons",
        {"courseId": str(course_id), "moduleId": str(module_id), "lessonId": str(lesson_id), **extra},
        format="json",
    )


def test_place_existing_lesson(admin_client, module, lesson):
    response = _place(admin_client, module.course_id, module.pk, lesson.pk)
    result = ok(response, 201)
    assert response.json()["id"] == "api.lesson.add"
    assert result["lessonId"] == str(lesson.pk) and result["moduleId"] == str(module.pk)
    assert result["courseId"] == str(module.course_id) and result["ordering"] == 1
    assert result["message"] == "Lesson successfully added to course and module"
    body = failed(_place(admin_client, module.course_id, module.pk, lesson.pk), 409, "ERR_ALREADY_PLACED")
    assert body["result"]["placementId"] == result["placementId"]


def test_place_checks_module_belongs_to_course(admin_client, module, lesson, tenant):
    other_course = CourseFactory(tenant=tenant)
    failed(_place(admin_client, other_course.pk, module.pk, lesson.pk), 400, "ERR_MODULE_NOT_IN_COURSE")


def test_place_refuses_other_tenants_objects(admin_client, other_admin_client, module, lesson, other_tenant):
    foreign_lesson = LessonFactory(tenant=other_tenant)
    failed(_place(admin_client, module.course_id, module.pk, foreign_lesson.pk), 404)
    failed(_place(other_admin_client, module.course_id, module.pk, lesson.pk), 404)
    foreign_module = ModuleFactory(course=CourseFactory(tenant=other_tenant), tenant=other_tenant)
    failed(_place(other_admin_client, foreign_module.course_id, foreign_module.pk, lesson.pk), 404)
    assert not LessonPlacement.objects.exists()


def test_place_archived_targets_is_404(admin_client, module, tenant):
    archived_lesson = LessonFactory(tenant=tenant, status=ContentStatus.ARCHIVED)
    failed(_place(admin_client, module.course_id, module.pk, archived_lesson.pk), 404)


def test_place_rejects_missing_fields(admin_client):
    body = failed(admin_client.post("/courses/lessons", {}, format="json"), 400)
    assert set(body["result"]["errors"]) == {"courseId", "moduleId", "lessonId"}


def test_place_restores_an_archived_placement(admin_client, placement):
    placement.archived = True
    placement.save()
    result = ok(_place(admin_client, placement.course_id, placement.module_id, placement.lesson_id), 201)
    assert result["placementId"] == str(placement.pk)
    placement.refresh_from_db()
    assert placement.archived is False


def test_editing_shared_media_refreshes_every_course_that_shows_it(admin_client, tenant):
    media = Media.objects.create(tenant=tenant, format="video", source="s", url="u", sub_format="mp4")
    editing, other = build_course(tenant=tenant, modules=1, lessons_per_module=1), build_course(
        tenant=tenant, modules=1, lessons_per_module=1
    )
    Lesson.objects.filter(placements__course__in=[editing, other]).update(media=media)
    edited_lesson = Lesson.objects.get(placements__course=editing)
    before = ok(admin_client.get(f"/courses/details/{other.pk}"))  # renders and caches the other course
    assert before["modules"][0]["lessons"][0]["mediaContent"]["sub_format"] == "mp4"

    ok(admin_client.put(f"/lessons/{edited_lesson.pk}", {"mediaContent": {"sub_format": "webm"}}, format="json"))

    after = ok(admin_client.get(f"/courses/details/{other.pk}"))
    assert after["modules"][0]["lessons"][0]["mediaContent"]["sub_format"] == "webm"
