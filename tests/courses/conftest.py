"""Fixtures and helpers for the catalogue tests: image files, envelopes, payloads."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from courses.models import ContentStatus
from tests.factories import CourseFactory, LessonFactory, ModuleFactory, PlacementFactory

COURSE_BODY = {
    "title": "Django for authors",
    "shortDescription": "Short",
    "description": "Long description",
    "startDatetime": "2024-03-20T00:00:00Z",
    "endDatetime": "2024-12-31T23:59:59Z",
}


def image_file(fmt: str = "PNG", size=(32, 16), name: str = "cover.png", noisy: bool = False) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noisy else Image.new("RGB", size, "teal")
    image.save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int = 100_000, height: int = 100_000) -> SimpleUploadedFile:
    """A tiny, well-formed PNG whose header claims width × height pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    payload = zlib.compress(b"\x00" * 64)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", payload) + _png_chunk(b"IEND", b"")
    return SimpleUploadedFile("bomb.png", data, content_type="image/png")


def ok(response, status: int = 200):
    """The `result` of a successful LMS envelope."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["params"]["status"] == "successful"
    assert body["responseCode"] == status
    return body["result"]


def failed(response, status: int, err: str | None = None) -> dict:
    """The params of a failed LMS envelope (never HTML, always an actionable errmsg)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["params"]["status"] == "failed"
    assert body["responseCode"] == status
    assert body["params"]["errmsg"]
    if err is not None:
        assert body["params"]["err"] == err, body["params"]
    return body


@pytest.fixture
def warm(tenant, other_tenant):
    """Resolves both tenants once, so query counts measure the endpoint, not tenant provisioning."""

    def run(*clients):
        for client in clients:
            client.get("/courses")

    return run


@pytest.fixture
def draft_course(tenant):
    return CourseFactory(tenant=tenant, status=ContentStatus.UNPUBLISHED)


@pytest.fixture
def course(tenant):
    return CourseFactory(tenant=tenant)


@pytest.fixture
def module(course):
    return ModuleFactory(course=course, tenant=course.tenant, ordering=1)


@pytest.fixture
def lesson(tenant):
    return LessonFactory(tenant=tenant)


@pytest.fixture
def placement(module, lesson):
    return PlacementFactory(module=module, course=module.course, tenant=module.tenant, lesson=lesson, ordering=1)
