"""Limits that hold across every gunicorn worker (and host): per-merchant QPS, and the slower throttles
(console sign-in failures, applications per client and per phone number, SMS per phone number per day).

A sliding log per key: a call is admitted when fewer than ``limit`` calls were admitted in the preceding
``window_ms`` (one second for QPS), so no interval of that length ever holds more than ``limit`` admitted
calls (a fixed window would let up to 2x through across a window edge). ``recent`` reads a key's admitted
times without adding one, ``clear`` forgets a key (a successful sign-in), ``purge`` drops keys whose
window has passed (the worker's housekeeping). Time comes from the caller (``now_ms``, the injected
clock), so tests never sleep.

Backends, one contract (tests/api/test_stores.py runs the same suite on each):
* ``SqliteFileRateLimiter`` — default when the database is SQLite: one row per key holding the
  admitted timestamps, read and rewritten under BEGIN IMMEDIATE in a SQLite file of its own
  (``settings.rate_limit_sqlite_path``, by default beside the database), so that a QPS hit neither
  waits for nor holds the main database's write lock (every Cloud API call makes one).
* ``DatabaseRateLimiter`` — the same rows in the application database: when that is PostgreSQL without
  Redis (a row lock per key there, no database-wide lock).
* ``RedisRateLimiter`` — when ``settings.redis_url``: a sorted set per key, trimmed/counted/added in one
  Lua script (atomic on the Redis server).
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

import peewee

from .. import db
from ..db import BaseModel

log = logging.getLogger(__name__)

WINDOW_MS = 1000


class RateLimiterUnavailable(Exception):
    """The limiter's store could not be reached."""


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, now_ms: int, window_ms: int = WINDOW_MS) -> bool:
        """Count one call for ``key``; True when it is admitted (fewer than ``limit`` in the window)."""

    def recent(self, key: str, now_ms: int, window_ms: int) -> list[int]:
        """The admitted calls' times (ms) of ``key`` in the window, oldest first; nothing is added."""

    def clear(self, key: str) -> None:
        """Forget ``key``'s calls."""

    def purge(self, now_ms: int) -> int:
        """Drop keys whose window has passed; returns how many (0 where the store expires them itself)."""


def _in_window(times, now_ms: int, window_ms: int) -> list[int]:
    # A little of the future is kept: another worker's clock may run a few ms ahead.
    return sorted(t for t in times if now_ms - window_ms < t <= now_ms + WINDOW_MS)


class RateWindow(BaseModel):
    key = peewee.CharField(max_length=128, unique=True)
    hits = peewee.TextField(default="[]")          # admitted calls' timestamps (ms), at most `limit` of them
    version = peewee.BigIntegerField(default=0)    # bumped first in each hit: takes the row's write lock
    expires_ms = peewee.BigIntegerField(default=0, index=True)   # the last hit leaves the window then


class DatabaseRateLimiter:
    def hit(self, key: str, limit: int, now_ms: int, window_ms: int = WINDOW_MS) -> bool:
        if limit <= 0:
            return False
        try:
            with db.write_atomic():
                RateWindow.insert(key=key, hits="[]", version=0).on_conflict_ignore().execute()
                RateWindow.update(version=RateWindow.version + 1).where(RateWindow.key == key).execute()
                row = RateWindow.get(RateWindow.key == key)
                hits = _in_window(json.loads(row.hits), now_ms, window_ms)
                admitted = len(hits) < limit
                if admitted:
                    hits.append(now_ms)
                    RateWindow.update(hits=json.dumps(hits), expires_ms=now_ms + window_ms).where(
                        RateWindow.key == key).execute()
        except peewee.PeeweeException as exc:
            raise RateLimiterUnavailable(f"rate-limit store failed: {type(exc).__name__}") from exc
        return admitted

    def recent(self, key: str, now_ms: int, window_ms: int) -> list[int]:
        try:
            row = RateWindow.get_or_none(RateWindow.key == key)
        except peewee.PeeweeException as exc:
            raise RateLimiterUnavailable(f"rate-limit store failed: {type(exc).__name__}") from exc
        return _in_window(json.loads(row.hits), now_ms, window_ms) if row else []

    def clear(self, key: str) -> None:
        try:
            RateWindow.delete().where(RateWindow.key == key).execute()
        except peewee.PeeweeException as exc:
            raise RateLimiterUnavailable(f"rate-limit store failed: {type(exc).__name__}") from exc

    def purge(self, now_ms: int) -> int:
        return RateWindow.delete().where(RateWindow.expires_ms < now_ms).execute()


