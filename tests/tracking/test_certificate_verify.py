"""GET /certificates/verify/:token (DECISIONS §10): public, throttled, JSON or a printable PDF."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from lms.api import throttling
from tests.tracking.insight_world import build_world
from tracking.models import IssuedCertificate

pytestmark = pytest.mark.django_db

PINNED_NOW = 1_800_000_000.0 - 1_800_000_000.0 % 60 + 20


@pytest.fixture(autouse=True)
def _pinned_clock_and_empty_counters(monkeypatch):
    monkeypatch.setattr(throttling, "_clock", lambda: PINNED_NOW)
    caches["throttle"].clear()
    yield
    caches["throttle"].clear()


@pytest.fixture
def certificate(tenant) -> IssuedCertificate:
    world = build_world(tenant)
    return IssuedCertificate.objects.get(user_id=world.finished)


def verify_url(token: str) -> str:
    return f"/certificates/verify/{token}"


def test_anyone_verifies_a_certificate_without_token_or_tenant(certificate, tenant):
    response = APIClient().get(verify_url(certificate.token))

    assert response.status_code == 200 and response.json()["id"] == "api.certificate.verify"
    assert response.json()["result"] == {
        "valid": True, "certificateId": str(certificate.id), "name": certificate.name,
        "courseId": str(certificate.course_id), "courseTitle": certificate.course.title,
        "learnerName": "Ada Lovelace", "issuedOn": certificate.issued_at.isoformat().replace("+00:00", "Z"),
        "tenant": tenant.name,
    }


def test_a_learner_unknown_to_the_directory_has_no_name(certificate):
    from lms.models import LearnerDirectoryEntry

    LearnerDirectoryEntry.objects.all().delete()
    assert APIClient().get(verify_url(certificate.token)).json()["result"]["learnerName"] is None


def test_an_unknown_token_is_404(db):
    response = APIClient().get(verify_url("not-a-real-token"))
    assert response.status_code == 404
    assert response.json()["params"]["err"] == "ERR_CERTIFICATE_NOT_FOUND"


def test_a_printable_pdf(certificate):
    response = APIClient().get(verify_url(certificate.token), {"format": "pdf"})

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    # The verification URL is linked on the page.
    assert f"/certificates/verify/{certificate.token}".encode() in response.content


def test_an_unknown_format_is_400(certificate):
    response = APIClient().get(verify_url(certificate.token), {"format": "docx"})
    assert response.status_code == 400 and "format" in response.json()["result"]["errors"]


def test_an_empty_format_is_400_not_the_default(certificate):
    # Found by the schemathesis pass: `?format=` used to fall back to JSON.
    response = APIClient().get(verify_url(certificate.token) + "?format=")
    assert response.status_code == 400
    assert response.json()["result"]["errors"]["format"] == ["`format` is empty; give it a value or leave it out."]


def test_an_unknown_token_as_pdf_is_a_json_404(db):
    response = APIClient().get(verify_url("nope"), {"format": "pdf"})
    assert response.status_code == 404 and response.json()["params"]["err"] == "ERR_CERTIFICATE_NOT_FOUND"


def test_it_is_throttled_per_address(certificate, settings):
    settings.LMS_THROTTLE_PUBLIC = "3/min"
    client = APIClient()
    answers = [client.get(verify_url(certificate.token)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    # Another address has its own window.
    assert client.get(verify_url(certificate.token), REMOTE_ADDR="10.0.0.9").status_code == 200


def test_two_queries(certificate, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # certificate with course and tenant name, directory entry
        assert APIClient().get(verify_url(certificate.token)).status_code == 200
