"""The insight selectors' answers have exactly the shapes the OpenAPI schema documents."""

from __future__ import annotations

import pytest

from tests.tracking.insight_world import build_world
from tracking import insight
from tracking.api import insight_serializers as s
from tracking.models import IssuedCertificate

pytestmark = pytest.mark.django_db


def assert_documented(serializer_class, data: dict) -> None:
    serializer = serializer_class(data=data)
    assert serializer.is_valid(), serializer.errors
    assert set(data) == set(serializer_class().fields)


def test_report_explain_and_verify_answer_as_documented(tenant):
    world = build_world(tenant)

    report = insight.course_report(tenant_id=tenant.id, course_id=world.course.id).as_result()
    assert_documented(s.CourseReportSerializer, report)
    assert set(report["lessons"][0]) == set(s.ReportLessonSerializer().fields)
    assert set(report["weekly"][0]) == set(s.ReportWeekSerializer().fields)
    for user_id in world.learners:
        explained = insight.course_progress_explain(tenant_id=tenant.id, course_id=world.course.id,
                                                    user_id=user_id).as_result()
        assert_documented(s.ExplainSerializer, explained)
        assert set(explained["certificate"]) == set(s.ExplainCertificateSerializer().fields)
    token = IssuedCertificate.objects.get(user_id=world.finished).token
    assert_documented(s.VerifiedCertificateSerializer, insight.certificate_verify(token=token).as_result())
