"""Authoring pages that read well: branding, the course list's columns, the module inline's next
position, moving modules, the lesson page's labels and prerequisites chosen by title."""

from __future__ import annotations

import itertools
import re

import pytest
from django.contrib.auth import get_user_model
from django.forms import CheckboxInput, JSONField, MultiWidget
from django.urls import reverse

from courses.models import Course, Lesson, Module
from lms.models import Tenant, TenantMembership
from tests.factories import LessonFactory, PlacementFactory, build_course
from tests.lms.admin_world import csrf_token, logged_in, staff_member
from tests.tracking.helpers import enroll, lessons_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def author(tenant):
    return staff_member("author", (tenant, TenantMembership.Role.ADMIN))


@pytest.fixture
def author_client(author):
    return logged_in(author, csrf=True)


def test_the_site_is_branded_and_view_site_leads_to_the_api_docs(author_client):
    index = author_client.get(reverse("admin:index")).content.decode()
    assert "LMS administration" in index and 'href="/api/docs/"' in index


def test_the_course_list_counts_modules_lessons_and_enrollments_without_a_tenant_column(author_client, tenant):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=3)
    enroll(course)
    enroll(course)
    listing = author_client.get(reverse("admin:courses_course_changelist"))
    page = listing.content.decode()
    assert "column-tenant" not in page
    row = listing.context["cl"].result_list[0]
    assert (row.live_modules, row.live_lessons, row.active_enrollments) == (2, 6, 2)
    for header in ("Modules", "Lessons", "Enrolled", "Runs"):
        assert f">{header}<" in page or f">{header}</a>" in page, header


def test_a_new_module_row_offers_the_next_position(author_client, tenant):
    course = build_course(tenant=tenant, modules=3, lessons_per_module=0)
    page = author_client.get(reverse("admin:courses_course_change", args=[course.pk]))
    formset = page.context["inline_admin_formsets"][0].formset
    assert formset.forms[-1].initial["ordering"] == 4
    # Rows added in the browser stay empty, not the model's 0 (the browser suite saw a 0): they are
    # appended in order.
    assert formset.empty_form["ordering"].value() is None


def test_modules_move_up_and_down_without_typing_numbers(author_client, tenant):
    course = build_course(tenant=tenant, modules=3, lessons_per_module=0)
    first, second, third = Module.objects.filter(course=course).order_by("ordering")
    changelist = reverse("admin:courses_module_changelist")
    token = csrf_token(author_client.get(changelist))
    author_client.post(changelist, {"action": "move_up", "_selected_action": [str(third.pk)], "csrfmiddlewaretoken": token})
    assert list(Module.objects.filter(course=course).order_by("ordering")) == [first, third, second]
    author_client.post(
        changelist,
        {"action": "move_down", "_selected_action": [str(first.pk), str(third.pk)], "csrfmiddlewaretoken": token},
    )
    assert list(Module.objects.filter(course=course).order_by("ordering")) == [second, first, third]
    assert sorted(Module.objects.filter(course=course).values_list("ordering", flat=True)) == [1, 2, 3]


def test_the_module_list_filters_by_course(author_client, tenant):
    course = build_course(tenant=tenant, modules=2, lessons_per_module=0, title="Filtered course")
    build_course(tenant=tenant, modules=1, lessons_per_module=0)
    listing = author_client.get(reverse("admin:courses_module_changelist"), {"course__id__exact": str(course.pk)})
    assert "Filtered course" in listing.content.decode()
    assert {module.course_id for module in listing.context["cl"].result_list} == {course.pk}


