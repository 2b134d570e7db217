"""Rate strings of the rate limits ("6000/min"), parsed once; used by the settings and the throttle."""

from __future__ import annotations

import functools
import re

from django.core.exceptions import ImproperlyConfigured

_RATE = re.compile(r"^(\d+)/(s|sec|second|m|min|minute|h|hour|d|day)$")
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_OFF = ("", "off", "none")


@functools.lru_cache(maxsize=16)
def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """(requests, period in seconds) of a DRF rate string such as "6000/min"; None when "off".

    Raises ImproperlyConfigured for anything else, so a typo stops the start-up (settings call it).
    """
    text = (rate or "").strip().lower().replace(" ", "")
    if text in _OFF:
        return None
    match = _RATE.match(text)
    if match is None or int(match[1]) < 1:
        raise ImproperlyConfigured(
            f"A rate limit must look like `6000/min` (count per s, min, hour or day) or be `off`, not {rate!r}."
        )
    return int(match[1]), _PERIOD_SECONDS[match[2][0]]
