"""One contract, every backend: the QPS limiter and the one-time challenge store (SQLite, PostgreSQL, Redis).

The PostgreSQL and Redis variants skip, with the reason, when 127.0.0.1:5432 / 6379 do not answer.
"""
from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest

from wx_backend import create_app, db
from wx_backend.crypto import Sealer
from wx_backend.pipeline.challenge import (ACTION_SEQUENCE, CLOUD_TTL, LIVE_CODE, DatabaseChallengeStore,
                                           RedisChallengeStore)
from wx_backend.api.ratelimit import DatabaseRateLimiter, RedisRateLimiter, SqliteFileRateLimiter

from ..concurrency import at_once
from ..conftest import REDIS_TEST_URL

REDIS_URL = REDIS_TEST_URL


def _redis_client():
    import redis
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at 127.0.0.1:6379 unreachable ({type(exc).__name__})")
    return client


@pytest.fixture
def on_postgresql(pg_url, settings, clock):
    """The application database on a fresh PostgreSQL schema (skips when PostgreSQL is absent)."""
    application = create_app(settings.replace(database_url=pg_url), clock=clock)
    with application.app_context():
        db.create_tables()
        db.database.connect(reuse_if_open=True)
        yield application
        db.database.close()


BACKENDS = ["sqlite", "postgresql", "redis"]


@pytest.fixture(params=["sqlite-file", *BACKENDS])
def limiter(request, tmp_path):
    if request.param == "redis":
        return RedisRateLimiter(_redis_client(), prefix=f"test:{uuid.uuid4().hex}:")
    if request.param == "sqlite-file":        # the default on SQLite: a file of its own
        return SqliteFileRateLimiter(tmp_path / "ratelimit.db")
    request.getfixturevalue("app_ctx" if request.param == "sqlite" else "on_postgresql")
    return DatabaseRateLimiter()


@pytest.fixture(params=BACKENDS)
def store(request, settings):
    sealer = Sealer(settings.data_key)
    if request.param == "redis":
        return RedisChallengeStore(_redis_client(), sealer, prefix=f"test:{uuid.uuid4().hex}:")
    request.getfixturevalue("app_ctx" if request.param == "sqlite" else "on_postgresql")
    return DatabaseChallengeStore(sealer)


T0 = 1_800_000_000_000  # ms


def test_limit_admits_exactly_limit_per_second(limiter):
    admitted = [limiter.hit("m:1", 5, T0 + i) for i in range(8)]
    assert admitted == [True] * 5 + [False] * 3


def test_window_slides(limiter):
    for i in range(5):
        assert limiter.hit("m:1", 5, T0 + i * 100)           # at 0, 100, ..., 400 ms
    assert not limiter.hit("m:1", 5, T0 + 999)
    assert limiter.hit("m:1", 5, T0 + 1001)                   # the hit at 0 ms has left the window
    assert not limiter.hit("m:1", 5, T0 + 1050)
    assert limiter.hit("m:1", 5, T0 + 1101)


def test_refused_calls_do_not_count(limiter):
    for _ in range(3):
        limiter.hit("m:1", 3, T0)
    for _ in range(10):
        assert not limiter.hit("m:1", 3, T0 + 500)
    assert limiter.hit("m:1", 3, T0 + 1001)


def test_keys_are_independent(limiter):
    assert limiter.hit("m:1", 1, T0)
    assert limiter.hit("m:2", 1, T0)
    assert not limiter.hit("m:1", 1, T0)


def test_limit_holds_under_concurrent_callers(limiter):
    results = []
    lock = threading.Lock()

    def call():
        ok = limiter.hit("m:9", 20, T0 + 10)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=call) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 20


NOW = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.timezone.utc)


def _consume(store, merchant_id: int, kind: str, value: str, now) -> bool:
    return store.take(f"merchant:{merchant_id}", kind, value, now) is not None


def test_challenge_is_consumed_once(store):
    store.issue("merchant:1", LIVE_CODE, "4827", {}, NOW, CLOUD_TTL)
    assert _consume(store, 1, LIVE_CODE, "4827", NOW + dt.timedelta(seconds=30))
    assert not _consume(store, 1, LIVE_CODE, "4827", NOW + dt.timedelta(seconds=31))


def test_challenge_expires(store):
    store.issue("merchant:1", LIVE_CODE, "1234", {}, NOW, CLOUD_TTL)
    assert not _consume(store, 1, LIVE_CODE, "1234", NOW + CLOUD_TTL + dt.timedelta(seconds=1))
    store.issue("merchant:1", LIVE_CODE, "1234", {}, NOW, CLOUD_TTL)
    assert _consume(store, 1, LIVE_CODE, "1234", NOW + CLOUD_TTL - dt.timedelta(seconds=1))


