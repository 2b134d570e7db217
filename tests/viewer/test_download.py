"""summary/download returns a signed link; the link alone (no headers) streams the file for an hour."""

from __future__ import annotations

import csv
import io
import json
import time
import tracemalloc
import uuid
from types import SimpleNamespace
from unittest import mock
from urllib.parse import quote, urlparse

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from enrollment.models import Enrollment
from tests.factories import build_course
from tests.viewer.conftest import enrol, lesson_ids, wrapped
from tracking.models import CourseTrack
from viewer.api.download_links import DOWNLOAD_MAX_AGE_SECONDS, DOWNLOAD_SALT

pytestmark = pytest.mark.django_db

HEADER = ["collectionId", "batchId", "status", "progress", "completedOn", "enrolledDate", "lastAccessedOn",
          "certificatesCount"]


def download_url(client, user_id, *, fmt="csv", path="/v1/viewer/summary/download"):
    response = client.get(f"{path}/{user_id}?format={fmt}")
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == "api.viewer.summary.download"
    return response.json()["result"]["url"]


def fetch(url):
    """The link as a browser follows it: a plain client, no Authorization, no tenantid."""
    return Client().get(urlparse(url).path)


def body_of(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_csv_download_streams_one_row_per_enrolment(learner_client, course, enrolled, tenant):
    other = build_course(tenant=tenant, modules=1, lessons_per_module=1, certificate_term="COMPLETE_ALL")
    enrol(other, learner_client.user_id)
    learner_client.post("/v1/view/end", wrapped(contentId=lesson_ids(other)[0], collectionId=other.id), format="json")
    learner_client.post("/v1/view/end", wrapped(contentId=lesson_ids(course)[0], collectionId=course.id), format="json")

    url = download_url(learner_client, learner_client.user_id)
    assert url.startswith("http://testserver/v1/viewer/summary/file/")
    response = fetch(url)

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
    response = fetch(url)

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

    rows = body_of(fetch(download_url(learner_client, learner_client.user_id))).splitlines()

    assert rows == [",".join(HEADER)]


def test_unknown_format_is_a_client_error(learner_client):
    response = learner_client.get(f"/v1/viewer/summary/download/{learner_client.user_id}?format=xml")

    assert (response.status_code, response.json()["responseCode"]) == (400, "CLIENT_ERROR")


def test_format_defaults_to_csv(learner_client):
    response = learner_client.get(f"/v1/viewer/summary/download/{learner_client.user_id}")

    assert fetch(response.json()["result"]["url"])["Content-Type"].startswith("text/csv")


# --- The link is the credential (DECISIONS §8) ---------------------------------------------------


def test_learner_may_not_ask_for_another_users_link(learner_client):
    assert learner_client.get(f"/v1/viewer/summary/download/{uuid.uuid4()}").status_code == 403


def test_the_link_works_by_itself_with_no_headers(learner_client, course, enrolled):
    url = download_url(learner_client, learner_client.user_id)

    response = Client().get(url)

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    rows = list(csv.reader(io.StringIO(body_of(response))))
    assert [row[0] for row in rows[1:]] == [str(course.id)]


def test_headers_sent_with_the_link_are_ignored(learner_client, other_admin_client, course, enrolled, other_tenant):
    url = download_url(learner_client, learner_client.user_id)

    # Another tenant's admin, and a caller whose token is garbage: the link alone decides.
    by_other_tenant = other_admin_client.get(urlparse(url).path)
    with_a_bad_token = Client().get(url, HTTP_AUTHORIZATION="Bearer not-a-token", HTTP_TENANTID=str(other_tenant.id))

    for response in (by_other_tenant, with_a_bad_token):
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(body_of(response))))
        assert [row[0] for row in rows[1:]] == [str(course.id)]


def test_staff_link_for_a_learner_serves_that_learners_rows(admin_client, learner_client, course, enrolled):
    url = download_url(admin_client, learner_client.user_id)

    rows = list(csv.reader(io.StringIO(body_of(fetch(url)))))

    assert [row[0] for row in rows[1:]] == [str(course.id)]


