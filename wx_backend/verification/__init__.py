"""Verification sessions (DetectAuth -> BizToken -> capture -> GetDetectInfoEnhanced) on three
channels: WeChat native H5 and mini-program (live frames, verdict now) and ordinary H5 (recorded
video, verdict in the background). See docs/sessions.md.

Collaborators registered here (``svc.extras``): ``session_challenges`` (database or Redis),
``liveness_kit`` (per-process mesher + identity check on the engine, loaded on first use), ``jobs`` (the application's
JobQueue, created here when no other feature did) and ``verification_tasks`` (enqueue-able tasks).
CLI: ``flask --app app verification purge``.
"""
from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup

from ..services import Services

verification_cli = AppGroup("verification", help="Verification sessions.")


def init_app(app: Flask, svc: Services) -> None:
    from . import actions, models  # noqa: F401  (registers the Cloud API actions and the tables)
    from . import jobs, pages, views
    from ..jobs import JobQueue, build_huey
    from .challenges import build_store
    from ..liveness import kit_holder

    svc.extras.setdefault("session_challenges", build_store(svc.settings.redis_url))
    kit_holder(svc)
    if "jobs" not in svc.extras:
        svc.extras["jobs"] = JobQueue(build_huey(svc.settings), app)
    svc.extras["verification_tasks"] = jobs.register(svc.extras["jobs"], svc)
    app.register_blueprint(views.bp)
    app.register_blueprint(pages.bp)
    app.cli.add_command(verification_cli)


@verification_cli.command("purge")
def purge_command():
    """Delete personal data of sessions past the retention period (also runs hourly in the worker)."""
    from flask import current_app

    from .. import db
    from ..services import EXTENSION_KEY
    from .purge import purge_expired

    svc = current_app.extensions[EXTENSION_KEY]
    with db.database.connection_context():
        click.echo(json.dumps(purge_expired(svc.clock.now(), erasers=svc.extras.get("session_erasers", ()))))


@verification_cli.command("sweep")
def sweep_command():
    """Re-run video jobs whose worker was lost (also runs every minute in the worker)."""
    from flask import current_app

    from .. import db
    from ..services import EXTENSION_KEY

    svc = current_app.extensions[EXTENSION_KEY]
    with db.database.connection_context():
        click.echo(json.dumps({"requeued": svc.verification_tasks["sweep"]()}))


@verification_cli.command("delete")
@click.argument("biz_token")
@click.option("--merchant", "merchant_id", type=int, required=True, help="the BizToken's merchant")
def delete_command(biz_token: str, merchant_id: int):
    """Delete one BizToken's personal data now (a user's request); a tombstone stays."""
    from flask import current_app

    from .. import db
    from ..errors import ServiceError
    from ..services import EXTENSION_KEY
    from .purge import delete_session

    svc = current_app.extensions[EXTENSION_KEY]
    with db.database.connection_context():
        try:
            done = delete_session(merchant_id, biz_token, svc.clock.now(), via="cli",
                                  erasers=svc.extras.get("session_erasers", ()))
        except ServiceError as exc:
            raise click.ClickException(f"{exc.result.tencent}: {exc.message}") from None
    click.echo(json.dumps({"biz_token": done.biz_token, "deleted": done.deleted}))
