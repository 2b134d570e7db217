"""Categories (DECISIONS §11): the /categories API and `categoryIds` on courses and lessons."""

from __future__ import annotations

import uuid

from courses.models import Category, Course, Lesson
from tests.factories import CourseFactory, LessonFactory
from tests.tracking.helpers import err, result

COURSE = {
    "title": "T", "shortDescription": "S", "description": "D",
    "startDatetime": "2026-01-01T00:00:00Z", "endDatetime": "2027-01-01T00:00:00Z", "status": "published",
}


def create(client, **body):
    return client.post("/categories", {"name": "Data", "slug": "data", **body}, format="json")


def test_crud(admin_client, learner_client):
    parent = result(create(admin_client))
    child = create(admin_client, name="ML", slug="ml", parentId=parent["categoryId"], ordering=2)
    assert child.status_code == 201 and result(child)["parentId"] == parent["categoryId"]
    listed = result(learner_client.get("/categories"))
    assert listed["count"] == 2 and [c["slug"] for c in listed["categories"]] == ["data", "ml"]
    url = f"/categories/{result(child)['categoryId']}"
    changed = admin_client.patch(url, {"name": "Machine learning"}, format="json")
    assert result(changed)["name"] == "Machine learning" and result(changed)["slug"] == "ml"
    assert result(learner_client.get(url))["name"] == "Machine learning"
    in_use = admin_client.delete(f"/categories/{parent['categoryId']}")
    assert (in_use.status_code, err(in_use)) == (409, "ERR_CATEGORY_IN_USE")
    assert admin_client.delete(url).status_code == 200
    assert admin_client.delete(f"/categories/{parent['categoryId']}").status_code == 200
    assert not Category.objects.exists()


def test_bad_input(admin_client, other_admin_client):
    first = result(create(admin_client))
    taken = create(admin_client)
    assert (taken.status_code, err(taken)) == (409, "ERR_SLUG_TAKEN")
    assert create(other_admin_client).status_code == 201  # slugs are unique per tenant only
    assert create(admin_client, slug="not a slug").status_code == 400
    assert create(admin_client, slug="x", parentId=str(uuid.uuid4())).status_code == 400
    cycle = admin_client.patch(f"/categories/{first['categoryId']}", {"parentId": first["categoryId"]}, format="json")
    assert cycle.status_code == 400
    assert Category.objects.count() == 2


def test_access(admin_client, instructor_client, learner_client, other_admin_client):
    assert create(learner_client).status_code == 403
    assert create(instructor_client).status_code == 403
    category = result(create(admin_client))
    assert learner_client.patch(f"/categories/{category['categoryId']}", {"name": "x"}, format="json").status_code == 403
    assert other_admin_client.get(f"/categories/{category['categoryId']}").status_code == 404
    assert other_admin_client.delete(f"/categories/{category['categoryId']}").status_code == 404
    assert result(other_admin_client.get("/categories"))["count"] == 0


def test_courses_and_lessons_carry_category_ids(admin_client, tenant, other_tenant, learner_client):
    data, ml = Category.objects.create(tenant=tenant, name="Data", slug="data"), Category.objects.create(
        tenant=tenant, name="ML", slug="ml"
    )
    created = admin_client.post("/courses", {**COURSE, "categoryIds": [str(data.id)]}, format="json")
    assert result(created)["categoryIds"] == [str(data.id)]
    course_id = result(created)["courseId"]
    # Multipart: repeated fields or one comma-separated string.
    updated = admin_client.put(f"/courses/{course_id}", {"categoryIds": f"{ml.id},{data.id}"}, format="multipart")
    assert result(updated)["categoryIds"] == [str(ml.id), str(data.id)]
    assert set(Course.objects.get(pk=course_id).categories.values_list("id", flat=True)) == {data.id, ml.id}
    assert result(admin_client.get(f"/courses/details/{course_id}"))["categoryIds"] == [str(ml.id), str(data.id)]

    foreign = Category.objects.create(tenant=other_tenant, name="F", slug="f")
    refused = admin_client.put(f"/courses/{course_id}", {"categoryIds": [str(foreign.id)]}, format="json")
    assert (refused.status_code, err(refused)) == (400, "ERR_UNKNOWN_CATEGORY")
    assert Course.objects.get(pk=course_id).category_ids == [str(ml.id), str(data.id)]  # nothing stored
    assert admin_client.post("/courses", {**COURSE, "categoryIds": ["nope"]}, format="json").status_code == 400
    assert Course.objects.count() == 1

    lesson = admin_client.post("/lessons", {"title": "L", "description": "D", "categoryIds": [str(ml.id)]}, format="json")
    assert result(lesson)["categoryIds"] == [str(ml.id)]
    cleared = admin_client.put(f"/lessons/{result(lesson)['lessonId']}", {"categoryIds": []}, format="json")
    assert result(cleared)["categoryIds"] == [] and not Lesson.objects.get().categories.exists()


def test_list_filters(admin_client, tenant):
    data, ml = (Category.objects.create(tenant=tenant, name=n, slug=n) for n in ("data", "ml"))
    courses = [CourseFactory(tenant=tenant) for _ in range(3)]
    from courses.services import categories_assign

    categories_assign(instance=courses[0], category_ids=[data.id])
    categories_assign(instance=courses[1], category_ids=[data.id, ml.id])
    assert result(admin_client.get("/courses", {"categoryId": str(ml.id)}))["count"] == 1
    assert result(admin_client.get("/courses", {"categoryIds": f"{data.id},{ml.id}"}))["count"] == 2
    assert result(admin_client.get(f"/courses?categoryIds={data.id}&categoryIds={ml.id}"))["count"] == 2
    assert admin_client.get("/courses", {"categoryIds": str(uuid.uuid4())}).status_code == 400
    lesson = LessonFactory(tenant=tenant)
    categories_assign(instance=lesson, category_ids=[ml.id])
    LessonFactory(tenant=tenant)
    listed = admin_client.get("/lessons", {"categoryId": str(ml.id)})
    assert [item["lessonId"] for item in listed.json()["result"]] == [str(lesson.id)]


def test_a_duplicated_course_keeps_its_categories(tenant):
    from courses.services import categories_assign, course_duplicate

    data = Category.objects.create(tenant=tenant, name="Data", slug="data")
    course = CourseFactory(tenant=tenant)
    categories_assign(instance=course, category_ids=[data.id])
    copy = course_duplicate(course=course, created_by=None)
    assert list(copy.categories.all()) == [data] and copy.category_ids == [str(data.id)]


def test_the_schema_documents_the_list_as_one_object(client, db):
    # Found by the schemathesis pass: the schema said the list's `result` was an array.
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]

    def resolve(node):
        return components[node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node

    envelope = resolve(schema["paths"]["/categories"]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    result = resolve(envelope["properties"]["result"])
    assert set(result["properties"]) == {"count", "categories"}
    assert result["properties"]["categories"]["type"] == "array"