class SqliteFileRateLimiter:
    """The windows in a SQLite file of their own (WAL), through the standard library's sqlite3: no peewee
    model here, because peewee binds a model class to one database and RateWindow is the main database's.
    One connection per thread (and per process: a connection is never carried across gunicorn's fork)."""

    _SCHEMA = ("CREATE TABLE IF NOT EXISTS rate_window (key TEXT PRIMARY KEY, hits TEXT NOT NULL, "
               "expires_ms INTEGER NOT NULL)",
               "CREATE INDEX IF NOT EXISTS rate_window_expires ON rate_window (expires_ms)")

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()
        self._setup_lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            # First use in this thread: one thread of the process at a time, and retried while another
            # process holds the file, since switching a new file to WAL and creating the table take locks
            # that SQLite's busy timeout does not always wait for ("database is locked" at once: seen with
            # six threads making their first hit together, tests/api/test_stores.py).
            with self._setup_lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), timeout=10, isolation_level=None, check_same_thread=False)
                try:
                    self._prepare(conn)
                except BaseException:
                    conn.close()
                    raise
            local.conn, local.pid = conn, os.getpid()
        return local.conn

    def _prepare(self, conn: sqlite3.Connection, attempts: int = 100) -> None:
        for attempt in range(attempts):
            try:
                for pragma in ("busy_timeout=10000", "journal_mode=wal", "synchronous=normal"):
                    conn.execute(f"PRAGMA {pragma}")
                for statement in self._SCHEMA:
                    conn.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.02)

    def _failed(self, exc: Exception) -> RateLimiterUnavailable:
        return RateLimiterUnavailable(f"rate-limit store failed: {type(exc).__name__}")

    def hit(self, key: str, limit: int, now_ms: int, window_ms: int = WINDOW_MS) -> bool:
        if limit <= 0:
            return False
        try:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT hits FROM rate_window WHERE key = ?", (key,)).fetchone()
                hits = _in_window(json.loads(row[0]) if row else (), now_ms, window_ms)
                admitted = len(hits) < limit
                if admitted:
                    hits.append(now_ms)
                    conn.execute("INSERT INTO rate_window (key, hits, expires_ms) VALUES (?, ?, ?) "
                                 "ON CONFLICT (key) DO UPDATE SET hits = excluded.hits, "
                                 "expires_ms = excluded.expires_ms", (key, json.dumps(hits), now_ms + window_ms))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc
        return admitted

    def recent(self, key: str, now_ms: int, window_ms: int) -> list[int]:
        try:
            row = self._conn().execute("SELECT hits FROM rate_window WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc
        return _in_window(json.loads(row[0]), now_ms, window_ms) if row else []

    def clear(self, key: str) -> None:
        try:
            self._conn().execute("DELETE FROM rate_window WHERE key = ?", (key,))
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc

    def purge(self, now_ms: int) -> int:
        try:
            return self._conn().execute("DELETE FROM rate_window WHERE expires_ms < ?", (now_ms,)).rowcount
        except sqlite3.Error as exc:
            raise self._failed(exc) from exc


# KEYS[1] sorted set; ARGV: now_ms, window_ms, limit, unique member. Returns 1 admitted / 0 refused.
_SLIDING_LOG = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window + 1000)
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

    def hit(self, key: str, limit: int, now_ms: int, window_ms: int = WINDOW_MS) -> bool:
        if limit <= 0:
            return False
        import redis
        member = f"{now_ms}:{secrets.token_hex(6)}"
        try:
            return bool(self._script(keys=[self._prefix + key], args=[now_ms, window_ms, limit, member]))
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(f"rate-limit store failed: {type(exc).__name__}") from exc

    def recent(self, key: str, now_ms: int, window_ms: int) -> list[int]:
        import redis
        try:
            scores = self._client.zrangebyscore(self._prefix + key, f"({now_ms - window_ms}",
                                                now_ms + WINDOW_MS, withscores=True)
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(f"rate-limit store failed: {type(exc).__name__}") from exc
        return [int(score) for _member, score in scores]

    def clear(self, key: str) -> None:
        import redis
        try:
            self._client.delete(self._prefix + key)
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(f"rate-limit store failed: {type(exc).__name__}") from exc

    def purge(self, now_ms: int) -> int:
        return 0      # every key carries its own PEXPIRE


def build_rate_limiter(settings) -> RateLimiter:
    """Redis when configured; else a file of its own beside a SQLite database; else the database's rows."""
    if settings.redis_url:
        return RedisRateLimiter.from_url(settings.redis_url)
    path = settings.rate_limit_sqlite_file
    return SqliteFileRateLimiter(path) if path is not None else DatabaseRateLimiter()
