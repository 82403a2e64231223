"""One-time challenges: one store for both front doors, keyed by owner and kind.

    owner   "merchant:<id>" (Cloud API: GetLiveCode, GetActionSequence) | "session:<id>" (a session)
    kind    "live_code" | "action_sequence" | a session's liveness mode ("light", "lip", ...)
    secret  what the client sends back: the code or action order itself, or a session's nonce

A challenge is taken once, before its expiry, by the owner it was issued to and for its kind; each
issue is one use (the Cloud API's values are small: two issues of one code are two uses). ``has``
looks without taking: the cheap check a capture's challenge passes before a byte of it is decoded
(the take that spends it comes after the capture is read and found usable). Only a
keyed digest of owner/kind/secret is stored, and the challenge's JSON (a session's colours, digits,
actions) is sealed. Stores, one contract (``issue`` / ``has`` / ``take`` / ``purge``), both holding across
gunicorn workers and hosts, ``take`` atomic: ``DatabaseChallengeStore`` (default) and
``RedisChallengeStore`` (when ``settings.redis_url``). Their failures raise ChallengeStoreUnavailable.
Expired issues are deleted by the scheduled housekeeping (``purge``), not on the issue path.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import random
import secrets
from dataclasses import dataclass
from typing import Protocol

import peewee

from faceengine import new_challenge

from .. import db
from ..clock import utc_naive
from ..crypto import Sealer, new_token
from ..db import BaseModel

log = logging.getLogger(__name__)

# The Cloud API's code and action order are valid as long as the cloud keeps them; a session's
# challenge is used within seconds of being shown (DESIGN §3 allows up to 10 minutes).
CLOUD_TTL = dt.timedelta(minutes=10)
SESSION_TTL = dt.timedelta(minutes=5)
LIVE_CODE, ACTION_SEQUENCE = "live_code", "action_sequence"
# 1 = open mouth, 2 = close eyes (blink), as the cloud numbers them.
ACTION_ORDERS = ("1,2", "2,1")


class ChallengeStoreUnavailable(Exception):
    pass


class ChallengeStore(Protocol):
    def issue(self, owner: str, kind: str, secret: str, payload: dict, now: dt.datetime,
              ttl: dt.timedelta) -> None: ...

    def has(self, owner: str, kind: str, secret: str, now: dt.datetime) -> bool:
        """True when ``take`` would find an unused, unexpired issue now (nothing is spent)."""

    def take(self, owner: str, kind: str, secret: str, now: dt.datetime) -> dict | None:
        """The challenge's JSON (and the issue is spent), or None: unknown, used, expired, another's."""

    def purge(self, now: dt.datetime) -> int: ...


def _lookup(sealer: Sealer, owner: str, kind: str, secret: str) -> str:
    return sealer.digest(f"{owner}:{kind}:{secret}", "challenge")


class OneTimeChallenge(BaseModel):
    lookup = peewee.CharField(max_length=64, index=True)    # digest of owner/kind/secret
    payload_sealed = peewee.BlobField()
    expires_at = peewee.DateTimeField(index=True)
    used_at = peewee.DateTimeField(null=True)


class DatabaseChallengeStore:
    def __init__(self, sealer: Sealer):
        self._sealer = sealer

    def issue(self, owner, kind, secret, payload, now, ttl) -> None:
        now = utc_naive(now)
        # One INSERT: expired rows are the housekeeping's to delete (``purge``, on the expires_at index), not
        # each issue's (a DELETE here cost every GetLiveCode a scan that grew with the table).
        try:
            OneTimeChallenge.create(lookup=_lookup(self._sealer, owner, kind, secret),
                                    payload_sealed=self._sealer.seal(json.dumps(payload).encode()),
                                    expires_at=now + ttl)
        except peewee.PeeweeException as exc:
            raise ChallengeStoreUnavailable(type(exc).__name__) from exc

    def has(self, owner, kind, secret, now) -> bool:
        try:
            return (OneTimeChallenge.select()
                    .where((OneTimeChallenge.lookup == _lookup(self._sealer, owner, kind, secret))
                           & OneTimeChallenge.used_at.is_null() & (OneTimeChallenge.expires_at > utc_naive(now)))
                    .exists())
        except peewee.PeeweeException as exc:
            raise ChallengeStoreUnavailable(type(exc).__name__) from exc

    def take(self, owner, kind, secret, now) -> dict | None:
        now = utc_naive(now)
        lookup = _lookup(self._sealer, owner, kind, secret)
        try:
            with db.write_atomic():
                candidates = (OneTimeChallenge.select(OneTimeChallenge.id, OneTimeChallenge.payload_sealed)
                              .where((OneTimeChallenge.lookup == lookup) & OneTimeChallenge.used_at.is_null()
                                     & (OneTimeChallenge.expires_at > now))
                              .order_by(OneTimeChallenge.expires_at))
                for row in candidates:
                    taken = (OneTimeChallenge.update(used_at=now)
                             .where((OneTimeChallenge.id == row.id) & OneTimeChallenge.used_at.is_null())
                             .execute())
                    if taken:
                        return json.loads(self._sealer.open(row.payload_sealed))
        except peewee.PeeweeException as exc:
            raise ChallengeStoreUnavailable(type(exc).__name__) from exc
        return None

    def purge(self, now) -> int:
        return OneTimeChallenge.delete().where(OneTimeChallenge.expires_at <= utc_naive(now)).execute()


def _ms(when: dt.datetime) -> int:
    """Milliseconds since the epoch; a naive time is UTC, as stored everywhere."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(when.timestamp() * 1000)


