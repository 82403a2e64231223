"""The background job queue (Huey) and its worker: ``python -m wx_backend.jobs worker``.

Storage: SQLite at ``settings.huey_sqlite_path`` by default, Redis when ``settings.redis_url`` is set;
``settings.huey_immediate`` runs every task at once in the caller (tests). Features register their
tasks through ``JobQueue.task`` / ``JobQueue.periodic`` / ``JobQueue.every`` in their ``init_app``, so
the web workers and the job worker, both built by ``create_app``, know the same tasks under the same
names. Each task runs inside the application context with the database connected.

An idle worker takes a new task at once: on Redis it blocks in BRPOP until one is pushed; on SQLite it
looks every ``SQLITE_POLL_S`` (Huey's default back-off grows to 10 s between looks, which left a video
seconds in an idle queue while the page said "queued").

Huey's own queue is not the record of truth: features keep each job's state in the database as
well (see verification.jobs), so a task lost with a killed worker is found and run again.
"""
from __future__ import annotations

import argparse
import functools
import logging
import sys
import threading
from pathlib import Path
from typing import Callable

from huey import Huey, RedisHuey, SqliteHuey, crontab

from . import db, memory

log = logging.getLogger(__name__)

SQLITE_POLL_S = 0.1
# One BRPOP waits this long before the worker loop looks at its stop flag again (shutdown latency).
REDIS_READ_TIMEOUT_S = 1


def build_huey(settings) -> Huey:
    if settings.redis_url:
        return RedisHuey(settings.huey_name, url=settings.redis_url, immediate=settings.huey_immediate,
                         blocking=True, read_timeout=REDIS_READ_TIMEOUT_S)
    if not settings.huey_immediate:
        # SqliteHuey opens its file at construction; var/ may not exist yet on a fresh checkout.
        Path(settings.huey_sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.huey_name, filename=settings.huey_sqlite_path,
                      immediate=settings.huey_immediate)


class JobQueue:
    """A Huey instance plus the application its tasks run in."""

    def __init__(self, huey: Huey, app):
        self.huey = huey
        self._app = app
        self._startup: list[Callable[[], None]] = []
        self._every: list[tuple[float, Callable[[], None]]] = []
        self.tasks: dict[str, Callable] = {}     # name -> calling it enqueues the task

    def _in_app(self, fn: Callable) -> Callable:
        app = self._app

        @functools.wraps(fn)
        def run(*args, **kwargs):
            with app.app_context():
                opened = db.database.connect(reuse_if_open=True)
                try:
                    return fn(*args, **kwargs)
                finally:
                    if opened and not db.database.is_closed():
                        db.database.close()
                    memory.TRIMMER.after_request()    # a session's video was judged here: see memory.py
        return run

    def task(self, name: str, **options) -> Callable[[Callable], Callable]:
        """Register ``fn`` as a task; calling the returned wrapper enqueues it."""
        def register(fn: Callable):
            self.tasks[name] = self.huey.task(name=name, **options)(self._in_app(fn))
            return self.tasks[name]
        return register

    def periodic(self, name: str, schedule: crontab, **options) -> Callable[[Callable], Callable]:
        def register(fn: Callable):
            self.tasks[name] = self.huey.periodic_task(schedule, name=name, **options)(self._in_app(fn))
            return self.tasks[name]
        return register

    def on_worker_start(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` (in the app context) when the worker starts: e.g. a sweep for lost jobs."""
        self._startup.append(self._in_app(fn))

    def every(self, seconds: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` (in the app context) every ``seconds`` in the worker, on a thread of its own: for
        housekeeping that must come round more often than Huey's periodic tasks (once a minute at best)."""
        self._every.append((seconds, self._in_app(fn)))

    def consumer(self, workers: int = 1):
        """Huey's consumer as the worker runs it: thread workers polling without back-off (SQLite; Redis
        blocks instead), and SIGTERM (systemctl stop/restart) lets the running video finish."""
        return self.huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                         check_worker_health=True, initial_delay=SQLITE_POLL_S,
                                         backoff=1.0, max_delay=SQLITE_POLL_S, graceful_signal="TERM")

    def run_worker(self, workers: int = 1, on_ready: Callable[[], None] | None = None) -> None:
        """Run the start-up hooks, then consume tasks until SIGTERM/SIGINT. ``on_ready`` is called
        once the worker is about to take tasks."""
        for fn in self._startup:
            fn()
        consumer = self.consumer(workers)
        stop = threading.Event()
        for seconds, fn in self._every:
            threading.Thread(target=_repeat, args=(seconds, fn, stop), daemon=True,
                             name=f"every-{getattr(fn, '__name__', 'job')}").start()
        if on_ready is not None:
            on_ready()
        try:
            consumer.run()
        finally:
            stop.set()


def _repeat(seconds: float, fn: Callable[[], None], stop: threading.Event) -> None:
    while not stop.wait(seconds):
        try:
            fn()
        except Exception:  # a failed round is logged; the next one tries again
            log.exception("housekeeping %s failed", getattr(fn, "__name__", fn))


def _notify_ready() -> None:
    """Tell a supervisor that listens on $NOTIFY_SOCKET (systemd Type=notify, deploy/cluster.py) that
    the models are loaded and tasks are being taken. gunicorn's helper speaks the protocol."""
    from gunicorn.systemd import sd_notify
    sd_notify("READY=1", log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wx_backend.jobs")
    sub = parser.add_subparsers(dest="command", required=True)
    worker = sub.add_parser("worker", help="run the background job worker")
    worker.add_argument("--workers", type=int, default=1,
                        help="threads; video jobs are CPU-bound, one per core at most")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from . import create_app
    from .services import EXTENSION_KEY
    from .settings import load_settings

    settings = load_settings()
    memory.limit_arenas(settings.malloc_arena_max)     # before any thread starts
    app = create_app(settings)
    with app.app_context():
        db.create_tables()
    svc = app.extensions[EXTENSION_KEY]
    svc.engine.warm()      # the models load once per worker process, before the first job
    svc.liveness.warm()
    memory.settle()
    log.info("worker ready: queue %r on %s", svc.jobs.huey.name, type(svc.jobs.huey).__name__)
    svc.jobs.run_worker(workers=args.workers, on_ready=_notify_ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
