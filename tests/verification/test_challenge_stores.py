"""One contract for both challenge stores (database, Redis): issued once, taken once, expire,
belong to one session."""
from __future__ import annotations

import datetime as dt
import random
import threading

import pytest

from wx_backend import db
from wx_backend.verification.challenges import (CHALLENGE_TTL_S, DatabaseChallengeStore, RedisChallengeStore,
                                                new_challenge)

from .conftest import make_rule, new_session


@pytest.fixture(params=["database", "redis"])
def store(request, app_ctx):
    if request.param == "database":
        return DatabaseChallengeStore()
    import redis
    return RedisChallengeStore(redis.Redis.from_url(request.getfixturevalue("redis_url")))


@pytest.fixture
def two_sessions(svc, native_merchant, app_ctx):
    from wx_backend.verification.models import VerificationSession
    rule = make_rule(svc, native_merchant, "miniprogram", "lip")
    tokens = [new_session(svc, native_merchant, rule) for _ in range(2)]
    db.database.connect(reuse_if_open=True)
    return [VerificationSession.get(VerificationSession.biz_token == t).id for t in tokens]


NOW = dt.datetime(2026, 12, 1, 8, 0)


@pytest.mark.parametrize("mode, keys", [("light", {"colors", "slot_ms", "nonce"}),
                                        ("lip", {"code", "show_ms", "duration_ms"}),
                                        ("action", {"sequence"}), ("silent", set())])
def test_challenges_are_random_per_mode(mode, keys):
    a, b = new_challenge(1, mode, NOW), new_challenge(1, mode, NOW)
    assert set(a.payload) == keys
    assert a.nonce != b.nonce and len(a.nonce) >= 20
    assert (a.expires_at - a.issued_at).total_seconds() == CHALLENGE_TTL_S <= 600


def test_lip_codes_are_four_digits_and_vary():
    codes = {new_challenge(1, "lip", NOW).payload["code"] for _ in range(50)}
    assert all(len(c) == 4 and c.isdigit() for c in codes) and len(codes) > 30


def test_lip_challenges_are_paced_one_random_moment_per_digit():
    """Each digit appears alone at its own moment (ms from the capture start): the first after a
    moment to look at the screen, then 0.7-1.7 s apart; the capture lasts past the last one."""
    rng = random.Random(7)
    issued = [new_challenge(1, "lip", NOW, rng).payload for _ in range(200)]
    for p in issued:
        show = p["show_ms"]
        assert len(show) == len(p["code"]) and all(isinstance(t, int) for t in show)
        assert 500 <= show[0] <= 900
        assert all(700 <= b - a <= 1700 for a, b in zip(show, show[1:])), show
        assert p["duration_ms"] > show[-1]
    # The moments are drawn per challenge, not a fixed rhythm.
    assert len({tuple(p["show_ms"]) for p in issued}) == len(issued)
    assert len({b - a for p in issued for a, b in zip(p["show_ms"], p["show_ms"][1:])}) > 50


def test_taken_once(store, two_sessions):
    ch = new_challenge(two_sessions[0], "lip", NOW, random.Random(1))
    store.put(ch)
    got = store.take(ch.nonce, two_sessions[0], NOW + dt.timedelta(seconds=5))
    assert got is not None and got.payload == ch.payload and got.mode == "lip"
    assert store.take(ch.nonce, two_sessions[0], NOW + dt.timedelta(seconds=6)) is None


def test_expired_or_foreign_is_refused(store, two_sessions):
    late = new_challenge(two_sessions[0], "lip", NOW)
    store.put(late)
    assert store.take(late.nonce, two_sessions[0], NOW + dt.timedelta(seconds=CHALLENGE_TTL_S)) is None
    foreign = new_challenge(two_sessions[0], "lip", NOW)
    store.put(foreign)
    assert store.take(foreign.nonce, two_sessions[1], NOW) is None
    assert store.take("no-such-nonce", two_sessions[0], NOW) is None


def test_concurrent_takes_yield_one_winner(store, two_sessions, app):
    ch = new_challenge(two_sessions[0], "light", NOW)
    store.put(ch)
    wins, barrier = [], threading.Barrier(6)

    def racer():
        with app.app_context():
            db.database.connect(reuse_if_open=True)
            barrier.wait()
            wins.append(store.take(ch.nonce, two_sessions[0], NOW) is not None)
            db.database.close()

    threads = [threading.Thread(target=racer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 5 + [True]
