"""Time, injected. Domain code asks a Clock; tests hand in a FrozenClock and move it."""
from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware UTC."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


class FrozenClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: dt.datetime | None = None):
        self._now = start or dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0, **kwargs) -> dt.datetime:
        with self._lock:
            self._now += dt.timedelta(seconds=seconds, **kwargs)
            return self._now

    def set(self, when: dt.datetime) -> None:
        with self._lock:
            self._now = when


def utc_naive(when: dt.datetime) -> dt.datetime:
    """Timestamps are stored as naive UTC (portable across SQLite and PostgreSQL)."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return when
