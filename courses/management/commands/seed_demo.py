"""`manage.py seed_demo [--show-login] [--force]`: a demo tenant, an `admin` superuser, an
`author` who belongs to the demo tenant only, and a small published catalogue, for `make run`
and for trying the API and the admin.

Idempotent: a second run creates nothing (each password is set only when its account is
created; each demo course is created whole, in one transaction, or not at all). The
catalogue is written through `courses.services`, like every other write. Refuses to run
when `LMS_ENV=production` unless `--force`.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from courses import services
from courses.models import CertificateTerm, ContentStatus, Course
from lms.api.authentication import mint_token
from lms.api.identity import staff_user_uuid
from lms.models import Tenant, TenantMembership

DEMO_TENANT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
DEMO_TENANT_NAME = "Demo tenant"
ADMIN_USERNAME = "admin"
DEFAULT_ADMIN_PASSWORD = "lms-demo-admin"
AUTHOR_USERNAME = "author"
DEFAULT_AUTHOR_PASSWORD = "lms-demo-author"
AUTHORS_GROUP = "Course authors"
# What a tenant's author does in the admin: content, enrollments, programs and the tenant's
# memberships; progress is read-only everywhere. The tenant membership (role admin) limits all of
# it to the demo tenant; users and groups stay with superusers.
AUTHOR_PERMISSIONS = {
    "courses": {"course": "add change view", "module": "add change view", "lesson": "add change view",
                "lessonplacement": "add change view", "media": "view"},
    "enrollment": {"enrollment": "add change view"},
    "tracking": {"coursetrack": "view", "lessonattempt": "view", "issuedcertificate": "view",
                 "coursetrackoverride": "view"},
    "viewer": {"program": "add change view", "programcourse": "add change view delete"},
    "lms": {"tenant": "view change", "tenantmembership": "add change delete view",
            "learnerdirectoryentry": "add change view"},
}
TOKEN_TTL_SECONDS = 24 * 3600

PUBLISHED = ContentStatus.PUBLISHED

DEMO_CATALOGUE = [
    {
        "title": "Getting started with online learning",
        "short_description": "A ten-minute tour of how courses, modules and lessons fit together.",
        "description": "Learn how to follow a course, track your progress and earn a certificate.",
        "featured": True,
        "free": True,
        "certificate_term": CertificateTerm.COMPLETE_ALL,
        "auto_enroll": True,
        "modules": [
            {
                "title": "Welcome",
                "description": "What this course covers and how to move through it.",
                "lessons": [
                    ("Welcome video", "video", "video.youtube.url", "https://www.youtube.com/watch?v=aqz-KE-bpKQ"),
                    ("How progress is tracked", "document", "document.pdf", "https://example.org/demo/progress.pdf"),
                ],
            },
            {
                "title": "Your first lessons",
                "description": "Watch, read and check what you learned.",
                "lessons": [
                    ("Reading a lesson", "document", "document.html", "https://example.org/demo/reading.html"),
                    ("Watching a lesson", "video", "video.mp4", "https://example.org/demo/watching.mp4"),
                    ("Quick check", "quiz", "quiz.assessment", "https://example.org/demo/quick-check"),
                ],
            },
        ],
    },
    {
        "title": "Writing for the web",
        "short_description": "Plain, scannable writing for pages people actually read.",
        "description": "Structure, headings, links and editing, with a short exercise per module.",
        "featured": False,
        "free": False,
        "certificate_term": CertificateTerm.PASS_ALL,
        "admin_approval": True,
        "modules": [
            {
                "title": "Plain language",
                "description": "Short sentences, common words, active voice.",
                "lessons": [
                    ("Why plain language works", "video", "video.youtube.url", "https://www.youtube.com/watch?v=OJIyj8XxSi4"),
                    ("Editing exercise", "quiz", "quiz.assessment", "https://example.org/demo/editing-exercise"),
                ],
            },
            {
                "title": "Structure and links",
                "description": "Headings that guide, links that say where they go.",
                "lessons": [
                    ("Headings that guide", "document", "document.html", "https://example.org/demo/headings.html"),
                    ("Link text", "document", "document.html", "https://example.org/demo/links.html"),
                ],
            },
        ],
    },
]


class Command(BaseCommand):
    help = "Create the demo tenant, the `admin` superuser and a small published demo catalogue (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--show-login", action="store_true", help="Print the admin URL, login and a curl example.")
        parser.add_argument("--force", action="store_true", help="Run even when LMS_ENV=production.")

    def handle(self, *args, show_login=False, force=False, **options):
        if settings.PRODUCTION and not force:
            raise CommandError("Refusing to seed demo data in production (LMS_ENV=production); pass --force to do it anyway.")
        tenant, tenant_created = self._tenant()
        password = os.environ.get("LMS_DEMO_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD
        admin, admin_created = self._admin(password)
        author_password = os.environ.get("LMS_DEMO_AUTHOR_PASSWORD") or DEFAULT_AUTHOR_PASSWORD
        author, author_created = self._author(tenant, author_password)
        actor = staff_user_uuid(admin.pk)
        created_courses = [spec["title"] for spec in DEMO_CATALOGUE if self._course(tenant, actor, spec)]
        self._progress(tenant, actor)
        self.stdout.write(
            f"Demo data: tenant {'created' if tenant_created else 'exists'}, "
            f"admin {'created' if admin_created else 'exists'}, "
            f"author {'created' if author_created else 'exists'}, "
            f"{_courses(len(created_courses))} created, {len(DEMO_CATALOGUE) - len(created_courses)} existed."
        )
        if show_login:
            self._show_login(
                tenant=tenant,
                logins=[
                    (admin, password, admin_created, "superuser: every tenant, users and groups"),
                    (author, author_password, author_created, f"author: {tenant.name} only"),
                ],
            )

    def _tenant(self) -> tuple[Tenant, bool]:
        raw = settings.LMS_DEFAULT_TENANT
        try:
            tenant_id = uuid.UUID(raw) if raw else DEMO_TENANT_ID
        except ValueError:
            raise CommandError(f"LMS_DEFAULT_TENANT must be a UUID, got {raw!r}.") from None
        return Tenant.objects.get_or_create(pk=tenant_id, defaults={"name": DEMO_TENANT_NAME})

    def _admin(self, password: str):
        users = get_user_model()
        admin = users.objects.filter(username=ADMIN_USERNAME).first()
        if admin is not None:
            return admin, False
        return users.objects.create_superuser(ADMIN_USERNAME, "admin@example.invalid", password), True

    @transaction.atomic
    def _author(self, tenant: Tenant, password: str):
        """The demo tenant's author: staff, not superuser, an admin membership of the demo tenant
        and the "Course authors" group's model permissions. Returns (user, created)."""
        users = get_user_model()
        group, _ = Group.objects.get_or_create(name=AUTHORS_GROUP)
        wanted = [
            (app_label, f"{action}_{model}")
            for app_label, models in AUTHOR_PERMISSIONS.items()
            for model, actions in models.items()
            for action in actions.split()
        ]
        found = Permission.objects.filter(content_type__app_label__in=AUTHOR_PERMISSIONS).select_related("content_type")
        group.permissions.add(
            *[permission for permission in found if (permission.content_type.app_label, permission.codename) in wanted]
        )
        author = users.objects.filter(username=AUTHOR_USERNAME).first()
        created = author is None
        if created:
            author = users.objects.create_user(
                AUTHOR_USERNAME, "author@example.invalid", password, is_staff=True
            )
            author.groups.add(group)
            TenantMembership.objects.get_or_create(
                tenant=tenant, user=author, defaults={"role": TenantMembership.Role.ADMIN}
            )
        return author, created

    @transaction.atomic
    def _course(self, tenant: Tenant, actor: uuid.UUID, spec: dict) -> bool:
        if Course.objects.filter(tenant=tenant, title=spec["title"]).exists():
            return False
        now = timezone.now()
        fields = {key: value for key, value in spec.items() if key != "modules"}
        course = services.course_create(
            tenant_id=tenant.pk,
            created_by=actor,
            start_datetime=now - dt.timedelta(days=1),
            end_datetime=now + dt.timedelta(days=365),
            status=PUBLISHED,
            **fields,
        )
        for module_spec in spec["modules"]:
            module = services.module_create(
                course=course,
                created_by=actor,
                title=module_spec["title"],
                description=module_spec["description"],
                status=PUBLISHED,
            )
            for title, lesson_format, sub_format, source in module_spec["lessons"]:
                is_quiz = lesson_format == "quiz"
                services.lesson_create(
                    tenant_id=tenant.pk,
                    created_by=actor,
                    title=title,
                    description=f"{title}: part of “{module.title}”.",
                    status=PUBLISHED,
                    course=course,
                    module=module,
                    ideal_time=10,
                    consider_marks=is_quiz,
                    total_marks=10 if is_quiz else None,
                    passing_marks=6 if is_quiz else None,
                    media_content={"format": lesson_format, "sub_format": sub_format, "source": source, "params": {}},
                )
        return True

    def _progress(self, tenant: Tenant, actor: uuid.UUID) -> None:
        """Learners at every stage in the demo courses, so the insight dashboards have something to
        show. A command is an entry point, not library code: it may drive the apps above `courses`."""
        from tracking.demo import seed_demo_progress

        course_ids = list(Course.objects.filter(tenant=tenant, title__in=[spec["title"] for spec in DEMO_CATALOGUE])
                          .values_list("id", flat=True))
        seeded = seed_demo_progress(tenant_id=tenant.pk, course_ids=course_ids, enrolled_by=actor)
        if seeded:
            self.stdout.write(f"Demo progress: learners enrolled at every stage in {_courses(seeded)}.")

    def _show_login(self, *, tenant: Tenant, logins: list) -> None:
        base = f"http://127.0.0.1:{settings.PORT}"
        admin = logins[0][0]
        lines = ["", "LMS demo is ready.", f"  Admin:     {base}/admin/"]
        for user, password, created, what in logins:
            if created or user.check_password(password):
                login = f"{user.username} / {password}"
            else:
                login = f"{user.username} / (password changed since it was created; not shown)"
            lines.append(f"  Login:     {login}   ({what})")
        lines += [
            f"  API docs:  {base}/api/docs/",
            f"  Tenant:    {tenant.pk} ({tenant.name})",
        ]
        try:
            token = mint_token(user_id=staff_user_uuid(admin.pk), tenant_id=tenant.pk, roles=["admin"], ttl_seconds=TOKEN_TTL_SECONDS)
        except RuntimeError as error:
            lines.append(f"  (No example token: {error})")
        else:
            lines += [
                "  Try the API (token valid for 24 hours):",
                f'    curl -H "Authorization: Bearer {token}" -H "tenantid: {tenant.pk}" {base}/courses',
            ]
        self.stdout.write("\n".join(lines))


def _courses(count: int) -> str:
    return f"{count} course" if count == 1 else f"{count} courses"
