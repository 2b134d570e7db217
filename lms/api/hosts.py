"""The Host header's check against ALLOWED_HOSTS, remembered per header (issue 15).

Django checks the header on every `request.get_host()` call, some 35–40k instructions; the
production handler's requests make that call on every request (CommonMiddleware), and a course
read makes it again to name its cached body by the host. The verdict is the same while the
settings it was checked under are, so an accepted header is remembered with the ALLOWED_HOSTS
object and DEBUG. Only accepted headers are kept (a refused one raises DisallowedHost every time,
as before), at most CHECKED_HOSTS_MAX of them: a wildcard in ALLOWED_HOSTS admits any number.
The memo assumes ALLOWED_HOSTS is replaced, never changed in place (settings overrides do that).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

_checked_hosts: dict[str, tuple[list, bool]] = {}
CHECKED_HOSTS_MAX = 64


def checked_host(request, check: Callable[[], str]) -> str:
    """`request.get_host()`, with `check` being Django's own: from the memo when this header was
    accepted under the current settings, else `check()` (which raises DisallowedHost for a refused one)."""
    host = request.META.get("HTTP_HOST")
    if host is None or settings.USE_X_FORWARDED_HOST:  # the host comes from elsewhere: Django's own way
        return check()
    checked_under = _checked_hosts.get(host)
    if checked_under is not None and checked_under[0] is settings.ALLOWED_HOSTS and checked_under[1] == settings.DEBUG:
        return host
    host = check()
    if len(_checked_hosts) < CHECKED_HOSTS_MAX:
        _checked_hosts[host] = (settings.ALLOWED_HOSTS, settings.DEBUG)
    return host
