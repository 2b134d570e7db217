"""Image uploads for courses, modules and lessons (DECISIONS §3).

An upload is verified with Pillow before anything is stored: the format must be one of a
short whitelist, the file at most `LMS_IMAGE_MAX_BYTES`, and the pixel count (read from the
header, before any decoding) at most `LMS_IMAGE_MAX_PIXELS`, so that a small file claiming
huge dimensions (a decompression bomb) never reaches a decoder. Files are stored through
Django's storage API under a generated name; the client's filename is never used.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.files import File
from django.db import transaction
from PIL import Image, UnidentifiedImageError

FORMAT_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000


def max_bytes() -> int:
    return getattr(settings, "LMS_IMAGE_MAX_BYTES", DEFAULT_MAX_BYTES)


def max_pixels() -> int:
    return getattr(settings, "LMS_IMAGE_MAX_PIXELS", DEFAULT_MAX_PIXELS)


class ImageRejected(ValueError):
    """The upload is not an acceptable image; the message tells the client what to send instead."""


@dataclass(frozen=True)
class VerifiedImage:
    """An upload that passed verification, with the extension its real format calls for."""

    file: File
    format: str
    width: int
    height: int

    @property
    def storage_name(self) -> str:
        # Only the extension survives into storage; upload_to generates the rest of the name.
        return f"image.{FORMAT_EXTENSIONS[self.format]}"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def verify_image(upload) -> VerifiedImage:
    """Checks size, format and pixel count of an uploaded file, then Pillow's integrity check.

    Returns a VerifiedImage; raises ImageRejected with an actionable message otherwise.
    """
    if not hasattr(upload, "read") or not hasattr(upload, "size"):
        raise ImageRejected("Send the image as a file part of a multipart/form-data request.")
    if upload.size > max_bytes():
        raise ImageRejected(f"The image is {_megabytes(upload.size)}; the limit is {_megabytes(max_bytes())}.")
    if upload.size == 0:
        raise ImageRejected("The image file is empty.")
    allowed = ", ".join(sorted(FORMAT_EXTENSIONS))
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its own limit raises) on huge images; ours is stricter.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload, formats=list(FORMAT_EXTENSIONS))
            image_format, (width, height) = image.format, image.size
            if width * height > max_pixels():
                raise ImageRejected(_too_many_pixels(width, height))
            image.verify()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("The image's dimensions are too large to process safely.") from None
    except UnidentifiedImageError:
        raise ImageRejected(f"The file is not an image in an accepted format ({allowed}).") from None
    except Exception:  # Pillow raises many types for corrupt data (SyntaxError, OSError, ValueError...)
        raise ImageRejected(f"The image is corrupt or truncated; send a valid {allowed} file.") from None
    finally:
        upload.seek(0)
    if image_format not in FORMAT_EXTENSIONS:
        raise ImageRejected(f"Images must be one of {allowed}; this file is {image_format}.")
    return VerifiedImage(file=upload, format=image_format, width=width, height=height)


def _too_many_pixels(width: int, height: int) -> str:
    return (
        f"The image is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
        f"the limit is {max_pixels() / 1e6:.0f} megapixels."
    )


@contextlib.contextmanager
def files_discarded_on_error() -> Iterator[list]:
    """Yields a list to record (storage, name) of files a write stores; deletes them if the write fails.

    A write stores its new file before its transaction commits (the row must name the file). If
    the write then fails, the file would be an orphan; this removes it again.
    """
    stored: list[tuple[object, str]] = []
    try:
        yield stored
    except BaseException:
        for storage, name in stored:
            storage.delete(name)
        raise


def image_replace(*, instance, field_name: str, image: VerifiedImage | None, stored: list) -> None:
    """Stores `image` in `instance.<field_name>` (or clears it when None), without saving the row.

    The replaced file is deleted only after the surrounding transaction commits, so a rolled
    back write never loses the image the row still names. Must run inside the write's transaction.
    """
    field_file = getattr(instance, field_name)
    old_name, storage = field_file.name, field_file.storage
    if image is None:
        setattr(instance, field_name, "")
    else:
        field_file.save(image.storage_name, image.file, save=False)
        stored.append((storage, field_file.name))
    if old_name:
        transaction.on_commit(partial(storage.delete, old_name))


def image_copy(*, source_field_file, instance, field_name: str, stored: list) -> None:
    """Gives `instance` its own copy of another row's image (so deleting one never breaks the other)."""
    if not source_field_file or not source_field_file.name:
        return
    storage = source_field_file.storage
    if not storage.exists(source_field_file.name):
        return
    extension = source_field_file.name.rsplit(".", 1)[-1] if "." in source_field_file.name else ""
    target = getattr(instance, field_name)
    with storage.open(source_field_file.name, "rb") as source:
        target.save(f"image.{extension}", File(source), save=False)
    stored.append((storage, target.name))
