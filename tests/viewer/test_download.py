"""summary/download returns a signed link; the file behind it streams to its owner or staff only."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
import uuid
from urllib.parse import urlparse

import pytest
from django.core import signing
from django.utils import timezone

from enrollment.models import Enrollment
from tests.factories import build_course
from tests.viewer.conftest import enrol, lesson_ids, wrapped
from tracking.models import CourseTrack
from viewer.api.views import DOWNLOAD_SALT

pytestmark = pytest.mark.django_db

HEADER = ["collectionId", "batchId", "status", "progress", "completedOn", "enrolledDate", "lastAccessedOn",
          "certificatesCount"]


def download_url(client, user_id, *, fmt="csv", path="/v1/viewer/summary/download"):
    response = client.get(f"{path}/{user_id}?format={fmt}")
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == "api.viewer.summary.download"
    return response.json()["result"]["url"]


def fetch(client, url):
    return client.get(urlparse(url).path)


def body_of(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_csv_download_streams_one_row_per_enrolment(learner_client, course, enrolled, tenant):
    other = build_course(tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL")
    enrol(other, learner_client.user_id)
    learner_client.post("/v1/view/end", wrapped(contentId=lesson_ids(other)[0], collectionId=other.id), format="json")
    learner_client.post("/v1/view/end", wrapped(contentId=lesson_ids(course)[0], collectionId=course.id), format="json")

    url = download_url(learner_client, learner_client.user_id)
    assert url.startswith("http://testserver/v1/viewer/summary/file/")
    response = fetch(learner_client, url)

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="{learner_client.user_id}_viewer_summary.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body_of(response))))
    assert rows[0] == HEADER
    by_course = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert set(by_course) == {str(course.id), str(other.id)}
    completed = by_course[str(other.id)]
    track = CourseTrack.objects.get(course=other)
    assert (completed["status"], completed["progress"], completed["certificatesCount"]) == ("2", "100", "1")
    assert completed["completedOn"] == str(int(track.timeend.timestamp() * 1000))
    started = by_course[str(course.id)]
    assert (started["status"], started["progress"], started["completedOn"], started["certificatesCount"]) == (
        "1", "25", "", "0"
    )
    assert started["enrolledDate"] == str(int(enrolled.enrolled_on_time.timestamp() * 1000))
    assert int(started["lastAccessedOn"]) > 0


def test_json_download_through_the_alias_path(learner_client, course, enrolled):
    url = download_url(learner_client, learner_client.user_id, fmt="json", path="/v1/summary/download")
    response = fetch(learner_client, url)

    assert response["Content-Type"].startswith("application/json")
    document = json.loads(body_of(response))
    assert document["userId"] == str(learner_client.user_id)
    assert document["summary"] == [{
        "collectionId": str(course.id), "batchId": str(course.id), "status": 0, "progress": 0, "completedOn": None,
        "enrolledDate": int(enrolled.enrolled_on_time.timestamp() * 1000), "lastAccessedOn": None,
        "certificatesCount": 0,
    }]


def test_deleted_summaries_are_not_downloaded(learner_client, course, enrolled):
    learner_client.delete(f"/v1/viewer/summary/delete/{learner_client.user_id}?all=true")

    rows = body_of(fetch(learner_client, download_url(learner_client, learner_client.user_id))).splitlines()

    assert rows == [",".join(HEADER)]


def test_unknown_format_is_a_client_error(learner_client):
    response = learner_client.get(f"/v1/viewer/summary/download/{learner_client.user_id}?format=xml")

    assert (response.status_code, response.json()["responseCode"]) == (400, "CLIENT_ERROR")


def test_format_defaults_to_csv(learner_client):
    response = learner_client.get(f"/v1/viewer/summary/download/{learner_client.user_id}")

    assert fetch(learner_client, response.json()["result"]["url"])["Content-Type"].startswith("text/csv")


# --- Access control ---------------------------------------------------------------------------


def test_learner_may_not_ask_for_another_users_link(learner_client):
    assert learner_client.get(f"/v1/viewer/summary/download/{uuid.uuid4()}").status_code == 403


def test_the_file_serves_its_owner_and_staff_only(learner_client, client_for, admin_client, other_admin_client,
                                                  enrolled, tenant):
    url = download_url(learner_client, learner_client.user_id)

    assert fetch(learner_client, url).status_code == 200
    assert fetch(admin_client, url).status_code == 200
    other_learner = fetch(client_for(tenant, "learner"), url)
    assert (other_learner.status_code, other_learner.json()["responseCode"]) == (403, "UNAUTHORIZED")
    other_tenant = fetch(other_admin_client, url)
    assert (other_tenant.status_code, other_tenant.json()["responseCode"]) == (404, "RESOURCE_NOT_FOUND")
    from rest_framework.test import APIClient

    assert APIClient().get(urlparse(url).path).status_code == 401


def test_staff_link_for_a_learner_serves_that_learners_rows(admin_client, learner_client, course, enrolled):
    url = download_url(admin_client, learner_client.user_id)

    rows = list(csv.reader(io.StringIO(body_of(fetch(learner_client, url)))))

    assert [row[0] for row in rows[1:]] == [str(course.id)]


def test_tampered_and_expired_links_are_refused(learner_client, enrolled, tenant):
    url = download_url(learner_client, learner_client.user_id)
    tampered = fetch(learner_client, url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"))
    assert (tampered.status_code, tampered.json()["params"]["err"]) == (400, "ERR_BAD_LINK")

    forged = signing.TimestampSigner(salt="another-salt").sign_object(
        {"t": str(tenant.id), "u": str(learner_client.user_id), "f": "csv"}
    )
    assert learner_client.get(f"/v1/viewer/summary/file/{forged}").status_code == 400

    signer = signing.TimestampSigner(salt=DOWNLOAD_SALT)
    old = signer.sign_object({"t": str(tenant.id), "u": str(learner_client.user_id), "f": "csv"})
    signer_timestamp = signing.b62_encode(int(timezone.now().timestamp()) - 7200)
    payload, _, _ = old.rsplit(":", 2)
    expired_value = f"{payload}:{signer_timestamp}"
    expired = f"{expired_value}:{signer.signature(expired_value)}"
    response = learner_client.get(f"/v1/viewer/summary/file/{expired}")
    assert (response.status_code, response.json()["params"]["err"]) == (410, "ERR_LINK_EXPIRED")


# --- Streaming at scale --------------------------------------------------------------------------


def test_ten_thousand_rows_stream_with_flat_memory(learner_client, course, tenant):
    rows = 10_000
    now = timezone.now()
    enrollments = Enrollment.objects.bulk_create([
        Enrollment(user_id=learner_client.user_id, tenant=tenant, course=course, batch_id=uuid.uuid4(),
                   enrolled_on_time=now, end_time=course.end_datetime)
        for _ in range(rows)
    ])
    CourseTrack.objects.bulk_create([
        CourseTrack(user_id=learner_client.user_id, tenant=tenant, course=course, enrollment=enrollment,
                    batch_id=enrollment.batch_id, timestart=now, no_of_lessons=4)
        for enrollment in enrollments
    ])
    response = fetch(learner_client, download_url(learner_client, learner_client.user_id))

    tracemalloc.start()
    lines = 0
    chunks = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        chunks += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert lines == rows + 1
    assert chunks > 1000  # row by row, never one buffered body
    # About 2 MB: one export chunk at a time; 10,000 materialised rows would take several times that.
    assert peak < 4 * 1024 * 1024
