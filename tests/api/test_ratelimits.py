"""Rate limits counted exactly: one atomic increment per request, shared by every server process."""

import concurrent.futures
import http.client
import threading
import time
import uuid

import pytest
import redis
from django.core.cache import caches
from django.db import connection

from contacts.api.ratelimits import INVALID_RATE, Rate, digest, hit, peek
from tests.factories import OrganizationFactory
from tests.helpers import api_key_for, gunicorn_server, needs_redis, postgresql_only

REDIS_URL = "redis://127.0.0.1:6379/5"


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("600/min", Rate(600, 60)),
        ("60/minute", Rate(60, 60)),
        ("10/s", Rate(10, 1)),
        ("1000/hour", Rate(1000, 3600)),
        ("100/15min", Rate(100, 900)),
        ("5/day", Rate(5, 86400)),
    ],
)
def test_rates_read_like_drfs_and_with_a_number_of_periods(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["600", "x/min", "10/fortnight", ""])
def test_a_rate_that_cannot_be_read_says_how_to_write_it(text):
    with pytest.raises(ValueError, match="is not a rate") as raised:
        Rate.parse(text)

    assert str(raised.value) == INVALID_RATE.format(value=text)


def test_hits_count_up_and_a_peek_counts_nothing():
    rate, ident = Rate(2, 60), uuid.uuid4().hex

    first, second, third = (hit(rate, "t", ident) for _ in range(3))

    assert [w.count for w in (first, second, third)] == [1, 2, 3]
    assert [w.exceeded for w in (first, second, third)] == [False, False, True]
    assert (third.remaining, peek(rate, "t", ident).count, peek(rate, "t", ident).count) == (0, 3, 3)
    assert 0 < third.reset <= 60


def test_the_digest_hides_what_it_counts():
    assert "abc.def" not in digest("abc.def")
    assert digest("abc.def") == digest("abc.def") != digest("abc.deg")


@pytest.fixture
def redis_cache(settings):
    prefix = f"ratelimit-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield redis.Redis.from_url(REDIS_URL), prefix
    database = redis.Redis.from_url(REDIS_URL)
    for name in database.keys(f"{prefix}:*"):
        database.delete(name)
    caches["default"].close()


@needs_redis
def test_concurrent_hits_on_redis_let_exactly_the_limit_through(redis_cache):
    database, prefix = redis_cache
    rate, ident = Rate(20, 3600), uuid.uuid4().hex
    barrier = threading.Barrier(16)

    def client(_):
        barrier.wait()
        return [not hit(rate, "t", ident).exceeded for _ in range(10)]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        allowed = [ok for oks in pool.map(client, range(16)) for ok in oks]

    assert allowed.count(True) == 20
    [name] = database.keys(f"{prefix}:*")
    assert 0 < database.ttl(name) <= 3601


def _statuses(address, path: str, headers: dict, count: int) -> list[tuple[int, dict]]:
    results = []
    for _ in range(count):
        conn = http.client.HTTPConnection(*address, timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            results.append((response.status, dict(response.getheaders())))
        finally:
            conn.close()
    return results


def _wait_for_a_fresh_hour() -> None:
    """The counts are per clock hour: start far enough from its end for the whole test to fit in it."""
    left = 3600 - time.time() % 3600
    if left < 60:
        time.sleep(left + 1)


@postgresql_only
@needs_redis
@pytest.mark.django_db(transaction=True)
def test_concurrent_clients_on_three_server_processes_never_pass_the_limit():
    key = api_key_for(OrganizationFactory())
    env = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "CACHE_URL": REDIS_URL,
        "API_THROTTLE_RATE": "20/hour",
        "API_AUTH_FAILURE_RATE": "10/hour",
    }
    _wait_for_a_fresh_hour()
    with gunicorn_server(workers=3, env=env) as address, concurrent.futures.ThreadPoolExecutor(32) as pool:
        right = [
            r
            for rs in pool.map(
                lambda _: _statuses(address, "/api/v1/customers", {"X-Api-Key": key}, 3), range(32)
            )
            for r in rs
        ]
        wrong = [
            r
            for rs in pool.map(
                lambda n: _statuses(address, "/api/v1/customers", {"X-Api-Key": f"nope.{n}"}, 2), range(32)
            )
            for r in rs
        ]

    assert sorted(status for status, _ in right) == [200] * 20 + [429] * 76
    assert sorted(status for status, _ in wrong) == [401] * 10 + [429] * 54
    for status, headers in right + wrong:
        assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(headers)
        if status == 429:
            assert 0 < int(headers["Retry-After"]) <= 3600