def _labels(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", label).strip().rstrip(":") for label in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)]


def test_the_lesson_page_has_one_label_per_field_and_help_that_says_what_to_enter(author_client, tenant):
    lesson = LessonFactory(tenant=tenant)
    page = author_client.get(reverse("admin:courses_lesson_change", args=[lesson.pk])).content.decode()
    labels = [label for label in _labels(page) if label]
    duplicates = {label for label in labels if labels.count(label) > 1}
    assert duplicates == set()
    assert {"Lesson format", "Media format", "Lesson params", "Player params", "Prerequisites"} <= set(labels)
    assert "Empty: the source." not in page
    assert "leave empty to open the source" in page


def test_prerequisites_are_chosen_from_the_courses_lessons_by_title(author_client, tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=3)
    first, second, third = lessons_of(course)
    elsewhere = LessonFactory(tenant=tenant, title="Lesson of another course")
    PlacementFactory(tenant=tenant, lesson=elsewhere)
    search = reverse("admin:courses_lesson_prerequisites", args=[third.pk])
    found = author_client.get(search, {"term": ""}).json()["results"]
    assert {row["text"] for row in found} == {first.title, second.title}
    assert [row["text"] for row in author_client.get(search, {"term": first.title}).json()["results"]] == [first.title]

    change = reverse("admin:courses_lesson_change", args=[third.pk])
    page = author_client.get(change)
    form = page.context["adminform"].form
    assert form.fields["prerequisites"].widget.get_url() == search
    data = {name: value for name, value in _initial_post(form).items()}
    data.update(prerequisites=[str(second.pk), str(first.pk)], csrfmiddlewaretoken=csrf_token(page), _save="Save")
    saved = author_client.post(change, data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    third.refresh_from_db()
    # Stored as the API stores it: a list of lesson id strings.
    assert sorted(third.eligibility_criteria) == sorted([str(first.pk), str(second.pk)])
    # The page shows them by title.
    assert f">{first.title}</option>" in author_client.get(change).content.decode()

    refused = author_client.post(change, {**data, "prerequisites": [str(elsewhere.pk)]})
    assert refused.status_code == 200 and "prerequisites" in refused.context["adminform"].form.errors


def _initial_post(form) -> dict:
    """The form's current values, as the browser would send them back (files and prerequisites aside)."""
    data = {}
    for name, field in form.fields.items():
        if name in {"image", "prerequisites"}:
            continue
        value = form[name].value()
        widget = getattr(field.widget, "widget", field.widget)
        if isinstance(widget, MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif isinstance(widget, CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(field, JSONField):
            data[name] = field.prepare_value(value)
        elif isinstance(value, (list, tuple)):  # a multiple choice (the categories): one value each
            data[name] = [str(item) for item in value]
        else:
            data[name] = "" if value is None else str(value)
    data.update({
        "placements-TOTAL_FORMS": "0", "placements-INITIAL_FORMS": "0",
        "placements-MIN_NUM_FORMS": "0", "placements-MAX_NUM_FORMS": "1000",
    })
    return data


def test_progress_pages_link_to_each_other(author_client, tenant):
    course = build_course(tenant=tenant, modules=1, lessons_per_module=1)
    enrollment = enroll(course)
    page = author_client.get(reverse("admin:tracking_coursetrack_changelist")).content.decode()
    query = f"?user_id={enrollment.user_id}&amp;course__id__exact={course.pk}"
    assert f'{reverse("admin:tracking_lessonattempt_changelist")}{query}' in page
    assert f'{reverse("admin:tracking_issuedcertificate_changelist")}{query}' in page
    filtered = author_client.get(
        reverse("admin:tracking_lessonattempt_changelist"), {"user_id": str(enrollment.user_id), "course__id__exact": str(course.pk)}
    )
    assert filtered.status_code == 200


def test_the_single_tenant_author_never_sees_the_tenant_chooser_on_lessons(author_client, tenant):
    form = author_client.get(reverse("admin:courses_lesson_add")).context["adminform"].form
    assert form["tenant"].is_hidden and str(form["tenant"].value()) == str(tenant.pk)
    assert Tenant.objects.count() == 1 and get_user_model().objects.count() == 1
    assert Course.objects.count() == 0 and Lesson.objects.count() == 0


@pytest.mark.parametrize("typed", list(itertools.permutations(range(1, 5))))
def test_renumbering_rows_on_the_course_page_puts_the_modules_in_the_typed_order(author_client, tenant, typed):
    course = build_course(tenant=tenant, modules=4, lessons_per_module=0)
    modules = list(Module.objects.filter(course=course).order_by("ordering"))
    change = reverse("admin:courses_course_change", args=[course.pk])
    page = author_client.get(change)
    form = page.context["adminform"].form
    data = _initial_post(form)
    del data["placements-TOTAL_FORMS"], data["placements-INITIAL_FORMS"]
    del data["placements-MIN_NUM_FORMS"], data["placements-MAX_NUM_FORMS"]
    data.update({
        "modules-TOTAL_FORMS": "4", "modules-INITIAL_FORMS": "4", "modules-MIN_NUM_FORMS": "0",
        "modules-MAX_NUM_FORMS": "1000", "csrfmiddlewaretoken": csrf_token(page), "_save": "Save",
    })
    for index, (module, position) in enumerate(zip(modules, typed, strict=True)):
        data.update({
            f"modules-{index}-id": str(module.pk), f"modules-{index}-course": str(course.pk),
            f"modules-{index}-ordering": str(position), f"modules-{index}-title": module.title,
            f"modules-{index}-description": module.description, f"modules-{index}-status": module.status,
        })
    saved = author_client.post(change, data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    expected = [module for _, module in sorted(zip(typed, modules, strict=True), key=lambda pair: pair[0])]
    assert list(Module.objects.filter(course=course).order_by("ordering")) == expected
