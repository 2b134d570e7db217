"""Categories in the admin: their own page, the chooser and filter on courses and lessons, counts."""

from __future__ import annotations

from courses.models import Category, Course
from tests.courses.test_admin import _course_form, _management, staff, superuser  # noqa: F401 (fixtures)
from tests.factories import CourseFactory


def test_category_page_and_course_chooser(staff, tenant, other_tenant):  # noqa: F811
    response = staff.post("/admin/courses/category/add/", {
        "tenant": str(tenant.pk), "name": "Data", "slug": "data", "ordering": "1", "_save": "Save",
    })
    assert response.status_code == 302, response.content[:2000]
    data = Category.objects.get(slug="data")
    assert staff.get("/admin/courses/category/").status_code == 200

    response = staff.post("/admin/courses/course/add/", {
        **_course_form(tenant, categories=[str(data.pk)]), **_management("modules", 0, 0),
    })
    assert response.status_code == 302, response.content[:2000]
    course = Course.objects.get(title="Admin-made course")
    # The links and the row's copy, written together by the service.
    assert list(course.categories.all()) == [data] and course.category_ids == [str(data.pk)]

    listing = staff.get(f"/admin/courses/course/?categories__id__exact={data.pk}")
    assert listing.status_code == 200 and b"Admin-made course" in listing.content

    foreign = Category.objects.create(tenant=other_tenant, name="Foreign", slug="foreign")
    refused = staff.post("/admin/courses/course/add/", {
        **_course_form(tenant, title="Other", categories=[str(foreign.pk)]), **_management("modules", 0, 0),
    })
    assert refused.status_code == 200 and not Course.objects.filter(title="Other").exists()


def test_a_category_in_use_is_not_deleted_from_the_admin(staff, tenant):  # noqa: F811
    data = Category.objects.create(tenant=tenant, name="Data", slug="data")
    course = CourseFactory(tenant=tenant)
    from courses.services import categories_assign

    categories_assign(instance=course, category_ids=[data.id])
    staff.post(f"/admin/courses/category/{data.pk}/delete/", {"post": "yes"})
    assert Category.objects.filter(pk=data.pk).exists()
