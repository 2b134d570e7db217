"""What the browser suite's server starts with: two tenants, an author in each, a course in each and
a few learners in tenant A's directory (tests/browser/conftest.py seeds it before the server starts).

On SQLite the server gets a copy of the test database taken at start, so whatever a browser test
needs and does not create through the browser itself belongs here. A test of another area adds its
rows in a function of its own, called from `seed_world`, and a field to `BrowserWorld`.
Everything is written through the services, as the admin and the API write it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.utils import timezone

from courses import services as course_services
from courses.management.commands.seed_demo import AUTHOR_PERMISSIONS
from courses.models import ContentStatus
from lms.api.identity import staff_user_uuid
from lms.models import Tenant, TenantMembership
from lms.services import learner_directory_import
from tests.browser.insight_world import seed_insight_course

# Long enough for Django's password validators, and never used outside the test database.
PASSWORD = "browser-suite-password-1366"


@dataclass(frozen=True)
class StaffLogin:
    username: str
    password: str
    tenant_name: str


@dataclass(frozen=True)
class Learner:
    user_id: uuid.UUID
    name: str
    email: str


@dataclass(frozen=True)
class SeededCourse:
    id: uuid.UUID
    title: str


@dataclass(frozen=True)
class BrowserWorld:
    tenant_a: Tenant
    tenant_b: Tenant
    author_a: StaffLogin  # admin member of tenant A only
    author_b: StaffLogin  # admin member of tenant B only
    course_a: SeededCourse  # published, one module, two lessons
    course_b: SeededCourse
    learners_a: tuple[Learner, ...]  # in tenant A's learner directory, not enrolled anywhere

    @property
    def tenant_ids(self) -> tuple[uuid.UUID, ...]:
        return (self.tenant_a.pk, self.tenant_b.pk)

    @property
    def usernames(self) -> tuple[str, ...]:
        return (self.author_a.username, self.author_b.username)


def _author(*, username: str, tenant: Tenant) -> StaffLogin:
    user = get_user_model().objects.create_user(
        username, f"{username}@example.invalid", PASSWORD, is_staff=True, first_name=username.title()
    )
    # The demo author's permissions (`make run`'s `author` login), held directly rather than through
    # its group, so that nothing outlives the suite on a shared database.
    wanted = Q()
    for app_label, models in AUTHOR_PERMISSIONS.items():
        for model, actions in models.items():
            codenames = [f"{action}_{model}" for action in actions.split()]
            wanted |= Q(content_type__app_label=app_label, codename__in=codenames)
    user.user_permissions.set(Permission.objects.filter(wanted))
    TenantMembership.objects.create(tenant=tenant, user=user, role=TenantMembership.Role.ADMIN)
    return StaffLogin(username=username, password=PASSWORD, tenant_name=tenant.name)


def _course(*, tenant: Tenant, title: str, author: str, lessons: tuple[str, ...]) -> SeededCourse:
    actor = staff_user_uuid(get_user_model().objects.get(username=author).pk)
    now = timezone.now()
    course = course_services.course_create(
        tenant_id=tenant.pk,
        created_by=actor,
        title=title,
        short_description=f"{title}, seeded for the browser suite.",
        description="Seeded for the browser suite.",
        start_datetime=now - dt.timedelta(days=1),
        end_datetime=now + dt.timedelta(days=365),
        status=ContentStatus.PUBLISHED,
        free=True,
    )
    module = course_services.module_create(
        course=course, created_by=actor, title="Orientation", description="Where to start.",
        status=ContentStatus.PUBLISHED,
    )
    for lesson_title in lessons:
        course_services.lesson_create(
            tenant_id=tenant.pk, created_by=actor, title=lesson_title, description=f"{lesson_title}.",
            status=ContentStatus.PUBLISHED, course=course, module=module,
            media_content={"format": "document", "sub_format": "document.html",
                           "source": "https://example.org/browser-suite.html", "params": {}},
        )
    return SeededCourse(id=course.pk, title=course.title)


def seed_world() -> BrowserWorld:
    """Creates the world in the test process's database; returns what the tests refer to."""
    # Fresh ids per run: on PostgreSQL the rows are committed, and nothing may collide with a
    # previous run's leftovers or another suite's tenants.
    tenant_a = Tenant.objects.create(id=uuid.uuid4(), name="Northwind Academy")
    tenant_b = Tenant.objects.create(id=uuid.uuid4(), name="Southwind College")
    author_a = _author(username="author-north", tenant=tenant_a)
    author_b = _author(username="author-south", tenant=tenant_b)
    course_a = _course(
        tenant=tenant_a, title="Northwind safety induction", author=author_a.username,
        lessons=("Fire exits", "First aid kits"),
    )
    course_b = _course(
        tenant=tenant_b, title="Southwind campus tour", author=author_b.username, lessons=("The library",)
    )
    learners_a = (
        Learner(uuid.uuid4(), "Ada Lovelace", "ada.lovelace@northwind.example"),
        Learner(uuid.uuid4(), "Grace Hopper", "grace.hopper@northwind.example"),
        Learner(uuid.uuid4(), "Katherine Johnson", "katherine.johnson@northwind.example"),
        Learner(uuid.uuid4(), "Alan Turing", "alan.turing@northwind.example"),
    )
    learner_directory_import(
        tenant_id=tenant_a.pk, rows=[(learner.user_id, learner.name, learner.email) for learner in learners_a]
    )
    seed_insight_course(tenant=tenant_a, author=author_a.username)  # issue 13's dashboard test
    return BrowserWorld(
        tenant_a=tenant_a, tenant_b=tenant_b, author_a=author_a, author_b=author_b,
        course_a=course_a, course_b=course_b, learners_a=learners_a,
    )


def forget_world(world: BrowserWorld, server) -> None:
    """Removes the world, and whatever the browser wrote in its tenants, from a shared database."""
    for tenant_id in world.tenant_ids:
        server.forget_tenant(tenant_id)
    # Through the ORM: it deletes what refers to the accounts (admin log entries, permissions).
    get_user_model().objects.filter(username__in=world.usernames).delete()
