"""Tenant scoping of the whole admin (DECISIONS §8): a staff member of tenant B, holding every
model permission, still sees nothing of tenant A on any admin page."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from courses.models import Course, Lesson
from lms.admin_tenancy import SuperuserOnlyAdminMixin, TenantScopedAdminMixin
from lms.models import Tenant, TenantMembership
from tests.lms.admin_world import csrf_token, logged_in, staff_member, tenant_rows

pytestmark = pytest.mark.django_db

ADMIN, INSTRUCTOR = TenantMembership.Role.ADMIN, TenantMembership.Role.INSTRUCTOR


@pytest.fixture
def world():
    tenant_a, tenant_b = Tenant.objects.create(name="Alpha org"), Tenant.objects.create(name="Beta org")
    return tenant_a, tenant_b, tenant_rows(tenant_a, label="Alpha"), tenant_rows(tenant_b, label="Beta")


@pytest.fixture
def member_b(world):
    return staff_member("beta-author", (world[1], ADMIN))


def _url(model, name: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{name}", args=args)


def _listed_pks(response) -> set[str]:
    return {str(row.pk) for row in response.context["cl"].result_list}


def test_every_registered_admin_is_scoped_by_tenant_or_kept_for_superusers():
    unscoped = [
        type(model_admin).__name__
        for model_admin in admin.site._registry.values()
        if not isinstance(model_admin, TenantScopedAdminMixin | SuperuserOnlyAdminMixin)
    ]
    assert unscoped == []


def test_a_member_of_tenant_b_reaches_no_row_of_tenant_a_on_any_admin_page(world, member_b):
    _, _, rows_a, rows_b = world
    client = logged_in(member_b)
    missing = [model.__name__ for model in admin.site._registry if model not in rows_a]
    assert missing == [], "add a row of these models to tests/lms/admin_world.py"
    for model in admin.site._registry:
        row_a = rows_a[model]
        for page in ("change", "delete", "history"):
            response = client.get(_url(model, page, row_a.pk))
            assert response.status_code == 404, (model.__name__, page, response.status_code)
        listing = client.get(_url(model, "changelist"))
        if isinstance(admin.site._registry[model], SuperuserOnlyAdminMixin):
            assert listing.status_code == 403, model.__name__
            continue
        assert listing.status_code == 200, model.__name__
        listed = _listed_pks(listing)
        assert str(row_a.pk) not in listed, model.__name__
        assert str(rows_b[model].pk) in listed, model.__name__
        page = listing.content.decode()
        # No tenant A name anywhere: rows, filters, column headers.
        assert "Alpha" not in page, (model.__name__, re.findall(r".{60}Alpha.{60}", page)[:3])


def test_tenant_b_can_still_open_its_own_rows(world, member_b):
    client = logged_in(member_b)
    for model, row in world[3].items():
        if model in admin.site._registry and not isinstance(admin.site._registry[model], SuperuserOnlyAdminMixin):
            assert client.get(_url(model, "change", row.pk)).status_code == 200, model.__name__


def test_actions_reach_only_the_members_tenant(world, member_b):
    _, _, rows_a, rows_b = world
    client = logged_in(member_b, csrf=True)
    listing = client.get(_url(Course, "changelist"))
    client.post(
        _url(Course, "changelist"),
        {
            "action": "archive",
            "_selected_action": [str(rows_a[Course].pk), str(rows_b[Course].pk)],
            "csrfmiddlewaretoken": csrf_token(listing),
        },
    )
    rows_a[Course].refresh_from_db()
    rows_b[Course].refresh_from_db()
    assert (rows_a[Course].status, rows_b[Course].status) == ("published", "archived")


def test_foreign_key_choices_and_filters_offer_only_the_members_tenant(world, member_b):
    _, _, rows_a, rows_b = world
    client = logged_in(member_b)
    module_add = client.get(_url(rows_b[Course].modules.model, "add"))
    choices = {str(pk) for pk in module_add.context["adminform"].form.fields["course"].queryset.values_list("pk", flat=True)}
    assert choices == {str(rows_b[Course].pk)}
    track_list = client.get(reverse("admin:tracking_coursetrack_changelist")).content.decode()
    assert "Beta course" in track_list and "Alpha course" not in track_list
    # The tenant filter and column are for users of several tenants only.
    assert "By tenant" not in client.get(_url(Course, "changelist")).content.decode()


def test_autocompletes_search_only_the_members_tenant(world, member_b):
    _, _, rows_a, rows_b = world
    client = logged_in(member_b)
    found = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "courses", "model_name": "lessonplacement", "field_name": "lesson", "term": "lesson"},
    ).json()
    assert [row["text"] for row in found["results"]] == ["Beta lesson"]
    prerequisites = reverse("admin:courses_lesson_prerequisites", args=[rows_a[Lesson].pk])
    assert client.get(prerequisites, {"term": ""}).status_code == 404


def test_a_single_tenant_member_adds_courses_to_their_tenant_without_a_chooser(world, member_b):
    tenant_a, tenant_b, _, _ = world
    client = logged_in(member_b, csrf=True)
    add_page = client.get(_url(Course, "add"))
    tenant_field = add_page.context["adminform"].form["tenant"]
    assert tenant_field.is_hidden and str(tenant_field.value()) == str(tenant_b.pk)
    form = {
        "title": "Made by Beta", "short_description": "Short", "description": "Long", "free": "on",
        "certificate_term": "NA", "certificate_id": "", "start_datetime_0": "2024-03-20",
        "start_datetime_1": "00:00:00", "end_datetime_0": "2030-12-31", "end_datetime_1": "23:59:59",
        "status": "unpublished", "params": "{}", "modules-TOTAL_FORMS": "0", "modules-INITIAL_FORMS": "0",
        "modules-MIN_NUM_FORMS": "0", "modules-MAX_NUM_FORMS": "1000", "csrfmiddlewaretoken": csrf_token(add_page),
    }
    forged = client.post(_url(Course, "add"), {**form, "tenant": str(tenant_a.pk)})
    assert forged.status_code == 200 and "tenant" in forged.context["adminform"].form.errors
    assert not Course.objects.filter(title="Made by Beta").exists()
    saved = client.post(_url(Course, "add"), {**form, "tenant": str(tenant_b.pk)})
    assert saved.status_code == 302
    assert Course.objects.get(title="Made by Beta").tenant_id == tenant_b.pk


def test_a_member_of_several_tenants_chooses_among_theirs_and_sees_the_tenant_column(world):
    tenant_a, tenant_b, _, _ = world
    tenant_c = Tenant.objects.create(name="Gamma org")
    client = logged_in(staff_member("two-tenants", (tenant_b, ADMIN), (tenant_c, INSTRUCTOR)))
    tenant_field = client.get(_url(Course, "add")).context["adminform"].form.fields["tenant"]
    assert set(tenant_field.queryset) == {tenant_b, tenant_c} and not tenant_field.widget.is_hidden
    listing = client.get(_url(Course, "changelist")).content.decode()
    assert "column-tenant" in listing and "By tenant" in listing
    assert "Beta org" in listing and "Alpha org" not in listing


def test_an_instructor_membership_views_its_tenant_but_manages_neither_it_nor_memberships(world):
    tenant_a, tenant_b, _, _ = world
    instructor = staff_member("beta-instructor", (tenant_b, INSTRUCTOR))
    client = logged_in(instructor, csrf=True)
    page = client.get(_url(Tenant, "change", tenant_b.pk))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert b'name="memberships-0-role"' not in page.content
    refused = client.post(
        _url(Tenant, "change", tenant_b.pk),
        {"name": "Renamed", "carry_forward": "strict", "csrfmiddlewaretoken": csrf_token(page)},
    )
    assert refused.status_code == 403
    assert client.get(_url(Tenant, "add")).status_code == 403
    assert client.get(_url(get_user_model(), "changelist")).status_code == 403
    tenant_b.refresh_from_db()
    assert tenant_b.name == "Beta org"


def test_a_tenant_admin_manages_memberships_of_their_tenant_only(world, member_b):
    tenant_a, tenant_b, rows_a, rows_b = world
    client = logged_in(member_b, csrf=True)
    page = client.get(_url(Tenant, "change", tenant_b.pk))
    assert page.status_code == 200 and b'name="_save"' in page.content
    memberships = page.context["inline_admin_formsets"][0].formset
    offered = set(memberships.forms[0].fields["user"].queryset.values_list("username", flat=True))
    assert "alpha-member" not in offered and "beta-member" in offered
    assert client.get(_url(Tenant, "change", tenant_a.pk)).status_code == 404
    assert client.get(_url(Tenant, "delete", tenant_b.pk)).status_code == 403


def test_superusers_see_every_tenant(world):
    root = get_user_model().objects.create_superuser("root", "root@example.invalid", "a-long-staff-password")
    client = logged_in(root)
    listing = client.get(_url(Course, "changelist"))
    assert {str(world[2][Course].pk), str(world[3][Course].pk)} <= _listed_pks(listing)
    assert "By tenant" in listing.content.decode()
