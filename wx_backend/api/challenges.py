"""One-time challenges of the Cloud API: the digit code (GetLiveCode) and the action order (GetActionSequence).

A challenge is accepted once, within ``TTL`` of being issued, and only from the merchant that obtained it.
The values are small (10,000 codes, two action orders), so what is stored is an outstanding *issue* of a
value to a merchant, and consuming takes exactly one unexpired issue. Stores, one contract:
``DatabaseChallengeStore`` (default; rows in the application database) and ``RedisChallengeStore`` (when
``settings.redis_url``; a sorted set of expiry times per merchant/kind/value). Both hold across workers.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Protocol

import peewee

from .. import db
from ..clock import utc_naive
from ..crypto import Sealer
from ..db import BaseModel

log = logging.getLogger(__name__)

TTL = dt.timedelta(minutes=10)
CHALLENGES = "challenge_store"     # svc.extras key
LIVE_CODE, ACTION_SEQUENCE = "live_code", "action_sequence"
# 1 = open mouth, 2 = close eyes (blink), as the cloud numbers them.
ACTION_ORDERS = ("1,2", "2,1")


class ChallengeStoreUnavailable(Exception):
    pass


class ChallengeStore(Protocol):
    def issue(self, merchant_id: int, kind: str, value: str, now: dt.datetime) -> None: ...

    def consume(self, merchant_id: int, kind: str, value: str, now: dt.datetime) -> bool:
        """True (and the issue is spent) when ``value`` was issued to this merchant, unexpired, unused."""


def new_live_code() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def new_action_sequence() -> str:
    return ACTION_ORDERS[secrets.randbelow(len(ACTION_ORDERS))]


class IssuedChallenge(BaseModel):
    merchant_id = peewee.IntegerField()
    lookup = peewee.CharField(max_length=64, index=True)    # digest of merchant/kind/value; no clear codes
    expires_at = peewee.DateTimeField()
    used_at = peewee.DateTimeField(null=True)


class DatabaseChallengeStore:
    def __init__(self, sealer: Sealer):
        self._sealer = sealer

    def _lookup(self, merchant_id: int, kind: str, value: str) -> str:
        return self._sealer.digest(f"{merchant_id}:{kind}:{value}", "challenge")

    def issue(self, merchant_id: int, kind: str, value: str, now: dt.datetime) -> None:
        now = utc_naive(now)
        try:
            with db.database.atomic():
                # Spent and long-expired issues are of no further use; keep the table small.
                IssuedChallenge.delete().where(IssuedChallenge.expires_at < now - TTL).execute()
                IssuedChallenge.create(merchant_id=merchant_id, lookup=self._lookup(merchant_id, kind, value),
                                       expires_at=now + TTL)
        except peewee.PeeweeException as exc:
            raise ChallengeStoreUnavailable(type(exc).__name__) from exc

    def consume(self, merchant_id: int, kind: str, value: str, now: dt.datetime) -> bool:
        now = utc_naive(now)
        lookup = self._lookup(merchant_id, kind, value)
        try:
            with db.write_atomic():
                candidates = (IssuedChallenge.select(IssuedChallenge.id)
                              .where((IssuedChallenge.lookup == lookup) & IssuedChallenge.used_at.is_null()
                                     & (IssuedChallenge.expires_at > now))
                              .order_by(IssuedChallenge.expires_at))
                for row in candidates:
                    taken = (IssuedChallenge.update(used_at=now)
                             .where((IssuedChallenge.id == row.id) & IssuedChallenge.used_at.is_null())
                             .execute())
                    if taken:
                        return True
        except peewee.PeeweeException as exc:
            raise ChallengeStoreUnavailable(type(exc).__name__) from exc
        return False


_CONSUME = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local got = redis.call('ZPOPMIN', KEYS[1])
if #got > 0 then return 1 end
return 0
"""


class RedisChallengeStore:
    def __init__(self, client, sealer: Sealer, prefix: str = "wxf:chal:"):
        self._client = client
        self._sealer = sealer
        self._prefix = prefix
        self._consume = client.register_script(_CONSUME)

    @classmethod
    def from_url(cls, url: str, sealer: Sealer, prefix: str = "wxf:chal:") -> "RedisChallengeStore":
        import redis
        return cls(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2), sealer, prefix)

    def _key(self, merchant_id: int, kind: str, value: str) -> str:
        return self._prefix + self._sealer.digest(f"{merchant_id}:{kind}:{value}", "challenge")

    def issue(self, merchant_id: int, kind: str, value: str, now: dt.datetime) -> None:
        import redis
        expires_ms = int((now + TTL).timestamp() * 1000)
        key = self._key(merchant_id, kind, value)
        try:
            pipe = self._client.pipeline()
            pipe.zadd(key, {secrets.token_hex(8): expires_ms})
            pipe.pexpire(key, int(TTL.total_seconds() * 1000) * 2)
            pipe.execute()
        except redis.RedisError as exc:
            raise ChallengeStoreUnavailable(type(exc).__name__) from exc

    def consume(self, merchant_id: int, kind: str, value: str, now: dt.datetime) -> bool:
        import redis
        try:
            return bool(self._consume(keys=[self._key(merchant_id, kind, value)],
                                      args=[int(now.timestamp() * 1000)]))
        except redis.RedisError as exc:
            raise ChallengeStoreUnavailable(type(exc).__name__) from exc


def build_challenge_store(redis_url: str, sealer: Sealer) -> ChallengeStore:
    return RedisChallengeStore.from_url(redis_url, sealer) if redis_url else DatabaseChallengeStore(sealer)
