"""Media on object storage (issue 15): with LMS_MEDIA_STORAGE=s3 an uploaded course image goes to an
S3 bucket, here moto's S3 server on loopback, and the URL the API answers fetches it from there."""

from __future__ import annotations

import os
import socket
import urllib.request

import pytest
from django.core.files.storage import default_storage

from courses.models import Course
from lms.media import FILESYSTEM, S3, media_storage
from tests.courses.conftest import COURSE_BODY, image_file, ok

BUCKET = "lms-media-test"


def _free_port() -> int:
    # Ports of this worktree's own servers (PORTBASE+6..+9; topology/ uses the ones below).
    base = int(os.environ.get("LMS_PORTBASE", "18900"))
    for port in range(base + 6, base + 10):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip(f"no free port in {base + 6}..{base + 9} for the S3 server")


@pytest.fixture(scope="module")
def s3_endpoint():
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_media(s3_endpoint, settings, tmp_path):
    import boto3

    environ = {
        "LMS_MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": BUCKET, "AWS_S3_ENDPOINT_URL": s3_endpoint,
        "AWS_S3_REGION_NAME": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    }
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    if BUCKET not in {bucket["Name"] for bucket in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    # An empty MEDIA_ROOT shows that nothing lands on local disk.
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "default": media_storage(environ)}
    return client


def test_the_embedded_default_stays_on_local_disk():
    assert media_storage({}) == FILESYSTEM
    assert media_storage({"LMS_MEDIA_STORAGE": "local"}) == FILESYSTEM


def test_s3_takes_its_settings_from_the_environment():
    storage = media_storage({
        "LMS_MEDIA_STORAGE": "S3", "AWS_STORAGE_BUCKET_NAME": "b", "AWS_S3_ENDPOINT_URL": "http://s3.local",
        "AWS_S3_CUSTOM_DOMAIN": "cdn.example.com", "AWS_QUERYSTRING_AUTH": "false", "AWS_LOCATION": "media",
    })
    assert storage["BACKEND"] == S3
    assert storage["OPTIONS"] == {
        "bucket_name": "b", "endpoint_url": "http://s3.local", "custom_domain": "cdn.example.com",
        "querystring_auth": False, "location": "media", "file_overwrite": False,
    }


@pytest.mark.parametrize(
    ("environ", "message"),
    [({"LMS_MEDIA_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME"), ({"LMS_MEDIA_STORAGE": "ftp"}, "'local' or 's3'")],
)
def test_a_misconfigured_storage_fails_at_start(environ, message):
    with pytest.raises(ValueError, match=message):
        media_storage(environ)


def test_an_uploaded_course_image_is_stored_in_the_bucket_and_fetched_from_its_url(admin_client, s3_media, tmp_path):
    result = ok(admin_client.post("/courses", {**COURSE_BODY, "image": image_file()}, format="multipart"), 201)
    course = Course.objects.get(pk=result["courseId"])
    stored = s3_media.get_object(Bucket=BUCKET, Key=course.image.name)["Body"].read()
    assert stored[:8] == b"\x89PNG\r\n\x1a\n"
    assert not any(tmp_path.iterdir()), "the upload also landed on local disk"

    url = result["image"]
    assert url.startswith(f"{s3_media.meta.endpoint_url}/{BUCKET}/{course.image.name}?")  # a signed URL
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 -- the loopback test server
        assert response.status == 200
        assert response.read() == stored
    # The course tree answers the same URL.
    detail = ok(admin_client.get(f"/courses/{course.pk}"))
    assert detail["image"].split("?")[0] == url.split("?")[0]


def test_replacing_an_image_deletes_the_old_object_after_commit(admin_client, s3_media, django_capture_on_commit_callbacks):
    result = ok(admin_client.post("/courses", {**COURSE_BODY, "image": image_file()}, format="multipart"), 201)
    old_name = Course.objects.get(pk=result["courseId"]).image.name
    with django_capture_on_commit_callbacks(execute=True):
        ok(admin_client.put(f"/courses/{result['courseId']}", {"image": image_file("JPEG")}, format="multipart"))
    new_name = Course.objects.get(pk=result["courseId"]).image.name
    assert not default_storage.exists(old_name)
    assert default_storage.exists(new_name)
