"""Thin receivers: each is one line into a tracking service. No receiver sends a signal."""

from courses.signals import course_content_changed
from enrollment.signals import enrollment_activated, enrollment_created, enrollments_created
from lms.signals import tenant_carry_forward_changed
from tracking import services


def on_enrollment_created(sender, *, enrollment, **kwargs):
    services.course_track_create_for_enrollment(enrollment=enrollment)


def on_enrollments_created(sender, *, enrollments, **kwargs):
    services.course_tracks_create_for_enrollments(enrollments=enrollments)


def on_enrollment_activated(sender, *, enrollment_ids, **kwargs):
    services.course_tracks_recount_for_enrollments(enrollment_ids=enrollment_ids)


def on_course_content_changed(sender, *, course_id, **kwargs):
    services.course_tracks_recount_for_course(course_id=course_id)


def on_tenant_carry_forward_changed(sender, *, tenant_id, **kwargs):
    services.course_tracks_recount_for_tenant(tenant_id=tenant_id)


def connect() -> None:
    enrollment_created.connect(on_enrollment_created, dispatch_uid="tracking.create_course_track")
    enrollments_created.connect(on_enrollments_created, dispatch_uid="tracking.create_course_tracks_in_bulk")
    enrollment_activated.connect(on_enrollment_activated, dispatch_uid="tracking.recount_activated_tracks")
    course_content_changed.connect(on_course_content_changed, dispatch_uid="tracking.recount_course_tracks")
    tenant_carry_forward_changed.connect(
        on_tenant_carry_forward_changed, dispatch_uid="tracking.recount_tenant_tracks"
    )
