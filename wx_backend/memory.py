"""A worker's memory: freed heap given back to the system after a request that needed a lot of it.

A large request (a 4K capture decoded frame by frame, 225 frames kept, a 12 MP photo) frees what it used
when it ends, but glibc's malloc keeps freed memory in its heaps for later: the worker's RSS stays near
its largest request's peak, and with several threads each allocating in an arena of its own, the peaks of
several arenas add up. Measured with bench/worker_memory.py (docs/deploy.md, Memory). Two remedies, both
standard for glibc:

- fewer arenas: ``limit_arenas()`` (mallopt M_ARENA_MAX: Settings.malloc_arena_max, MALLOC_ARENA_MAX or 2),
  once per process before its threads start (gunicorn's post_fork, the job worker's start);
- ``Trimmer.after_request()`` after each request or job: when the process has grown by more than
  ``growth_bytes`` since its smallest size, the cyclic garbage is collected and ``malloc_trim(0)``
  returns the free pages of every arena. It costs a few milliseconds and runs only then, after the answer
  has been sent (``settle()`` once the models are loaded keeps that collection short).

Where the C library is not glibc (musl, macOS) or /proc is absent, both do nothing: the process keeps its
memory as before, nothing fails. gunicorn's max_requests stays a safety net only (deploy/gunicorn.conf.py).
"""
from __future__ import annotations

import ctypes
import gc
import logging
import os
import threading
from typing import Callable

log = logging.getLogger(__name__)

M_ARENA_MAX = -8                        # glibc's mallopt parameter number (malloc.h)
DEFAULT_ARENAS = 2
TRIM_GROWTH_BYTES = 32 * 1024 * 1024


def glibc():
    """The process's glibc (ctypes), or None where malloc_trim/mallopt are not there."""
    try:
        libc = ctypes.CDLL(None)
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def rss_bytes() -> int | None:
    """This process's resident set size, from /proc/self/statm (None where there is none)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def limit_arenas(arenas: int = DEFAULT_ARENAS, libc=None) -> bool:
    """At most ``arenas`` malloc arenas in this process (Settings.malloc_arena_max: MALLOC_ARENA_MAX, 2 when
    unset). Call before the process starts threads. True when glibc took it."""
    libc = libc if libc is not None else glibc()
    if libc is None or arenas < 1:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, arenas))


class Trimmer:
    """After a request: when the process is ``growth_bytes`` or more above the smallest size it was seen at
    (its warm size after ``reset()``), collect cyclic garbage (a large request's frames can hang in a
    reference cycle until the collector comes round) and ``malloc_trim(0)``.

    When a trim could not bring the process back under that line (memory still referenced, freed only
    after the hook), the next trim waits for another quarter of ``growth_bytes``, so that a process that
    really holds more is not trimmed after every request. One trim at a time per process."""

    def __init__(self, growth_bytes: int = TRIM_GROWTH_BYTES, libc=None,
                 rss: Callable[[], int | None] = rss_bytes, collect: Callable[[], object] = gc.collect):
        self.growth_bytes = growth_bytes
        self._libc = libc if libc is not None else glibc()
        self._rss = rss
        self._collect = collect
        self._floor: int | None = None
        self._after_last: int | None = None
        self._lock = threading.Lock()
        self.trims = 0

    @property
    def available(self) -> bool:
        return self._libc is not None

    def reset(self) -> None:
        """Take the current size as the floor (gunicorn's post_worker_init, once the models are loaded)."""
        self._floor, self._after_last = self._rss(), None

    def after_request(self) -> bool:
        """Trim if the process has grown enough; True when it trimmed. Never raises."""
        if self._libc is None:
            return False
        with self._lock:
            rss = self._rss()
            if rss is None:
                return False
            if self._floor is None or rss < self._floor:
                self._floor = rss
            if rss - self._floor < self.growth_bytes:
                self._after_last = None
                return False
            if self._after_last is not None and rss - self._after_last < self.growth_bytes // 4:
                return False
            self._collect()
            try:
                self._libc.malloc_trim(0)
            except (OSError, ctypes.ArgumentError) as exc:   # nothing must fail because of a trim
                log.warning("malloc_trim failed: %s", exc)
                self._libc = None
                return False
            self.trims += 1
            after = self._rss()
            log.debug("malloc_trim: %d MB -> %s MB", rss >> 20, after >> 20 if after is not None else "?")
            # Still over the line: what is left is referenced, or freed only after this hook.
            self._after_last = after if after is not None and after - self._floor >= self.growth_bytes else None
            return True


def settle() -> None:
    """Once the models are loaded (a worker's post_worker_init, the job worker's start): what is alive now
    lives as long as the process, so the cyclic collector is told to leave it alone (gc.freeze: a
    collection after a large request then walks only the objects made since), and the size now is the
    warm size the trimmer brings the process back to."""
    gc.collect()
    gc.freeze()
    TRIMMER.reset()


TRIMMER = Trimmer()
