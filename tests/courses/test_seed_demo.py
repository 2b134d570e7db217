"""`manage.py seed_demo`: idempotent demo data, and a printed login whose token works."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from courses.management.commands.seed_demo import DEMO_TENANT_ID
from courses.models import ContentStatus, Course, Lesson, LessonPlacement, Media, Module
from lms.models import Tenant


def _counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Tenant, get_user_model(), Course, Module, Lesson, LessonPlacement, Media)
    }


def _seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(autouse=True)
def _no_default_tenant(settings, monkeypatch):
    settings.LMS_DEFAULT_TENANT = ""
    settings.PRODUCTION = False
    monkeypatch.delenv("LMS_DEMO_ADMIN_PASSWORD", raising=False)


@pytest.mark.django_db
def test_seed_creates_a_published_catalogue_once():
    _seed()
    first = _counts()
    tenant = Tenant.objects.get(pk=DEMO_TENANT_ID)
    assert tenant.name == "Demo tenant"
    assert first["Course"] == 2 and first["Module"] == 4 and 8 <= first["Lesson"] <= 12
    assert set(Course.objects.values_list("status", flat=True)) == {ContentStatus.PUBLISHED}
    assert LessonPlacement.objects.filter(archived=False).count() == first["Lesson"]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("lms-demo-admin")
    output = _seed()
    assert _counts() == first
    assert "0 courses created, 2 existed" in output


@pytest.mark.django_db
def test_seed_uses_the_default_tenant_and_password_from_the_environment(settings, monkeypatch):
    tenant_id = uuid.uuid4()
    settings.LMS_DEFAULT_TENANT = str(tenant_id)
    monkeypatch.setenv("LMS_DEMO_ADMIN_PASSWORD", "from-the-environment")
    _seed()
    assert Course.objects.filter(tenant_id=tenant_id).count() == 2
    assert get_user_model().objects.get(username="admin").check_password("from-the-environment")


@pytest.mark.django_db
def test_show_login_prints_a_working_token(settings):
    settings.PORT = 8123
    output = _seed("--show-login")
    assert "http://127.0.0.1:8123/admin/" in output
    assert "admin / lms-demo-admin" in output
    assert "http://127.0.0.1:8123/api/docs/" in output
    match = re.search(r'curl -H "Authorization: Bearer (?P<token>[^"]+)" -H "tenantid: (?P<tenant>[0-9a-f-]+)"', output)
    assert match and match["tenant"] == str(DEMO_TENANT_ID)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {match['token']}", HTTP_TENANTID=match["tenant"])
    response = client.get("/courses")
    assert response.status_code == 200
    assert response.json()["result"]["count"] == 2


@pytest.mark.django_db
def test_show_login_hides_a_changed_password():
    _seed()
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed-by-the-operator")
    admin.save()
    output = _seed("--show-login")
    assert "lms-demo-admin" not in output and "not shown" in output


@pytest.mark.django_db
def test_seed_refuses_production_without_force(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="--force"):
        _seed()
    assert not Course.objects.exists()
    _seed("--force")
    assert Course.objects.count() == 2


@pytest.mark.django_db
def test_seed_creates_an_author_of_the_demo_tenant_only(client):
    from lms.models import TenantMembership
    from tests.factories import CourseFactory

    output = _seed("--show-login")
    assert "author / lms-demo-author" in output and "admin / lms-demo-admin" in output
    author = get_user_model().objects.get(username="author")
    assert author.is_staff and not author.is_superuser and author.check_password("lms-demo-author")
    assert list(TenantMembership.objects.filter(user=author).values_list("tenant_id", "role")) == [
        (DEMO_TENANT_ID, "admin")
    ]
    assert author.has_perm("courses.add_course") and author.has_perm("courses.change_lesson")
    assert not author.has_perm("auth.change_user") and not author.has_perm("tracking.change_coursetrack")
    other = CourseFactory(title="Another tenant's course")
    assert client.login(username="author", password="lms-demo-author")
    listing = client.get("/admin/courses/course/")
    assert listing.status_code == 200
    assert {course.tenant_id for course in listing.context["cl"].result_list} == {DEMO_TENANT_ID}
    assert client.get(f"/admin/courses/course/{other.pk}/change/").status_code == 404
    _seed()
    assert get_user_model().objects.filter(username="author").count() == 1
