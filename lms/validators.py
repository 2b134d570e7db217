"""Validators shared by the API's serializers and the models' clean() (so the admin agrees)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

ALLOWED_LINK_SCHEMES = frozenset({"http", "https"})

# Browsers read a link the WHATWG way: leading and trailing C0 controls and spaces are dropped and
# tabs and newlines anywhere are removed, so " \x01javascript:" and "java\nscript:" still run.
_EDGES_BROWSERS_DROP = "".join(chr(code) for code in range(0x21))
_REMOVED_BY_BROWSERS = re.compile(r"[\t\n\r]")


def link_scheme(value: str) -> str | None:
    """The scheme a browser would read from `value` (lower case), or None for a relative link."""
    text = _REMOVED_BY_BROWSERS.sub("", value.strip(_EDGES_BROWSERS_DROP))
    # A backslash is a slash to browsers, so "\\\\evil.example" is a network-path link, not a path.
    text = text.replace("\\", "/")
    if text.startswith("//"):
        return "//"
    scheme = urlsplit(text).scheme
    return scheme.lower() or None


def validate_content_link(value: str) -> None:
    """A link authors enter (media url and source): http, https or a relative path.

    Anything a browser would run or read locally (`javascript:`, `data:`, `vbscript:`, `file:`, in
    any case and with any leading blanks or control characters) is refused. A scheme-relative
    `//host/path` is refused too: it leaves the site without saying how.

    Raises django.core.exceptions.ValidationError.
    """
    if not value:
        return
    scheme = link_scheme(value)
    if scheme is None or scheme in ALLOWED_LINK_SCHEMES:
        return
    if scheme == "//":
        raise ValidationError(
            "Write the link with http:// or https://, or as a relative path; a link starting with // is refused.",
            code="link_scheme",
        )
    raise ValidationError(
        f"Use an http or https link, or a relative path; the {scheme!r} scheme is refused.", code="link_scheme"
    )
