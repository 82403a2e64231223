"""Workers give the heap of a large request back (wx_backend/memory.py, issue 17): the trim runs after a
request that grew the process, not after the others, through gunicorn's post_request hook and after each
background job; where glibc is absent nothing fails. How much memory comes back is measured by
bench/worker_memory.py, not here."""
from __future__ import annotations

import ctypes
import platform
import runpy
from pathlib import Path

import pytest

from wx_backend import memory

ROOT = Path(__file__).resolve().parent.parent.parent
MB = 1024 * 1024
GLIBC = platform.libc_ver()[0] == "glibc"


class RecordingLibc:
    """Stands in for the C library (a process edge): records the calls, forwards them to ``real`` if given."""

    def __init__(self, real=None, fail: Exception | None = None):
        self.real, self.fail = real, fail
        self.trims: list[int] = []
        self.options: list[tuple[int, int]] = []

    def malloc_trim(self, pad: int) -> int:
        self.trims.append(pad)
        if self.fail is not None:
            raise self.fail
        return self.real.malloc_trim(pad) if self.real is not None else 1

    def mallopt(self, param: int, value: int) -> int:
        self.options.append((param, value))
        return 1


class Sizes:
    """RSS readings, one per call, in MB."""

    def __init__(self, *mb: float):
        self.values = [int(v * MB) for v in mb]

    def __call__(self) -> int:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def test_trims_only_after_the_process_grew_past_the_threshold():
    libc, order = RecordingLibc(), []
    trimmer = memory.Trimmer(growth_bytes=32 * MB, libc=libc, collect=lambda: order.append("gc"),
                             rss=Sizes(500, 510, 531, 600, 505, 520, 533, 500))
    trimmer.reset()                                   # warm: 500 MB
    assert trimmer.after_request() is False           # 510: a small request
    assert trimmer.after_request() is False           # 531: still under 500 + 32
    assert trimmer.after_request() is True            # 600: a large one -> collected, trimmed (505 after)
    assert libc.trims == [0] and order == ["gc"]
    assert trimmer.after_request() is False           # 520
    assert trimmer.after_request() is True            # 533: over the warm size + 32 again
    assert libc.trims == [0, 0] and trimmer.trims == 2


def test_a_trim_that_could_not_get_back_waits_for_more_growth():
    libc = RecordingLibc()
    trimmer = memory.Trimmer(growth_bytes=32 * MB, libc=libc, collect=lambda: None,
                             rss=Sizes(500, 600, 590, 597, 610, 505, 540, 500))
    trimmer.reset()
    assert trimmer.after_request() is True            # 600 -> 590: still 90 over the warm size
    assert trimmer.after_request() is False           # 597: 7 more, under a quarter of 32
    assert trimmer.after_request() is True            # 610: 20 more -> 505
    assert trimmer.after_request() is True            # 540: back under the line last time, so 40 over warm trims
    assert len(libc.trims) == 3


def test_the_floor_follows_the_process_down():
    libc = RecordingLibc()
    trimmer = memory.Trimmer(growth_bytes=32 * MB, libc=libc, collect=lambda: None, rss=Sizes(600, 500, 540, 500))
    trimmer.reset()                                   # 600
    assert trimmer.after_request() is False           # 500: the new floor
    assert trimmer.after_request() is True            # 540: 40 over 500
    assert libc.trims == [0]


def test_settle_freezes_what_the_warm_process_holds_and_takes_its_size(monkeypatch):
    import gc

    trimmer = memory.Trimmer(growth_bytes=32 * MB, libc=RecordingLibc(), collect=lambda: None,
                             rss=Sizes(700, 700, 740))
    monkeypatch.setattr(memory, "TRIMMER", trimmer)
    try:
        memory.settle()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert trimmer.after_request() is False           # 700: the warm size
    assert trimmer.after_request() is True            # 740


