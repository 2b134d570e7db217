"""The enrollment rules, through the services."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses.models import ContentStatus
from enrollment import services
from enrollment.models import Enrollment
from enrollment.signals import enrollment_activated
from lms.api.errors import ApiError, ConflictError, ForbiddenError, NotFoundError
from tests.factories import CourseFactory
from tracking.models import CourseTrack, CourseTrackOverride

pytestmark = pytest.mark.django_db


class TestSelfEnrollmentRule:
    @pytest.mark.parametrize(
        ("auto_enroll", "admin_approval", "starts_active"), [(True, False, True), (False, True, False), (True, True, False)]
    )
    def test_open_courses(self, tenant, auto_enroll, admin_approval, starts_active):
        course = CourseFactory(tenant=tenant, auto_enroll=auto_enroll, admin_approval=admin_approval)

        assert services.enrollment_self_enrollment_starts_active(course=course) is starts_active

    def test_closed_course_is_forbidden(self, tenant):
        with pytest.raises(ForbiddenError):
            services.enrollment_self_enrollment_starts_active(course=CourseFactory(tenant=tenant))

    @pytest.mark.parametrize("status", [ContentStatus.UNPUBLISHED, ContentStatus.ARCHIVED])
    def test_unpublished_course_is_not_found(self, tenant, status):
        with pytest.raises(NotFoundError):
            services.enrollment_self_enrollment_starts_active(
                course=CourseFactory(tenant=tenant, status=status, auto_enroll=True)
            )

    def test_ended_course_is_forbidden(self, tenant):
        course = CourseFactory(tenant=tenant, auto_enroll=True)

        with pytest.raises(ForbiddenError):
            services.enrollment_self_enrollment_starts_active(course=course, now=course.end_datetime)


def test_enrollment_and_course_track_commit_or_roll_back_together(tenant, course):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.enrollment_create(tenant_id=tenant.id, course=course, user_id=uuid.uuid4(), enrolled_by=None)
        assert CourseTrack.objects.count() == 1
        raise RuntimeError("the caller's transaction fails after enrolling")

    assert not Enrollment.objects.exists() and not CourseTrack.objects.exists()


def test_the_database_refuses_an_unlimited_plan_with_an_end(course, enroll):
    enrollment = enroll(course)

    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.filter(pk=enrollment.pk).update(unlimited_plan=True)


def test_a_second_enrollment_in_another_batch_is_allowed(tenant, course, enroll):
    user_id = uuid.uuid4()
    enroll(course, user_id=user_id)
    enroll(course, user_id=user_id, batch_id=uuid.uuid4())

    with pytest.raises(ConflictError):
        enroll(course, user_id=user_id)
    assert Enrollment.objects.filter(user_id=user_id).count() == 2


class TestUpdate:
    def test_changes_nothing_and_stamps_nothing_when_nothing_differs(self, course, enroll):
        enrollment = enroll(course)

        updated = services.enrollment_update(enrollment=enrollment, updated_by=uuid.uuid4(), active=True)

        assert updated.updated_at is None and updated.updated_by is None

    @pytest.mark.drift_expected("simulates tracking moving the state by writing it directly")
    def test_never_writes_state(self, course, enroll):
        enrollment = enroll(course)
        Enrollment.objects.filter(pk=enrollment.pk).update(state=1)  # tracking moved it meanwhile

        services.enrollment_update(enrollment=enrollment, updated_by=uuid.uuid4(), params={"x": 1})

        assert Enrollment.objects.get(pk=enrollment.pk).state == 1

    def test_explicit_flags_win_over_the_re_arm(self, course, enroll):
        enrollment = enroll(course)

        updated = services.enrollment_update(
            enrollment=enrollment, updated_by=uuid.uuid4(),
            end_time=timezone.now() + dt.timedelta(days=3), before_expiry_mail=True,
        )

        assert (updated.before_expiry_mail, updated.after_expiry_mail) == (True, False)

    def test_immutable_fields_raise(self, course, enroll):
        enrollment = enroll(course)

        with pytest.raises(ApiError) as raised:
            services.enrollment_update(enrollment=enrollment, updated_by=uuid.uuid4(), course_id=uuid.uuid4())
        assert raised.value.status_code == 400


class TestApproveAndDeactivate:
    def test_each_is_one_update_counting_only_real_changes(self, course, enroll, django_assert_num_queries):
        pending = [enroll(course, active=False) for _ in range(3)]
        already_active = enroll(course)
        ids = [e.pk for e in pending] + [already_active.pk]
        staff_id = uuid.uuid4()

        # Approval goes on to recount the activated tracks (enrollment_activated); the
        # enrollments themselves change in one statement.
        with CaptureQueriesContext(connection) as approving:
            approved = services.enrollment_approve(enrollment_ids=ids, approved_by=staff_id)
        # savepoint, the rows that change (for their events), the one conditional UPDATE,
        # the outbox INSERT of their `enrollment.updated` events, savepoint release
        with django_assert_num_queries(5):
            deactivated = services.enrollment_deactivate(enrollment_ids=ids, deactivated_by=staff_id)

        assert (approved, deactivated) == (3, 4)
        activations = [q["sql"] for q in approving.captured_queries if 'SET "active"' in q["sql"]]
        assert len(activations) == 1
        assert set(Enrollment.objects.values_list("active", "updated_by")) == {(False, staff_id)}

    def test_approving_nothing_pending_sends_no_activation(self, course, enroll, django_assert_num_queries):
        active = enroll(course)

        with django_assert_num_queries(3):  # savepoint, ids that change (none), release
            assert services.enrollment_approve(enrollment_ids=[active.pk], approved_by=uuid.uuid4()) == 0

    def test_activation_is_announced_once_for_the_enrollments_that_changed(self, course, enroll):
        pending, already_active = enroll(course, active=False), enroll(course)
        announced = []

        def listener(sender, *, enrollment_ids, **kwargs):
            announced.append(sorted(enrollment_ids))

        enrollment_activated.connect(listener, dispatch_uid="tests.enrollment.activation_listener")
        try:
            services.enrollment_approve(enrollment_ids=[pending.pk, already_active.pk], approved_by=uuid.uuid4())
            services.enrollment_deactivate(enrollment_ids=[pending.pk], deactivated_by=uuid.uuid4())
            services.enrollment_update(enrollment=pending, updated_by=uuid.uuid4(), active=True)
            services.enrollment_update(enrollment=pending, updated_by=uuid.uuid4(), active=True)  # no change
        finally:
            enrollment_activated.disconnect(dispatch_uid="tests.enrollment.activation_listener")

        assert announced == [[pending.pk], [pending.pk]]

    def test_accept_a_queryset(self, course, enroll):
        for _ in range(2):
            enroll(course, active=False)

        assert services.enrollment_approve(enrollment_ids=Enrollment.objects.values("pk"), approved_by=uuid.uuid4()) == 2


class TestHardDelete:
    def test_refuses_while_tracking_records_refer_to_the_track(self, course, enroll):
        enrollment = enroll(course)
        track = CourseTrack.objects.get(enrollment=enrollment)
        CourseTrackOverride.objects.create(tenant_id=enrollment.tenant_id, track=track, changed_by=uuid.uuid4())

        with pytest.raises(ConflictError):
            services.enrollment_hard_delete(enrollment=enrollment)
        assert Enrollment.objects.filter(pk=enrollment.pk).exists()

    def test_of_an_already_erased_enrollment_does_nothing(self, course, enroll):
        enrollment = enroll(course)
        services.enrollment_hard_delete(enrollment=enrollment)

        services.enrollment_hard_delete(enrollment=enrollment)

        assert not Enrollment.objects.exists()
