"""Celery tasks of the enrollment app."""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="enrollment.send_expiry_reminders", ignore_result=True)
def send_expiry_reminders() -> None:
    """Daily on beat. Each mail goes out at most once (the command claims its rows first), so a
    repeated run sends nothing twice; the command stays for operators and cron."""
    call_command("send_expiry_reminders")
