"""Rate limits per user and per tenant on the shared cache (DECISIONS §8): 429 + Retry-After."""

from __future__ import annotations

import os
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from lms.api import throttling
from lms.rates import parse_rate
from tests.conftest import make_client
from tests.lms.conftest import assert_lms_envelope, assert_viewer_envelope

# 20 s into a minute window: a whole test stays inside one window, whatever the wall clock.
PINNED_NOW = 1_800_000_000.0 - 1_800_000_000.0 % 60 + 20


@pytest.fixture(autouse=True)
def _pinned_clock_and_empty_counters(monkeypatch):
    monkeypatch.setattr(throttling, "_clock", lambda: PINNED_NOW)
    caches["throttle"].clear()
    yield
    caches["throttle"].clear()


@pytest.fixture
def redis_throttle_cache(settings):
    """The counters on Redis (db 1, the edge tests' own). Outside CI a missing Redis skips; in CI it fails."""
    url = "redis://127.0.0.1:6379/1"
    settings.CACHES = {**settings.CACHES, "throttle": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    try:
        caches["throttle"].set("edge-throttle-ping", 1, 5)
    except Exception as error:  # any connection error of redis-py
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"Redis is not reachable at {url}: {error}")
    yield caches["throttle"]


def _expect_429(response, *, who: str, viewer: bool = False) -> None:
    check = assert_viewer_envelope if viewer else assert_lms_envelope
    body = check(response, http_status=429, err="ERR_RATE_LIMITED")
    assert f"This {who} sent more than" in body["params"]["errmsg"]
    # 40 s remain in the pinned window.
    assert response["Retry-After"] == "40"


def test_the_user_limit_answers_429_after_n_requests(settings, tenant):
    settings.LMS_THROTTLE_USER = "3/min"
    settings.LMS_THROTTLE_TENANT = "off"
    client = make_client(tenant_id=tenant.id, roles=["admin"])

    assert [client.get("/courses").status_code for _ in range(3)] == [200, 200, 200]
    _expect_429(client.get("/courses"), who="user")


def test_the_user_limit_leaves_other_users_of_the_tenant_alone(settings, tenant):
    settings.LMS_THROTTLE_USER = "3/min"
    settings.LMS_THROTTLE_TENANT = "off"
    busy = make_client(tenant_id=tenant.id, roles=["admin"])
    for _ in range(4):
        busy.get("/courses")

    other = make_client(tenant_id=tenant.id, roles=["admin"])
    assert [other.get("/courses").status_code for _ in range(3)] == [200, 200, 200]
    assert busy.get("/courses").status_code == 429


def test_the_user_limit_counts_one_user_across_tenants(settings, tenant, other_tenant):
    settings.LMS_THROTTLE_USER = "3/min"
    settings.LMS_THROTTLE_TENANT = "off"
    user_id = uuid.uuid4()
    in_a = make_client(tenant_id=tenant.id, roles=["admin"], user_id=user_id)
    in_b = make_client(tenant_id=other_tenant.id, roles=["admin"], user_id=user_id)

    assert [in_a.get("/courses").status_code, in_b.get("/courses").status_code, in_a.get("/courses").status_code] == [
        200,
        200,
        200,
    ]
    _expect_429(in_b.get("/courses"), who="user")


def test_the_tenant_limit_counts_every_user_of_the_tenant(settings, tenant, other_tenant):
    settings.LMS_THROTTLE_USER = "off"
    settings.LMS_THROTTLE_TENANT = "5/min"
    users = [make_client(tenant_id=tenant.id, roles=["admin"]) for _ in range(5)]

    assert [user.get("/courses").status_code for user in users] == [200] * 5
    _expect_429(make_client(tenant_id=tenant.id, roles=["learner"]).get("/courses"), who="tenant")
    # Another tenant has a window of its own.
    neighbour = make_client(tenant_id=other_tenant.id, roles=["admin"])
    assert [neighbour.get("/courses").status_code for _ in range(5)] == [200] * 5


def test_a_viewer_path_answers_429_in_the_viewer_envelope(settings, tenant):
    settings.LMS_THROTTLE_USER = "1/min"
    settings.LMS_THROTTLE_TENANT = "off"
    client = make_client(tenant_id=tenant.id, roles=["learner"])
    path = f"/v1/viewer/summary/list/{client.user_id}"

    assert client.get(path).status_code == 200
    _expect_429(client.get(path), who="user", viewer=True)


def test_refused_callers_count_against_nobody(settings, client, tenant):
    settings.LMS_THROTTLE_USER = "off"
    settings.LMS_THROTTLE_TENANT = "2/min"

    for _ in range(5):
        assert client.get("/courses", HTTP_TENANTID=str(tenant.id)).status_code == 401
    admin = make_client(tenant_id=tenant.id, roles=["admin"])
    assert [admin.get("/courses").status_code for _ in range(2)] == [200, 200]


