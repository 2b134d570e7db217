"""Thin receivers: each is one line into a tracking service. No receiver sends a signal."""

from courses.signals import course_content_changed
from enrollment.signals import enrollment_activated, enrollment_created
from lms.celery import send_task_after_commit
from lms.signals import tenant_carry_forward_changed
from tracking import services
from tracking.tasks import TENANT_RECOUNT_TASK


def on_enrollment_created(sender, *, enrollment, **kwargs):
    services.course_track_create_for_enrollment(enrollment=enrollment)


def on_enrollment_activated(sender, *, enrollment_ids, **kwargs):
    services.course_tracks_recount_for_enrollments(enrollment_ids=enrollment_ids)


def on_course_content_changed(sender, *, course_id, **kwargs):
    services.course_tracks_recount_for_course(course_id=course_id)


def on_tenant_carry_forward_changed(sender, *, tenant_id, **kwargs):
    # A tenant's every track: too much for the request that changed the policy, so a worker does it.
    send_task_after_commit(TENANT_RECOUNT_TASK, str(tenant_id))


def connect() -> None:
    enrollment_created.connect(on_enrollment_created, dispatch_uid="tracking.create_course_track")
    enrollment_activated.connect(on_enrollment_activated, dispatch_uid="tracking.recount_activated_tracks")
    course_content_changed.connect(on_course_content_changed, dispatch_uid="tracking.recount_course_tracks")
    tenant_carry_forward_changed.connect(
        on_tenant_carry_forward_changed, dispatch_uid="tracking.recount_tenant_tracks"
    )
