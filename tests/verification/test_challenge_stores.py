"""Sessions' challenges on the one challenge store (database, Redis): random per mode, issued once,
taken once, expire, belong to one session and its mode."""
from __future__ import annotations

import datetime as dt
import random
import threading

import pytest

from wx_backend import db
from wx_backend.crypto import Sealer
from wx_backend.pipeline.challenge import (SESSION_TTL, DatabaseChallengeStore, RedisChallengeStore, has_session,
                                           issue_session, new_session_challenge, take_session)

CHALLENGE_TTL_S = SESSION_TTL.total_seconds()


def new_challenge(session_id, mode, now, rng=None):
    return new_session_challenge(mode, now, rng)

from .conftest import make_rule, new_session


@pytest.fixture(params=["database", "redis"])
def store(request, app_ctx, settings):
    sealer = Sealer(settings.data_key)
    if request.param == "database":
        return DatabaseChallengeStore(sealer)
    import redis
    return RedisChallengeStore(redis.Redis.from_url(request.getfixturevalue("redis_url")), sealer)


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
    ch = issue_session(store, two_sessions[0], "lip", NOW, random.Random(1))
    got = take_session(store, two_sessions[0], "lip", ch.nonce, NOW + dt.timedelta(seconds=5))
    assert got == ch.payload and set(got) == {"code", "show_ms", "duration_ms"}
    assert take_session(store, two_sessions[0], "lip", ch.nonce, NOW + dt.timedelta(seconds=6)) is None


def test_looking_spends_nothing_and_sees_what_a_take_would(store, two_sessions):
    """The cheap check before a capture is decoded: it finds the challenge a take would, and leaves it."""
    ch = issue_session(store, two_sessions[0], "lip", NOW)
    assert has_session(store, two_sessions[0], "lip", ch.nonce, NOW) is True
    assert has_session(store, two_sessions[0], "lip", ch.nonce, NOW) is True
    assert not has_session(store, two_sessions[1], "lip", ch.nonce, NOW)              # another session's
    assert not has_session(store, two_sessions[0], "light", ch.nonce, NOW)            # another mode's
    assert not has_session(store, two_sessions[0], "lip", "made-up", NOW)
    assert not has_session(store, two_sessions[0], "lip", ch.nonce, NOW + dt.timedelta(seconds=CHALLENGE_TTL_S))
    assert take_session(store, two_sessions[0], "lip", ch.nonce, NOW) == ch.payload
    assert not has_session(store, two_sessions[0], "lip", ch.nonce, NOW)              # spent


def test_expired_foreign_or_other_mode_is_refused(store, two_sessions):
    late = issue_session(store, two_sessions[0], "lip", NOW)
    assert take_session(store, two_sessions[0], "lip", late.nonce,
                        NOW + dt.timedelta(seconds=CHALLENGE_TTL_S)) is None
    foreign = issue_session(store, two_sessions[0], "lip", NOW)
    assert take_session(store, two_sessions[1], "lip", foreign.nonce, NOW) is None
    assert take_session(store, two_sessions[0], "light", foreign.nonce, NOW) is None
    assert take_session(store, two_sessions[0], "lip", "no-such-nonce", NOW) is None


def test_the_stored_challenge_is_sealed(store, two_sessions):
    ch = issue_session(store, two_sessions[0], "lip", NOW, random.Random(2))
    if isinstance(store, DatabaseChallengeStore):
        from wx_backend.pipeline.challenge import OneTimeChallenge
        [row] = OneTimeChallenge.select()
        stored = bytes(row.payload_sealed) + row.lookup.encode()
    else:
        client = store._client
        stored = b"".join(k + b"".join(client.zrange(k, 0, -1)) for k in client.keys("wxf:chal:*"))
    assert ch.nonce.encode() not in stored and ch.payload["code"].encode() not in stored


def test_concurrent_takes_yield_one_winner(store, two_sessions, app):
    ch = issue_session(store, two_sessions[0], "light", NOW)
    wins, barrier = [], threading.Barrier(6)

    def racer():
        with app.app_context():
            db.database.connect(reuse_if_open=True)
            barrier.wait()
            wins.append(take_session(store, two_sessions[0], "light", ch.nonce, NOW) is not None)
            db.database.close()

    threads = [threading.Thread(target=racer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 5 + [True]
