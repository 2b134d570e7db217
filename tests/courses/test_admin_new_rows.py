"""New inline rows show an empty position, as their help says ("empty appends"), not the model's 0
(the browser suite's screenshots showed 0 in rows added on the course and module pages)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lms.models import TenantMembership
from tests.factories import build_course
from tests.lms.admin_world import logged_in, staff_member

pytestmark = pytest.mark.django_db


def test_a_new_placement_row_shows_an_empty_position(tenant):
    author = staff_member("author", (tenant, TenantMembership.Role.ADMIN))
    course = build_course(tenant=tenant, modules=1, lessons_per_module=2)
    module = course.modules.get()
    page = logged_in(author).get(reverse("admin:courses_module_change", args=[module.pk]))
    formset = next(f.formset for f in page.context["inline_admin_formsets"] if f.formset.prefix == "placements")
    assert [form["ordering"].value() for form in formset.initial_forms] == [1, 2]
    assert [form["ordering"].value() for form in formset.extra_forms] == [None]
    assert formset.empty_form["ordering"].value() is None
