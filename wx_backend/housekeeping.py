"""Scheduled housekeeping: what has expired is deleted by the job worker, not only by hand.

Every INTERVAL_MINUTES the worker runs ``run``: expired mini-program and H5 sessions and spent or
expired OAuth states (anyone can create the last two by opening /h5/oauth/start), expired console
sessions, quota held by Cloud API calls whose worker died before settling (older than STALE_HOLD),
rate-limit windows nobody has hit for a whole window, and expired one-time challenges (the issue path
no longer deletes them: it is every GetLiveCode's). The same work is the CLI's
``flask --app app housekeeping`` for an operator who wants it now. Each part is a bounded DELETE or
UPDATE on indexed columns, so a run costs little even after a flood.
"""
from __future__ import annotations

import datetime as dt
import logging

from huey import crontab

log = logging.getLogger(__name__)

INTERVAL_MINUTES = 10
# A Cloud API call holds its unit of quota for at most gunicorn's timeout (60 s): ten minutes is lost.
STALE_HOLD = dt.timedelta(minutes=10)
TASK_NAME = "housekeeping"


def run(svc) -> dict[str, int]:
    """One pass; returns rows removed (or holds released) per kind."""
    from .pipeline.charge import release_stale
    from .merchants.signin import purge_expired as purge_console_sessions
    from .wechat.housekeeping import purge_expired as purge_wechat

    now = svc.clock.now()
    done = dict(purge_wechat(svc.clock))
    done["console_sessions"] = purge_console_sessions(svc.clock)
    done["stale_quota_holds"] = release_stale(now - STALE_HOLD)
    done["rate_windows"] = svc.rate_limiter.purge(int(now.timestamp() * 1000))
    done["challenges"] = svc.challenges.purge(now)
    if any(done.values()):
        log.info("housekeeping: %s", ", ".join(f"{k}={v}" for k, v in done.items() if v))
    return done


def register(svc) -> None:
    """Schedule ``run`` on the application's job queue (the worker runs periodic tasks)."""
    svc.jobs.periodic(TASK_NAME, crontab(minute=f"*/{INTERVAL_MINUTES}"))(lambda: run(svc))


def register_cli(app, svc) -> None:
    import json

    import click

    from . import db

    @app.cli.command(TASK_NAME)
    def housekeeping_command():
        """Delete expired sessions, OAuth states, rate windows and challenges; release stale quota holds
        (JSON)."""
        with db.database.connection_context():
            click.echo(json.dumps({"status": "ok", **run(svc)}))