def test_without_glibc_nothing_is_trimmed_and_nothing_fails(monkeypatch):
    def no_libc(*args, **kwargs):
        raise OSError("not glibc")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    assert memory.glibc() is None
    trimmer = memory.Trimmer(growth_bytes=1, rss=Sizes(100, 900))
    trimmer.reset()
    assert trimmer.available is False
    assert trimmer.after_request() is False
    assert memory.limit_arenas(2) is False


def test_a_c_library_without_malloc_trim_counts_as_absent(monkeypatch):
    class Musl:      # ctypes raises AttributeError for a symbol the library does not have
        def __getattr__(self, name):
            raise AttributeError(name)

    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **k: Musl())
    assert memory.glibc() is None


def test_a_failing_trim_is_logged_once_and_then_left_alone(caplog):
    libc = RecordingLibc(fail=OSError("boom"))
    trimmer = memory.Trimmer(growth_bytes=10 * MB, libc=libc, collect=lambda: None, rss=Sizes(100, 200, 300))
    trimmer.reset()
    assert trimmer.after_request() is False
    assert trimmer.after_request() is False
    assert libc.trims == [0]
    assert "malloc_trim failed" in caplog.text


def test_without_proc_nothing_is_trimmed():
    libc = RecordingLibc()
    trimmer = memory.Trimmer(growth_bytes=1, libc=libc, rss=lambda: None)
    trimmer.reset()
    assert trimmer.after_request() is False
    assert libc.trims == []


def test_the_arena_limit_comes_from_the_settings():
    from wx_backend.settings import Settings

    libc = RecordingLibc()
    assert Settings.from_env({}).malloc_arena_max == 2
    arenas = Settings.from_env({"MALLOC_ARENA_MAX": "4"}).malloc_arena_max
    assert memory.limit_arenas(arenas, libc) is True
    assert libc.options == [(memory.M_ARENA_MAX, 4)]
    assert memory.limit_arenas(0, libc) is False            # 0: glibc's own default, left alone
    assert libc.options == [(memory.M_ARENA_MAX, 4)]


@pytest.mark.skipif(not GLIBC, reason="glibc only: elsewhere there is nothing to trim")
def test_a_real_large_request_is_trimmed_by_glibc():
    """The real C library: a heap grown by ~64 MB in blocks below the mmap threshold, mostly freed but
    pinned by the blocks still alive, is handed to malloc_trim."""
    libc = RecordingLibc(real=memory.glibc())
    trimmer = memory.Trimmer(growth_bytes=16 * MB, libc=libc)
    trimmer.reset()
    blocks = [bytearray(64 * 1024) for _ in range(1024)]
    kept = blocks[::16]
    del blocks
    assert trimmer.after_request() is True
    assert libc.trims == [0]
    assert len(kept) == 64


def test_gunicorn_trims_after_each_request_and_limits_arenas_after_the_fork(monkeypatch):
    calls = []

    class Recorder:
        def after_request(self):
            calls.append("after_request")

        def reset(self):
            calls.append("reset")

    monkeypatch.setattr(memory, "TRIMMER", Recorder())
    monkeypatch.setattr(memory, "limit_arenas", lambda arenas: calls.append(("limit_arenas", arenas)))
    for config in ("gunicorn.conf.py", "deploy/gunicorn.conf.py"):
        calls.clear()
        hooks = runpy.run_path(str(ROOT / config))
        hooks["post_fork"](None, None)
        hooks["post_request"](None, None, {}, None)
        assert calls == [("limit_arenas", 2), "after_request"], config


def test_a_background_job_is_followed_by_the_trim_check(app, monkeypatch):
    from wx_backend.jobs import JobQueue
    from wx_backend.services import EXTENSION_KEY

    calls = []

    class Recorder:
        def after_request(self):
            calls.append("after_request")

    monkeypatch.setattr(memory, "TRIMMER", Recorder())
    queue: JobQueue = app.extensions[EXTENSION_KEY].jobs
    job = queue._in_app(lambda: calls.append("job"))
    job()
    assert calls == ["job", "after_request"]
