"""Text files uploaded on admin pages (the learner import, the class enrolment)."""

from __future__ import annotations

from django import forms


def uploaded_text(upload, *, max_bytes: int, too_large: str) -> str:
    """The upload's text, as UTF-8 (a spreadsheet's byte-order mark dropped). Raises a form
    ValidationError, said to the author, for a file over `max_bytes` (`too_large` says what to
    do) or one that is not UTF-8 text."""
    if upload.size > max_bytes:
        raise forms.ValidationError(too_large)
    try:
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise forms.ValidationError("The file is not UTF-8 text; save it as CSV (UTF-8) and upload it again.") from None
