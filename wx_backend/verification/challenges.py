"""One-time liveness challenges: issued for a session's mode, stored server-side, taken once.

Two stores with one contract (``put`` / ``take``): the database (default) and Redis (when
``settings.redis_url`` is set). Both hold across gunicorn workers and hosts, and ``take`` is atomic,
so a challenge can be used once even when two uploads race.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
from dataclasses import dataclass

from faceengine.liveness import challenge as fc

from ..clock import utc_naive
from ..crypto import new_token
from .models import Challenge

log = logging.getLogger(__name__)

CHALLENGE_TTL_S = 300   # DESIGN §3 allows up to 10 min; a capture takes seconds, five minutes is ample


@dataclass(frozen=True)
class IssuedChallenge:
    nonce: str
    session_id: int
    mode: str
    payload: dict          # the mode's challenge JSON: {"colors", "slot_ms", "nonce"} |
                           # {"code", "show_ms", "duration_ms"} | {"sequence"} | {}
    issued_at: dt.datetime  # naive UTC
    expires_at: dt.datetime

    def to_client(self, now: dt.datetime) -> dict:
        return {"nonce": self.nonce, "mode": self.mode, "challenge": self.payload,
                "expires_in": max(0, int((self.expires_at - now).total_seconds()))}


def new_challenge(session_id: int, mode: str, now: dt.datetime,
                  rng: random.Random | None = None) -> IssuedChallenge:
    """A fresh random challenge for ``mode`` (light | lip | action | silent)."""
    rng = rng or random.SystemRandom()
    nonce = new_token(16)
    if mode == "light":
        payload = fc.new_light_challenge(rng).to_json()
        payload["nonce"] = nonce
    elif mode == "lip":
        payload = fc.new_lip_challenge(rng).to_json()
    elif mode == "action":
        payload = fc.new_action_challenge(rng).to_json()
    elif mode == "silent":
        payload = {}
    else:
        raise ValueError(f"unknown liveness mode {mode!r}")
    now = utc_naive(now)
    return IssuedChallenge(nonce, session_id, mode, payload, now,
                           now + dt.timedelta(seconds=CHALLENGE_TTL_S))


class DatabaseChallengeStore:
    def put(self, ch: IssuedChallenge) -> None:
        Challenge.create(nonce=ch.nonce, session=ch.session_id, mode=ch.mode,
                         payload=json.dumps(ch.payload), issued_at=ch.issued_at,
                         expires_at=ch.expires_at)

    def take(self, nonce: str, session_id: int, now: dt.datetime) -> IssuedChallenge | None:
        """The challenge, marked used, or None when unknown, used, expired or another session's."""
        now = utc_naive(now)
        claimed = Challenge.update(used_at=now).where(
            (Challenge.nonce == nonce) & (Challenge.session == session_id)
            & Challenge.used_at.is_null() & (Challenge.expires_at > now)).execute()
        if claimed != 1:
            return None
        row = Challenge.get(Challenge.nonce == nonce)
        return IssuedChallenge(row.nonce, session_id, row.mode, json.loads(row.payload),
                               row.issued_at, row.expires_at)

    def purge(self, now: dt.datetime) -> int:
        return Challenge.delete().where(Challenge.expires_at <= utc_naive(now)).execute()


class RedisChallengeStore:
    """Challenges as JSON under ``wxf:challenge:<nonce>`` with Redis expiry; taken by GET+DEL in
    one MULTI transaction."""

    PREFIX = "wxf:challenge:"

    def __init__(self, redis_client):
        self._r = redis_client

    def put(self, ch: IssuedChallenge) -> None:
        ttl = max(1, int((ch.expires_at - ch.issued_at).total_seconds()))
        body = {"session_id": ch.session_id, "mode": ch.mode, "payload": ch.payload,
                "issued_at": ch.issued_at.isoformat(), "expires_at": ch.expires_at.isoformat()}
        self._r.set(self.PREFIX + ch.nonce, json.dumps(body), ex=ttl)

    def take(self, nonce: str, session_id: int, now: dt.datetime) -> IssuedChallenge | None:
        pipe = self._r.pipeline(transaction=True)
        pipe.get(self.PREFIX + nonce)
        pipe.delete(self.PREFIX + nonce)
        raw, _ = pipe.execute()
        if raw is None:
            return None
        body = json.loads(raw)
        expires = dt.datetime.fromisoformat(body["expires_at"])
        # Another session's nonce is burnt rather than put back: guessing it is not possible anyway.
        if body["session_id"] != session_id or expires <= utc_naive(now):
            return None
        return IssuedChallenge(nonce, session_id, body["mode"], body["payload"],
                               dt.datetime.fromisoformat(body["issued_at"]), expires)

    def purge(self, now: dt.datetime) -> int:
        return 0  # Redis expires the keys itself


def build_store(redis_url: str):
    if redis_url:
        import redis
        return RedisChallengeStore(redis.Redis.from_url(redis_url))
    return DatabaseChallengeStore()
