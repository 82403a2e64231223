"""The background job queue (Huey) and its worker: ``python -m wx_backend.jobs worker``.

Storage: SQLite at ``settings.huey_sqlite_path`` by default, Redis when ``settings.redis_url`` is set;
``settings.huey_immediate`` runs every task at once in the caller (tests). Features register their
tasks through ``JobQueue.task`` / ``JobQueue.periodic`` in their ``init_app``, so the web workers and
the job worker, both built by ``create_app``, know the same tasks under the same names. Each task
runs inside the application context with the database connected.

Huey's own queue is not the record of truth: features keep each job's state in the database as
well (see verification.jobs), so a task lost with a killed worker is found and run again.
"""
from __future__ import annotations

import argparse
import functools
import logging
import sys
from pathlib import Path
from typing import Callable

from huey import Huey, RedisHuey, SqliteHuey, crontab

from . import db

log = logging.getLogger(__name__)


def build_huey(settings) -> Huey:
    if settings.redis_url:
        return RedisHuey("wxfaceid", url=settings.redis_url, immediate=settings.huey_immediate)
    if not settings.huey_immediate:
        # SqliteHuey opens its file at construction; var/ may not exist yet on a fresh checkout.
        Path(settings.huey_sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("wxfaceid", filename=settings.huey_sqlite_path, immediate=settings.huey_immediate)


class JobQueue:
    """A Huey instance plus the application its tasks run in."""

    def __init__(self, huey: Huey, app):
        self.huey = huey
        self._app = app
        self._startup: list[Callable[[], None]] = []

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
        return run

    def task(self, name: str, **options) -> Callable[[Callable], Callable]:
        """Register ``fn`` as a task; calling the returned wrapper enqueues it."""
        def register(fn: Callable):
            return self.huey.task(name=name, **options)(self._in_app(fn))
        return register

    def periodic(self, name: str, schedule: crontab, **options) -> Callable[[Callable], Callable]:
        def register(fn: Callable):
            return self.huey.periodic_task(schedule, name=name, **options)(self._in_app(fn))
        return register

    def on_worker_start(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` (in the app context) when the worker starts: e.g. a sweep for lost jobs."""
        self._startup.append(self._in_app(fn))

    def run_worker(self, workers: int = 1) -> None:
        for fn in self._startup:
            fn()
        consumer = self.huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                             check_worker_health=True)
        consumer.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wx_backend.jobs")
    sub = parser.add_subparsers(dest="command", required=True)
    worker = sub.add_parser("worker", help="run the background job worker")
    worker.add_argument("--workers", type=int, default=1,
                        help="threads; video jobs are CPU-bound, one per core at most")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from . import create_app
    from .liveness import kit_holder
    from .services import EXTENSION_KEY

    app = create_app()
    with app.app_context():
        db.create_tables()
    svc = app.extensions[EXTENSION_KEY]
    svc.engine.warm()      # the models load once per worker process, before the first job
    kit_holder(svc).warm()
    svc.jobs.run_worker(workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