def refused(response, status: int, err: str) -> dict:
    """The viewer envelope of a refused link: never a file, never HTML."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["id"] == "api.viewer.summary.file"
    assert body["params"]["status"] == "failed" and body["params"]["err"] == err, body["params"]
    assert body["params"]["errmsg"]
    assert body["responseCode"] == ("UNAUTHORIZED" if status == 403 else "CLIENT_ERROR")
    return body


def token_of(url: str) -> str:
    return urlparse(url).path.rsplit("/", 1)[-1]


def file_path(token: str) -> str:
    return f"/v1/viewer/summary/file/{token}"


def with_payload(token: str, claims) -> str:
    """The token with its payload replaced and its timestamp and signature kept: a forgery."""
    _, timestamp, signature = token.split(":")
    payload = signing.b64_encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
    return f"{payload}:{timestamp}:{signature}"


def test_another_users_or_tenants_payload_cannot_be_forged(learner_client, enrolled, tenant, other_tenant):
    token = token_of(download_url(learner_client, learner_client.user_id))
    mine = {"t": str(tenant.id), "u": str(learner_client.user_id), "f": "csv"}
    assert fetch(file_path(with_payload(token, mine))).status_code == 200

    for forged in ({**mine, "u": str(uuid.uuid4())}, {**mine, "t": str(other_tenant.id)}):
        refused(fetch(file_path(with_payload(token, forged))), 403, "ERR_LINK_FORBIDDEN")


def test_links_signed_with_another_salt_or_key_are_forbidden(learner_client, tenant, settings):
    claims = {"t": str(tenant.id), "u": str(learner_client.user_id), "f": "csv"}
    other_salt = signing.TimestampSigner(salt="another-salt").sign_object(claims)
    other_key = signing.TimestampSigner(key="another-secret-key-" * 3, salt=DOWNLOAD_SALT).sign_object(claims)

    for token in (other_salt, other_key):
        refused(fetch(file_path(token)), 403, "ERR_LINK_FORBIDDEN")


def test_changing_the_format_fails(learner_client, enrolled, tenant):
    url = download_url(learner_client, learner_client.user_id, fmt="csv")
    token = token_of(url)

    as_json = with_payload(token, {"t": str(tenant.id), "u": str(learner_client.user_id), "f": "json"})
    refused(fetch(file_path(as_json)), 403, "ERR_LINK_FORBIDDEN")
    refused(Client().get(f"{urlparse(url).path}?format=json"), 403, "ERR_LINK_FORBIDDEN")
    assert Client().get(f"{urlparse(url).path}?format=csv")["Content-Type"].startswith("text/csv")


def test_tampered_and_truncated_links_are_refused(learner_client, enrolled):
    url = download_url(learner_client, learner_client.user_id)
    token = token_of(url)

    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    refused(fetch(file_path(tampered)), 403, "ERR_LINK_FORBIDDEN")
    refused(fetch(file_path(token[:-5])), 403, "ERR_LINK_FORBIDDEN")
    refused(fetch(file_path(token.rsplit(":", 1)[0])), 400, "ERR_BAD_LINK")
    refused(fetch(file_path(token[:10])), 400, "ERR_BAD_LINK")


@pytest.mark.parametrize("token", ["x", "a:b", "::", "a:b:c:d", "a b:c:d", "%00:1:2", "é:1:2", "A" * 2000])
def test_malformed_links_are_400(token):
    refused(fetch(file_path(quote(token))), 400, "ERR_BAD_LINK")


@pytest.mark.parametrize(
    "claims",
    [
        {"t": "TENANT", "u": "USER"},
        {"u": "USER", "f": "csv"},
        {"t": "TENANT", "f": "csv"},
        {"t": 12345, "u": "USER", "f": "csv"},
        {"t": "TENANT", "u": ["USER"], "f": "csv"},
        {"t": "TENANT", "u": "USER", "f": "xml"},
        {"t": "TENANT", "u": "USER", "f": ["csv"]},
        {"t": "not-a-uuid", "u": "USER", "f": "csv"},
        {"t": "TENANT", "u": "USER", "f": None},
        ["TENANT", "USER", "csv"],
        "TENANT",
        None,
        42,
    ],
)
def test_a_signed_payload_without_the_right_fields_is_400(learner_client, tenant, claims):
    names = {"TENANT": str(tenant.id), "USER": str(learner_client.user_id)}

    def resolve(value):
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return names.get(value, value) if isinstance(value, str) else value

    token = signing.TimestampSigner(salt=DOWNLOAD_SALT).sign_object(resolve(claims))

    refused(fetch(file_path(token)), 400, "ERR_BAD_LINK")


def test_a_signed_value_that_is_not_a_payload_is_400():
    token = signing.TimestampSigner(salt=DOWNLOAD_SALT).sign("abc")

    refused(fetch(file_path(token)), 400, "ERR_BAD_LINK")


def at(moment: float):
    """Freezes the clock the signer reads (django.core.signing's `time.time`) at `moment`."""
    return mock.patch.object(signing, "time", SimpleNamespace(time=lambda: moment))


def test_the_link_expires_after_an_hour(learner_client, enrolled):
    issued_at = time.time()
    with at(issued_at):
        url = download_url(learner_client, learner_client.user_id)

    with at(issued_at + DOWNLOAD_MAX_AGE_SECONDS - 1):
        assert fetch(url).status_code == 200
    with at(issued_at + DOWNLOAD_MAX_AGE_SECONDS + 1):
        refused(fetch(url), 410, "ERR_LINK_EXPIRED")


def test_an_expired_link_with_a_bad_signature_is_forbidden_not_expired(learner_client, enrolled):
    issued_at = time.time()
    with at(issued_at):
        token = token_of(download_url(learner_client, learner_client.user_id))

    with at(issued_at + 2 * DOWNLOAD_MAX_AGE_SECONDS):
        refused(fetch(file_path(token[:-2] + "zz")), 403, "ERR_LINK_FORBIDDEN")


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
    response = fetch(download_url(learner_client, learner_client.user_id))

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