def test_challenge_belongs_to_its_merchant_and_kind(store):
    store.issue("merchant:1", ACTION_SEQUENCE, "1,2", {}, NOW, CLOUD_TTL)
    assert not _consume(store, 2, ACTION_SEQUENCE, "1,2", NOW)
    assert not _consume(store, 1, LIVE_CODE, "1,2", NOW)
    assert not _consume(store, 1, ACTION_SEQUENCE, "2,1", NOW)
    assert _consume(store, 1, ACTION_SEQUENCE, "1,2", NOW)


def test_each_issue_is_one_use(store):
    # Two outstanding issues of the same value (possible: 10,000 codes, two action orders) = two uses.
    store.issue("merchant:1", ACTION_SEQUENCE, "2,1", {}, NOW, CLOUD_TTL)
    store.issue("merchant:1", ACTION_SEQUENCE, "2,1", {}, NOW, CLOUD_TTL)
    assert _consume(store, 1, ACTION_SEQUENCE, "2,1", NOW)
    assert _consume(store, 1, ACTION_SEQUENCE, "2,1", NOW)
    assert not _consume(store, 1, ACTION_SEQUENCE, "2,1", NOW)


def test_concurrent_consumers_get_one_success(store):
    store.issue("merchant:1", LIVE_CODE, "0007", {}, NOW, CLOUD_TTL)
    results = []

    def take():
        results.append(_consume(store, 1, LIVE_CODE, "0007", NOW))

    threads = [threading.Thread(target=take) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_a_longer_window_and_reading_without_counting(limiter):
    day = 86_400_000
    assert [limiter.hit("p:1", 2, T0 + i * 3_600_000, day) for i in range(3)] == [True, True, False]
    assert limiter.recent("p:1", T0 + 3 * 3_600_000, day) == [T0, T0 + 3_600_000]
    assert limiter.recent("p:1", T0 + day + 1, day) == [T0 + 3_600_000]     # the first has left the day
    assert limiter.hit("p:1", 2, T0 + day + 1, day)
    limiter.clear("p:1")
    assert limiter.recent("p:1", T0 + day + 2, day) == []


def test_a_one_slot_window_is_a_claim_that_holds_under_concurrency(limiter):
    """What the replay guard relies on: of many simultaneous first uses, exactly one wins."""
    wins = at_once(lambda: limiter.hit("replay:1:abc", 1, T0, 605_000), [()] * 6)
    assert sorted(wins) == [False] * 5 + [True]
    assert not limiter.hit("replay:1:abc", 1, T0 + 600_000, 605_000)


def test_purge_drops_only_keys_whose_window_has_passed(limiter):
    limiter.hit("short", 5, T0, 1000)
    limiter.hit("long", 5, T0, 86_400_000)
    limiter.purge(T0 + 2000)
    assert limiter.recent("long", T0 + 2000, 86_400_000) == [T0]
    assert limiter.recent("short", T0 + 2000, 86_400_000) in ([], [T0])   # Redis keeps it until its PEXPIRE


def test_on_sqlite_the_windows_live_in_a_file_beside_the_database(settings, tmp_path):
    from wx_backend.api.ratelimit import build_rate_limiter

    limiter = build_rate_limiter(settings)
    assert isinstance(limiter, SqliteFileRateLimiter)
    assert limiter.path == tmp_path / "test-ratelimit.db"
    assert limiter.hit("m:1", 1, T0) and limiter.path.is_file()
    chosen = build_rate_limiter(settings.replace(rate_limit_sqlite_path=str(tmp_path / "rl" / "qps.db")))
    assert chosen.path == tmp_path / "rl" / "qps.db"
    assert isinstance(build_rate_limiter(settings.replace(database_url="postgresql://h/db")), DatabaseRateLimiter)
    assert isinstance(build_rate_limiter(settings.replace(database_url="sqlite:///:memory:")), DatabaseRateLimiter)


def test_two_limiters_on_one_file_share_the_window(tmp_path):
    """Two gunicorn workers each build their own limiter on the same file: one limit between them."""
    first, second = SqliteFileRateLimiter(tmp_path / "rl.db"), SqliteFileRateLimiter(tmp_path / "rl.db")
    assert [first.hit("m:1", 3, T0), second.hit("m:1", 3, T0 + 1), first.hit("m:1", 3, T0 + 2)] == [True] * 3
    assert not second.hit("m:1", 3, T0 + 3)


def test_a_quick_transaction_alone_skips_the_wal_flush_wait_on_postgresql(on_postgresql):
    def setting():
        return db.database.execute_sql("SHOW synchronous_commit").fetchone()[0]

    with db.quick_atomic():
        assert setting() == "off"
    with db.write_atomic():
        assert setting() == "on"          # SET LOCAL: the pooled connection does not keep it
