"""Two tenants with one row of every model the admin shows, and staff accounts of each kind.

`tenant_rows(tenant)` builds the rows through the services (as the API would), so tracks,
counters and certificates agree with the recount. `ADMIN_ROWS` maps every model the admin
registers to the row of tenant A to look for: a new admin screen without an entry here fails
the every-model test, which is the point.
"""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from courses.models import Category, Course, Lesson, LessonPlacement, Media, Module
from enrollment.models import Enrollment
from lms.events.models import Event, WebhookDelivery, WebhookSubscription
from lms.events.services import events_relay, webhook_subscription_create
from lms.models import LearnerDirectoryEntry, Tenant, TenantMembership
from tests.factories import build_course
from tests.tracking.helpers import enroll, lessons_of
from tracking.models import CourseTrack, CourseTrackOverride, IssuedCertificate, LessonAttempt
from tracking.services import course_track_override, lesson_attempt_start, lesson_completion_record
from viewer.models import OutboxEvent, Program, ProgramCourse, SummaryDeletion

PASSWORD = "a-long-staff-password"


def tenant_rows(tenant: Tenant, *, label: str) -> dict:
    """{model: row} of `tenant`; every title and name carries `label`, to be looked for in pages."""
    course = build_course(
        tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL", title=f"{label} course"
    )
    module = Module.objects.get(course=course)
    module.title = f"{label} module"
    module.save(update_fields=["title"])
    lesson = lessons_of(course)[0]
    lesson.title = f"{label} lesson"
    lesson.save(update_fields=["title"])
    enrollment = enroll(course)
    lesson_attempt_start(tenant_id=tenant.id, user_id=enrollment.user_id, lesson_id=lesson.id)
    lesson_completion_record(
        tenant_id=tenant.id, user_id=enrollment.user_id, course_id=course.id, batch_id=course.id, lesson_id=lesson.id
    )
    track = CourseTrack.objects.get(enrollment=enrollment)
    course_track_override(
        tenant_id=tenant.id, track_id=track.id, changed_by=enrollment.user_id,
        changes={"last_accessed_date": track.timestart},
    )
    program = Program.objects.create(tenant=tenant, identifier=f"{label}-program", name=f"{label} program")
    ProgramCourse.objects.create(program=program, course=course, ordering=1)
    category = Category.objects.create(tenant=tenant, name=f"{label} category", slug=f"{label.lower()}-category")
    webhook = webhook_subscription_create(
        tenant_id=tenant.id, url=f"http://127.0.0.1:9/{label.lower()}-hook", events=["*"], description=f"{label} hook"
    )
    events_relay()  # the enrollment's and the lessons' events become deliveries to the webhook
    member = get_user_model().objects.create_user(f"{label.lower()}-member", password=PASSWORD, is_staff=True)
    TenantMembership.objects.create(tenant=tenant, user=member, role=TenantMembership.Role.ADMIN)
    return {
        Tenant: tenant,
        Course: course,
        Module: module,
        Lesson: lesson,
        LessonPlacement: LessonPlacement.objects.get(course=course),
        Media: Media.objects.create(tenant=tenant, format="video", source=f"https://example.org/{label}.mp4"),
        Enrollment: enrollment,
        CourseTrack: track,
        LessonAttempt: LessonAttempt.objects.get(course=course),
        IssuedCertificate: IssuedCertificate.objects.get(course=course),
        CourseTrackOverride: CourseTrackOverride.objects.get(track=track),
        Program: program,
        OutboxEvent: OutboxEvent.objects.create(tenant=tenant, kind=OutboxEvent.Kind.PROGRAM_ENROLMENT, payload={}),
        SummaryDeletion: SummaryDeletion.objects.create(
            tenant=tenant, user_id=enrollment.user_id, collection_id=course.id, batch_id=course.id,
            deleted_by=enrollment.user_id,
        ),
        LearnerDirectoryEntry: LearnerDirectoryEntry.objects.create(
            tenant=tenant, user_id=enrollment.user_id, name=f"{label} learner", email=f"{label.lower()}@example.org",
            updated_at=timezone.now(),
        ),
        Category: category,
        WebhookSubscription: webhook,
        Event: Event.objects.filter(tenant=tenant).first(),
        WebhookDelivery: WebhookDelivery.objects.filter(subscription=webhook).first(),
        get_user_model(): member,
        Group: Group.objects.get_or_create(name="Authors")[0],
    }


def staff_member(username: str, *memberships: tuple[Tenant, str], permissions=None):
    """A staff account (not superuser) with the given (tenant, role) memberships and model
    permissions (all of them by default, so that only the tenant scoping stands in the way)."""
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
    user.user_permissions.set(Permission.objects.all() if permissions is None else permissions)
    for tenant, role in memberships:
        TenantMembership.objects.create(tenant=tenant, user=user, role=role)
    return user


def logged_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    assert client.login(username=user.username, password=PASSWORD)
    return client


def csrf_token(response) -> str:
    return response.context["csrf_token"] if response.context else response.cookies["csrftoken"].value


def new_id() -> str:
    return str(uuid.uuid4())
