"""lms.admin_uploads.uploaded_text: the text of a file uploaded on an admin page, or a refusal
said to the author."""

from __future__ import annotations

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile

from lms.admin_uploads import uploaded_text

TOO_LARGE = "Upload at most 16 bytes; split the file."


def _text(content: bytes, max_bytes: int = 16) -> str:
    return uploaded_text(SimpleUploadedFile("learners.csv", content), max_bytes=max_bytes, too_large=TOO_LARGE)


def test_utf8_text_is_read_as_it_is():
    assert _text("Zoë,zoe@x\n".encode()) == "Zoë,zoe@x\n"


def test_a_spreadsheets_byte_order_mark_is_dropped():
    assert _text(b"\xef\xbb\xbfuser_id,name") == "user_id,name"


def test_a_file_of_exactly_the_limit_is_read():
    assert _text(b"x" * 16) == "x" * 16


def test_a_file_over_the_limit_is_refused_with_the_callers_message():
    with pytest.raises(forms.ValidationError) as refused:
        _text(b"x" * 17)

    assert refused.value.messages == [TOO_LARGE]


def test_a_file_that_is_not_utf8_is_refused():
    with pytest.raises(forms.ValidationError) as refused:
        _text("Zoë".encode("latin-1"))

    assert refused.value.messages == ["The file is not UTF-8 text; save it as CSV (UTF-8) and upload it again."]
