"""`manage.py send_expiry_reminders`: each mail at most once, only to active limited enrollments."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from enrollment.models import Enrollment

pytestmark = pytest.mark.django_db


def ending_in(enroll, course, delta: dt.timedelta, **kwargs) -> Enrollment:
    enrollment = enroll(course, **kwargs)
    Enrollment.objects.filter(pk=enrollment.pk).update(end_time=timezone.now() + delta)
    enrollment.refresh_from_db()
    return enrollment


def run(*args) -> str:
    out = io.StringIO()
    call_command("send_expiry_reminders", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def learner_addresses(settings):
    settings.LMS_LEARNER_EMAIL_TEMPLATE = "learner+{user_id}@example.org"
    return lambda enrollment: f"learner+{enrollment.user_id}@example.org"


def test_mails_soon_ending_and_ended_enrollments_once(course, enroll, mailoutbox, learner_addresses):
    ending_soon = ending_in(enroll, course, dt.timedelta(days=3))
    ended = ending_in(enroll, course, -dt.timedelta(days=1))
    ending_later = ending_in(enroll, course, dt.timedelta(days=30))

    output = run()

    assert "Sent 1 expiry reminder." in output and "Sent 1 expiry notice." in output
    by_address = {message.to[0]: message for message in mailoutbox}
    assert set(by_address) == {learner_addresses(ending_soon), learner_addresses(ended)}
    reminder = by_address[learner_addresses(ending_soon)]
    assert course.title in reminder.subject and "in 3 days" in reminder.body
    assert "has ended" in by_address[learner_addresses(ended)].subject
    flags = dict(Enrollment.objects.values_list("pk", "before_expiry_mail"))
    assert flags == {ending_soon.pk: True, ended.pk: False, ending_later.pk: False}
    assert Enrollment.objects.get(pk=ended.pk).after_expiry_mail is True

    mailoutbox.clear()
    assert "Sent 0 expiry reminders." in run()
    assert mailoutbox == []


def test_days_widens_the_reminder_window(course, enroll, mailoutbox):
    ending_in(enroll, course, dt.timedelta(days=20))

    run("--days", "7")
    assert len(mailoutbox) == 0
    run("--days", "21")
    assert len(mailoutbox) == 1


def test_dry_run_lists_and_changes_nothing(course, enroll, mailoutbox, learner_addresses):
    enrollment = ending_in(enroll, course, dt.timedelta(days=1))

    output = run("--dry-run")

    assert f"Would send expiry reminder to {learner_addresses(enrollment)}" in output
    assert "Dry run: 1 expiry reminder would be sent; nothing changed." in output
    assert mailoutbox == []
    assert Enrollment.objects.get(pk=enrollment.pk).before_expiry_mail is False


def test_unlimited_plans_are_never_mailed(course, enroll, mailoutbox):
    enroll(course, unlimited_plan=True)

    run("--days", "100000")

    assert mailoutbox == []


def test_inactive_enrollments_are_skipped(course, enroll, mailoutbox):
    ending_in(enroll, course, dt.timedelta(days=1), active=False)
    ending_in(enroll, course, -dt.timedelta(days=1), active=False)

    run()

    assert mailoutbox == []
    assert not Enrollment.objects.filter(before_expiry_mail=True).exists()


def test_flags_already_set_are_not_mailed_again(course, enroll, mailoutbox):
    ending_in(enroll, course, dt.timedelta(days=1), before_expiry_mail=True)
    ending_in(enroll, course, -dt.timedelta(days=1), after_expiry_mail=True)

    run()

    assert mailoutbox == []


def test_small_batches_still_mail_everyone_once(course, enroll, mailoutbox):
    for _ in range(5):
        ending_in(enroll, course, dt.timedelta(days=2))

    run("--batch-size", "2")

    assert len(mailoutbox) == 5 and len({m.to[0] for m in mailoutbox}) == 5


def test_a_mail_that_fails_is_released_for_the_next_run(course, enroll, settings, mailoutbox):
    enrollment = ending_in(enroll, course, dt.timedelta(days=2))
    settings.LMS_LEARNER_EMAIL_TEMPLATE = "{user_id}@{missing}"  # every address fails to build

    with pytest.raises(CommandError, match="1 mails could not be sent"):
        run()
    assert Enrollment.objects.get(pk=enrollment.pk).before_expiry_mail is False

    settings.LMS_LEARNER_EMAIL_TEMPLATE = "{user_id}@example.org"
    run()
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("args", [("--days", "-1"), ("--batch-size", "0")])
def test_bad_arguments_are_refused(args):
    with pytest.raises(CommandError):
        run(*args)


def test_mails_go_to_the_directory_address_when_it_has_one(tenant, course, enroll, mailoutbox, learner_addresses):
    # `mailoutbox` is Django's locmem mail backend.
    from lms.services import learner_directory_import

    named = [ending_in(enroll, course, dt.timedelta(days=2)) for _ in range(4)]
    unnamed = ending_in(enroll, course, dt.timedelta(days=2))
    learner_directory_import(
        tenant_id=tenant.id, rows=[(e.user_id, f"Learner {i}", f"learner{i}@school.example") for i, e in enumerate(named)]
    )

    run("--batch-size", "2")

    by_address = {message.to[0]: message for message in mailoutbox}
    assert set(by_address) == {f"learner{i}@school.example" for i in range(4)} | {learner_addresses(unnamed)}
    assert by_address["learner0@school.example"].body.startswith("Hello Learner 0,")
    assert by_address[learner_addresses(unnamed)].body.startswith("Hello,")
    dry = run("--dry-run", "--days", "3")
    assert "Dry run: 0 expiry reminders" in dry


def test_the_directory_is_read_once_per_batch_not_per_mail(tenant, course, enroll, mailoutbox):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lms.models import LearnerDirectoryEntry

    def directory_reads(count: int) -> int:
        Enrollment.objects.all().delete()
        for _ in range(count):
            ending_in(enroll, course, dt.timedelta(days=2))
        with CaptureQueriesContext(connection) as captured:
            run("--batch-size", "500")
        table = LearnerDirectoryEntry._meta.db_table
        return sum(table in query["sql"] for query in captured.captured_queries)

    assert directory_reads(3) == directory_reads(30) == 1


def test_dry_run_lists_the_directory_address(tenant, course, enroll, mailoutbox):
    from lms.services import learner_directory_import

    enrollment = ending_in(enroll, course, dt.timedelta(days=1))
    learner_directory_import(tenant_id=tenant.id, rows=[(enrollment.user_id, "Ana", "ana@school.example")])

    assert "Would send expiry reminder to ana@school.example" in run("--dry-run")
