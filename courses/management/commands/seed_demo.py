"""`manage.py seed_demo [--show-login] [--force]`: a demo tenant, an `admin` superuser and a
small published catalogue, for `make run` and for trying the API.

Idempotent: a second run creates nothing (the admin's password is set only when the account
is created; each demo course is created whole, in one transaction, or not at all). The
catalogue is written through `courses.services`, like every other write. Refuses to run
when `LMS_ENV=production` unless `--force`.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from courses import services
from courses.models import CertificateTerm, ContentStatus, Course
from lms.api.authentication import mint_token
from lms.api.identity import staff_user_uuid
from lms.models import Tenant

DEMO_TENANT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
DEMO_TENANT_NAME = "Demo tenant"
ADMIN_USERNAME = "admin"
DEFAULT_ADMIN_PASSWORD = "lms-demo-admin"
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
        actor = staff_user_uuid(admin.pk)
        created_courses = [spec["title"] for spec in DEMO_CATALOGUE if self._course(tenant, actor, spec)]
        self._progress(tenant, actor)
        self.stdout.write(
            f"Demo data: tenant {'created' if tenant_created else 'exists'}, "
            f"admin {'created' if admin_created else 'exists'}, "
            f"{_courses(len(created_courses))} created, {len(DEMO_CATALOGUE) - len(created_courses)} existed."
        )
        if show_login:
            self._show_login(tenant=tenant, admin=admin, password=password, admin_created=admin_created)

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

    def _show_login(self, *, tenant: Tenant, admin, password: str, admin_created: bool) -> None:
        base = f"http://127.0.0.1:{settings.PORT}"
        if admin_created or admin.check_password(password):
            login = f"{ADMIN_USERNAME} / {password}"
        else:
            login = f"{ADMIN_USERNAME} / (password changed since it was created; not shown)"
        lines = [
            "",
            "LMS demo is ready.",
            f"  Admin:     {base}/admin/",
            f"  Login:     {login}",
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