# KEYS[1]: a sorted set of issues (member "<random>:<sealed JSON>", score = expiry in ms).
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local got = redis.call('ZPOPMIN', KEYS[1])
if #got > 0 then return got[1] end
return false
"""


class RedisChallengeStore:
    def __init__(self, client, sealer: Sealer, prefix: str = "wxf:chal:"):
        self._client = client
        self._sealer = sealer
        self._prefix = prefix
        self._take = client.register_script(_TAKE)

    @classmethod
    def from_url(cls, url: str, sealer: Sealer, prefix: str = "wxf:chal:") -> "RedisChallengeStore":
        import redis
        return cls(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2), sealer, prefix)

    def _key(self, owner, kind, secret) -> str:
        return self._prefix + _lookup(self._sealer, owner, kind, secret)

    def issue(self, owner, kind, secret, payload, now, ttl) -> None:
        import redis
        sealed = base64.b64encode(self._sealer.seal(json.dumps(payload).encode())).decode("ascii")
        key = self._key(owner, kind, secret)
        try:
            pipe = self._client.pipeline()
            pipe.zadd(key, {f"{secrets.token_hex(8)}:{sealed}": _ms(now + ttl)})
            pipe.pexpire(key, int(ttl.total_seconds() * 1000) * 2)
            pipe.execute()
        except redis.RedisError as exc:
            raise ChallengeStoreUnavailable(type(exc).__name__) from exc

    def has(self, owner, kind, secret, now) -> bool:
        import redis
        try:
            return self._client.zcount(self._key(owner, kind, secret), f"({_ms(now)}", "+inf") > 0
        except redis.RedisError as exc:
            raise ChallengeStoreUnavailable(type(exc).__name__) from exc

    def take(self, owner, kind, secret, now) -> dict | None:
        import redis
        try:
            member = self._take(keys=[self._key(owner, kind, secret)], args=[_ms(now)])
        except redis.RedisError as exc:
            raise ChallengeStoreUnavailable(type(exc).__name__) from exc
        if not member:
            return None
        sealed = (member.decode() if isinstance(member, bytes) else member).split(":", 1)[1]
        return json.loads(self._sealer.open(base64.b64decode(sealed)))

    def purge(self, now) -> int:
        return 0  # Redis expires the keys itself


def build_store(redis_url: str, sealer: Sealer) -> ChallengeStore:
    return RedisChallengeStore.from_url(redis_url, sealer) if redis_url else DatabaseChallengeStore(sealer)


# -- the Cloud API: a value the merchant's user reads or acts out --------------------------------
def _merchant(merchant_id: int) -> str:
    return f"merchant:{merchant_id}"


def issue_cloud(store: ChallengeStore, merchant_id: int, kind: str, now: dt.datetime) -> str:
    """A new live code (four digits) or action order for a merchant; returns the value."""
    if kind == LIVE_CODE:
        value = f"{secrets.randbelow(10_000):04d}"
    elif kind == ACTION_SEQUENCE:
        value = ACTION_ORDERS[secrets.randbelow(len(ACTION_ORDERS))]
    else:
        raise ValueError(f"unknown Cloud API challenge kind {kind!r}")
    store.issue(_merchant(merchant_id), kind, value, {}, now, CLOUD_TTL)
    return value


def has_cloud(store: ChallengeStore, merchant_id: int, kind: str, value: str, now: dt.datetime) -> bool:
    """True when ``value`` is an unused, unexpired challenge of this merchant (nothing is spent)."""
    return store.has(_merchant(merchant_id), kind, value, now)


def take_cloud(store: ChallengeStore, merchant_id: int, kind: str, value: str, now: dt.datetime) -> bool:
    """True (and the issue is spent) when ``value`` was issued to this merchant, unexpired, unused."""
    return store.take(_merchant(merchant_id), kind, value, now) is not None


# -- sessions: a random challenge for the session's liveness mode, named by a nonce --------------
@dataclass(frozen=True)
class SessionChallenge:
    nonce: str
    mode: str
    payload: dict          # the mode's challenge JSON: {"colors", "slot_ms", "nonce"} |
                           # {"code", "show_ms", "duration_ms"} | {"sequence"} | {}
    issued_at: dt.datetime  # naive UTC
    expires_at: dt.datetime

    def to_client(self, now: dt.datetime) -> dict:
        return {"nonce": self.nonce, "mode": self.mode, "challenge": self.payload,
                "expires_in": max(0, int((self.expires_at - now).total_seconds()))}


def new_session_challenge(mode: str, now: dt.datetime, rng: random.Random | None = None) -> SessionChallenge:
    """A fresh random challenge for ``mode`` (light | lip | action | silent)."""
    nonce = new_token(16)
    payload = new_challenge(mode, rng)
    if mode == "light":
        payload["nonce"] = nonce
    now = utc_naive(now)
    return SessionChallenge(nonce, mode, payload, now, now + SESSION_TTL)


def _session(session_id: int) -> str:
    return f"session:{session_id}"


def issue_session(store: ChallengeStore, session_id: int, mode: str, now: dt.datetime,
                  rng: random.Random | None = None) -> SessionChallenge:
    challenge = new_session_challenge(mode, now, rng)
    store.issue(_session(session_id), mode, challenge.nonce, challenge.payload, challenge.issued_at,
                SESSION_TTL)
    return challenge


def has_session(store: ChallengeStore, session_id: int, mode: str, nonce: str, now: dt.datetime) -> bool:
    """True when ``nonce`` names an unused, unexpired challenge of this session's mode (nothing is spent)."""
    return store.has(_session(session_id), mode, nonce, now)


def take_session(store: ChallengeStore, session_id: int, mode: str, nonce: str,
                 now: dt.datetime) -> dict | None:
    """The challenge's JSON when ``nonce`` names an unused, unexpired challenge of this session's
    mode; None otherwise."""
    return store.take(_session(session_id), mode, nonce, now)
