"""Per-merchant request limits that hold across every gunicorn worker (and host).

A sliding one-second log: a call is admitted when fewer than ``limit`` calls were admitted in the
preceding 1000 ms, so no one-second interval ever holds more than ``limit`` admitted calls (a fixed window
would let up to 2x through across a window edge). Time comes from the caller (``now_ms``, the injected
clock), so tests never sleep.

Backends, one contract (tests/api/test_ratelimit.py runs the same suite on both):
* ``DatabaseRateLimiter`` — default, no server needed: one row per key holding the admitted timestamps,
  read and rewritten under the database write lock (BEGIN IMMEDIATE on SQLite, a row lock elsewhere).
* ``RedisRateLimiter`` — when ``settings.redis_url``: a sorted set per key, trimmed/counted/added in one
  Lua script (atomic on the Redis server).
"""
from __future__ import annotations

import json
import logging
import secrets
from typing import Protocol

import peewee

from .. import db
from ..db import BaseModel

log = logging.getLogger(__name__)

WINDOW_MS = 1000


class RateLimiterUnavailable(Exception):
    """The limiter's store could not be reached."""


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, now_ms: int) -> bool:
        """Count one call for ``key``; True when it is admitted (fewer than ``limit`` in the last second)."""


class RateWindow(BaseModel):
    key = peewee.CharField(max_length=128, unique=True)
    hits = peewee.TextField(default="[]")          # admitted calls' timestamps (ms), at most `limit` of them
    version = peewee.BigIntegerField(default=0)    # bumped first in each hit: takes the row's write lock


class DatabaseRateLimiter:
    def hit(self, key: str, limit: int, now_ms: int) -> bool:
        if limit <= 0:
            return False
        try:
            with db.write_atomic():
                RateWindow.insert(key=key, hits="[]", version=0).on_conflict_ignore().execute()
                RateWindow.update(version=RateWindow.version + 1).where(RateWindow.key == key).execute()
                row = RateWindow.get(RateWindow.key == key)
                hits = [t for t in json.loads(row.hits) if now_ms - WINDOW_MS < t <= now_ms + WINDOW_MS]
                admitted = len(hits) < limit
                if admitted:
                    hits.append(now_ms)
                    RateWindow.update(hits=json.dumps(hits)).where(RateWindow.key == key).execute()
        except peewee.PeeweeException as exc:
            raise RateLimiterUnavailable(f"rate-limit store failed: {type(exc).__name__}") from exc
        return admitted


# KEYS[1] sorted set; ARGV: now_ms, window_ms, limit, unique member. Returns 1 admitted / 0 refused.
_SLIDING_LOG = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window * 2)
  return 1
end
return 0
"""


class RedisRateLimiter:
    def __init__(self, client, prefix: str = "wxf:qps:"):
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_SLIDING_LOG)

    @classmethod
    def from_url(cls, url: str, prefix: str = "wxf:qps:") -> "RedisRateLimiter":
        import redis
        return cls(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2), prefix)

    def hit(self, key: str, limit: int, now_ms: int) -> bool:
        if limit <= 0:
            return False
        import redis
        member = f"{now_ms}:{secrets.token_hex(6)}"
        try:
            return bool(self._script(keys=[self._prefix + key], args=[now_ms, WINDOW_MS, limit, member]))
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(f"rate-limit store failed: {type(exc).__name__}") from exc


def build_rate_limiter(redis_url: str) -> RateLimiter:
    return RedisRateLimiter.from_url(redis_url) if redis_url else DatabaseRateLimiter()