def test_the_defaults_are_far_above_any_normal_client():
    assert parse_rate(settings.LMS_THROTTLE_USER)[0] / parse_rate(settings.LMS_THROTTLE_USER)[1] >= 100
    assert parse_rate(settings.LMS_THROTTLE_TENANT)[0] / parse_rate(settings.LMS_THROTTLE_TENANT)[1] >= 5000
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == ["lms.api.throttling.UserAndTenantThrottle"]


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("6000/min", (6000, 60)), ("10/s", (10, 1)), ("5 / hour", (5, 3600)), ("1/day", (1, 86400)), ("off", None), ("", None)],
)
def test_rates_parse_like_drf_rate_strings(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["6000", "0/min", "-1/min", "10/week", "many/min"])
def test_a_malformed_rate_is_refused(rate):
    with pytest.raises(ImproperlyConfigured, match="must look like `6000/min`"):
        parse_rate(rate)


def test_the_counters_live_on_redis_when_configured(settings, tenant, redis_throttle_cache):
    settings.LMS_THROTTLE_USER = "3/min"
    settings.LMS_THROTTLE_TENANT = "off"
    client = make_client(tenant_id=tenant.id, roles=["admin"])
    other = make_client(tenant_id=tenant.id, roles=["admin"])

    assert [client.get("/courses").status_code for _ in range(3)] == [200, 200, 200]
    _expect_429(client.get("/courses"), who="user")
    assert other.get("/courses").status_code == 200
    window = int(PINNED_NOW // 60)
    key = redis_throttle_cache.make_and_validate_key(f"throttle:user:{client.user_id}:60:{window}")
    redis = redis_throttle_cache._cache.get_client(write=False)
    assert int(redis.get(key)) == 4
    assert 0 < redis.ttl(key) <= 61  # windows expire by themselves


def test_redis_counts_both_limits_in_one_round_trip(redis_throttle_cache):
    key = f"edge-{uuid.uuid4()}"
    client = redis_throttle_cache._cache.get_client(write=True)
    calls = []
    original = type(client).pipeline

    def counting_pipeline(self, *args, **kwargs):
        pipe = original(self, *args, **kwargs)
        execute = pipe.execute
        pipe.execute = lambda *a, **kw: calls.append(len(pipe.command_stack)) or execute(*a, **kw)
        return pipe

    type(client).pipeline = counting_pipeline
    try:
        assert throttling.count_hits([(f"{key}:u", 61), (f"{key}:t", 61)]) == [1, 1]
        assert throttling.count_hits([(f"{key}:u", 61), (f"{key}:t", 61)]) == [2, 2]
    finally:
        type(client).pipeline = original
    assert calls == [4, 4]  # one pipeline (one round trip) per request: SET NX EX + INCR per limit


def test_an_unreachable_throttle_cache_serves_the_request_rather_than_a_500(settings, tenant, caplog):
    # A Redis nobody listens on: the connection is refused for real, every request.
    reachable = settings.CACHES
    settings.CACHES = {**settings.CACHES, "throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2}}}
    settings.LMS_THROTTLE_USER = "1/min"
    settings.LMS_THROTTLE_TENANT = "1/min"
    client = make_client(tenant_id=tenant.id, roles=["admin"])

    responses = [client.get("/courses") for _ in range(3)]
    settings.CACHES = reachable  # before teardown empties the counters

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert any("Rate limits not counted" in record.getMessage() for record in caplog.records)


def test_the_per_process_counters_live_in_local_memory_without_the_memcached_key_check():
    import warnings

    from django.core.cache.backends.locmem import LocMemCache

    cache = caches["throttle"]
    assert isinstance(cache, throttling.LocalCounterCache)
    assert isinstance(cache, LocMemCache)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a CacheKeyWarning would raise
        cache.set("throttle:key with spaces memcached would refuse", 1, 5)
    assert cache.incr("throttle:key with spaces memcached would refuse") == 2


def test_local_counters_count_as_incr_and_add_would(monkeypatch):
    """count_hits on the per-process counters: a window's first hit is 1 with the window's expiry,
    later hits add one each, and an expired window starts again at 1."""
    cache = caches["throttle"]
    assert isinstance(cache, throttling.LocalCounterCache)
    windows = [("throttle:user:u:60:1", 61), ("throttle:tenant:t:60:1", 61)]

    assert [throttling.count_hits(windows) for _ in range(3)] == [[1, 1], [2, 2], [3, 3]]
    assert cache.get("throttle:user:u:60:1") == 3  # readable by the cache's own API
    expiry = cache._expire_info[cache.make_key("throttle:user:u:60:1")]
    monkeypatch.setattr("django.core.cache.backends.locmem.time.time", lambda: expiry + 1)
    assert throttling.count_hits(windows[:1]) == [1]
    assert cache.get("throttle:user:u:60:1") == 1
