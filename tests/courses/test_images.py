"""Image uploads: Pillow verification, caps, generated names, old files deleted after commit."""

from __future__ import annotations

import os

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from courses.images import ImageRejected, verify_image
from courses.models import Course
from tests.courses.conftest import COURSE_BODY, bomb_png, failed, image_file, ok


@pytest.mark.parametrize(
    ("fmt", "extension"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp"), ("GIF", "gif")]
)
def test_accepted_formats_are_verified(fmt, extension):
    verified = verify_image(image_file(fmt, name="anything.bin"))
    assert verified.format == fmt
    assert verified.storage_name == f"image.{extension}"


def test_a_bmp_is_not_accepted():
    with pytest.raises(ImageRejected, match="accepted format"):
        verify_image(image_file("BMP", name="x.bmp"))


def test_a_text_file_named_png_is_rejected():
    with pytest.raises(ImageRejected, match="not an image"):
        verify_image(SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png"))


def test_a_truncated_png_is_rejected():
    data = image_file().read()
    with pytest.raises(ImageRejected):
        verify_image(SimpleUploadedFile("cut.png", data[: len(data) // 2], content_type="image/png"))


def test_decompression_bomb_is_rejected_from_its_header():
    with pytest.raises(ImageRejected, match="too large|megapixels"):
        verify_image(bomb_png())


def test_pixel_cap_applies_below_pillows_own_limit(settings):
    settings.LMS_IMAGE_MAX_PIXELS = 100
    with pytest.raises(ImageRejected, match="megapixels"):
        verify_image(image_file(size=(20, 20)))


def test_oversized_file_is_rejected(settings):
    settings.LMS_IMAGE_MAX_BYTES = 2000
    with pytest.raises(ImageRejected, match="limit is"):
        verify_image(image_file(size=(64, 64), noisy=True))


def _create(client, image):
    return client.post("/courses", {**COURSE_BODY, "image": image}, format="multipart")


def test_api_stores_image_under_generated_name_and_answers_its_url(admin_client, settings):
    result = ok(_create(admin_client, image_file(name="../../etc/passwd.png")), 201)
    course = Course.objects.get(pk=result["courseId"])
    assert course.image.name.startswith(f"courses/{course.tenant_id}/")
    assert course.image.name.endswith(".png") and "passwd" not in course.image.name
    assert result["image"] == f"http://testserver{settings.MEDIA_URL}{course.image.name}"
    assert default_storage.exists(course.image.name)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: bomb_png(), "too large"),
        (lambda: SimpleUploadedFile("notes.png", b"plain text", content_type="image/png"), "not an image"),
        (lambda: image_file("BMP", name="x.bmp"), "accepted format"),
    ],
)
def test_api_rejects_bad_images_with_400_and_writes_nothing(admin_client, upload, message):
    body = failed(_create(admin_client, upload()), 400, "ERR_VALIDATION")
    assert message in body["result"]["errors"]["image"][0]
    assert body["params"]["errmsg"].startswith("image:")
    assert not Course.objects.exists()


def test_api_rejects_oversized_image(admin_client, settings):
    settings.LMS_IMAGE_MAX_BYTES = 2000
    body = failed(_create(admin_client, image_file(size=(64, 64), noisy=True)), 400)
    assert "limit is" in body["result"]["errors"]["image"][0]


def test_image_sent_as_text_field_is_rejected(admin_client):
    body = failed(admin_client.post("/courses", {**COURSE_BODY, "image": "http://x/y.png"}), 400)
    assert "multipart" in body["result"]["errors"]["image"][0]


def test_replacing_an_image_deletes_the_old_file_after_commit(admin_client, django_capture_on_commit_callbacks):
    result = ok(_create(admin_client, image_file()), 201)
    old_name = Course.objects.get(pk=result["courseId"]).image.name
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        updated = ok(admin_client.put(f"/courses/{result['courseId']}", {"image": image_file("JPEG")}, format="multipart"))
    new_name = Course.objects.get(pk=result["courseId"]).image.name
    assert new_name != old_name and new_name.endswith(".jpg")
    assert updated["image"].endswith(new_name)
    # Until the transaction commits, the old file is still there (a rollback must not lose it).
    assert default_storage.exists(old_name)
    assert len(callbacks) == 1
    callbacks[0]()
    assert not default_storage.exists(old_name)
    assert default_storage.exists(new_name)


def test_removing_an_image_with_an_empty_field(admin_client, django_capture_on_commit_callbacks):
    result = ok(_create(admin_client, image_file()), 201)
    old_name = Course.objects.get(pk=result["courseId"]).image.name
    with django_capture_on_commit_callbacks(execute=True):
        updated = ok(admin_client.put(f"/courses/{result['courseId']}", {"image": ""}, format="multipart"))
    assert updated["image"] is None
    assert not default_storage.exists(old_name)


def test_a_failed_write_leaves_no_orphan_file(admin_client, settings):
    # The image is valid but the schedule is not: the service refuses before storing anything,
    # and a failure after storing removes the new file again.
    course = ok(_create(admin_client, image_file()), 201)
    media_dir = os.path.join(settings.MEDIA_ROOT, "courses")
    files_before = sum(len(files) for _, _, files in os.walk(media_dir))
    failed(
        admin_client.put(
            f"/courses/{course['courseId']}",
            {"image": image_file(), "endDatetime": "2024-01-01T00:00:00Z"},
            format="multipart",
        ),
        400,
    )
    assert sum(len(files) for _, _, files in os.walk(media_dir)) == files_before


def test_the_embedded_server_serves_the_uploaded_file(admin_client, client):
    result = ok(_create(admin_client, image_file()), 201)
    path = result["image"].removeprefix("http://testserver")
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_files_stored_by_a_failing_write_are_deleted_again(tenant):
    from django.db import transaction

    from courses.images import files_discarded_on_error, image_replace

    course = Course(tenant=tenant)
    with pytest.raises(RuntimeError), files_discarded_on_error() as stored, transaction.atomic():
        image_replace(instance=course, field_name="image", image=verify_image(image_file()), stored=stored)
        assert default_storage.exists(course.image.name)
        raise RuntimeError("the write fails after storing its file")
    assert stored and not default_storage.exists(stored[0][1])
