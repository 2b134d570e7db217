"""Per-user and per-tenant rate limits on the shared cache (DECISIONS §8).

Each limit is a counter per fixed window (one minute for "12000/min"), so one request costs one
increment per limit, and both limits share a single cache round trip. DRF's SimpleRateThrottle
keeps a sliding window instead: a list of every request's timestamp, read and written back whole
on each request, which at thousands of requests a minute is most of a small request's cost.
A fixed window lets a client send up to twice the limit across a window boundary; for a limit
that only stops runaway clients, that is the better trade.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from lms.rates import parse_rate

logger = logging.getLogger(__name__)

_PERIOD_NAMES = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
_clock = time.time  # tests pin it, so that no window boundary falls inside a test


class LocalCounterCache(LocMemCache):
    """The throttle alias's per-process cache (CACHE_URL unset): Django's LocMemCache without the
    memcached key check.

    Every cache call first walks its key character by character for characters memcached would
    refuse, only to warn (about 4 µs for a counter's key, twice per request: issue 15). The counters'
    keys are built above from UUIDs and integers, and this cache is never memcached; everything else,
    expiry, eviction and `clear()` included, is LocMemCache's.
    """

    def validate_key(self, key):
        pass


def _redis_client(cache: RedisCache):
    # Django builds a new redis.Redis per call, which costs more than the round trip itself (its
    # response-callback table); one per cache object is safe: Django's cache objects are
    # per-thread, and a client draws its connections from the shared pool.
    client = getattr(cache, "_lms_throttle_client", None)
    if client is None:
        client = cache._lms_throttle_client = cache._cache.get_client(write=True)
    return client


def count_hits(windows: list[tuple[str, int]]) -> list[int]:
    """Adds one hit to each (key, ttl) window counter; returns the new counts, in one round trip."""
    cache = caches["throttle"]
    if isinstance(cache, RedisCache):
        # Django's incr() asks EXISTS before INCR (two round trips per key); one pipeline does all:
        # SET NX EX starts a window with its expiry, INCR counts (Django stores ints unpickled).
        pipe = _redis_client(cache).pipeline(transaction=False)
        for key, ttl in windows:
            full_key = cache.make_and_validate_key(key)
            pipe.set(full_key, 0, ex=ttl, nx=True)
            pipe.incr(full_key)
        return [int(count) for count in pipe.execute()[1::2]]
    counts = []
    for key, ttl in windows:
        try:
            counts.append(cache.incr(key))
        except ValueError:  # the window's first request (or its counter was evicted)
            if cache.add(key, 1, ttl):
                counts.append(1)
            else:  # another thread started the window meanwhile
                counts.append(cache.incr(key))
    return counts


class UserAndTenantThrottle(BaseThrottle):
    """LMS_THROTTLE_USER per user and LMS_THROTTLE_TENANT per tenant; over either: 429 + Retry-After.

    Runs after authentication and the tenant check (DRF's order), so an anonymous or refused
    call counts against nobody. Raises Throttled itself to name the limit that was reached.
    """

    def allow_request(self, request, view) -> bool:
        limits = []
        user_rate = parse_rate(settings.LMS_THROTTLE_USER)
        user_id = getattr(request.user, "user_id", None)
        if user_rate is not None and user_id is not None:
            limits.append(("user", user_id, *user_rate))
        tenant_rate = parse_rate(settings.LMS_THROTTLE_TENANT)
        tenant_id = getattr(request, "tenant_id", None)
        if tenant_rate is not None and tenant_id is not None:
            limits.append(("tenant", tenant_id, *tenant_rate))
        if not limits:
            return True
        now = _clock()
        windows = [
            (f"throttle:{scope}:{ident}:{period}:{int(now // period)}", period + 1)
            for scope, ident, _, period in limits
        ]
        try:
            counts = count_hits(windows)
        except Exception as error:  # noqa: BLE001 -- any cache failure: the limit must not take the API down
            # A limit only stops runaway clients; with its cache away, serve rather than answer 500.
            logger.warning("Rate limits not counted, the throttle cache failed: %s: %s", type(error).__name__, error)
            return True
        for (scope, _, allowed, period), count in zip(limits, counts, strict=True):
            if count > allowed:
                wait = max(1, math.ceil(period - now % period))
                exc = Throttled(
                    detail=(
                        f"This {scope} sent more than {allowed} requests this {_PERIOD_NAMES[period]}; "
                        f"retry after {wait} seconds (Retry-After)."
                    )
                )
                exc.wait = wait
                raise exc
        return True


class PublicClientThrottle(BaseThrottle):
    """LMS_THROTTLE_PUBLIC per client address, for the public endpoints that take no token
    (certificate verification): a token's user and tenant limits cannot stop a scraper there.
    Counts on the same fixed windows and cache as `UserAndTenantThrottle`; the address is
    REMOTE_ADDR, so a deployment behind a proxy sets it from the proxy's header in the proxy."""

    def allow_request(self, request, view) -> bool:
        rate = parse_rate(settings.LMS_THROTTLE_PUBLIC)
        if rate is None:
            return True
        allowed, period = rate
        now = _clock()
        address = request.META.get("REMOTE_ADDR") or "unknown"
        window = (f"throttle:public:{address}:{period}:{int(now // period)}", period + 1)
        try:
            (count,) = count_hits([window])
        except Exception as error:  # noqa: BLE001 -- as UserAndTenantThrottle: serve rather than answer 500
            logger.warning("Public rate limit not counted, the throttle cache failed: %s: %s",
                           type(error).__name__, error)
            return True
        if count > allowed:
            wait = max(1, math.ceil(period - now % period))
            exc = Throttled(detail=(
                f"This address sent more than {allowed} requests this {_PERIOD_NAMES[period]}; "
                f"retry after {wait} seconds (Retry-After)."
            ))
            exc.wait = wait
            raise exc
        return True
