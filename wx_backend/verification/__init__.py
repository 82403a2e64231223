"""Verification sessions (DetectAuth -> BizToken -> capture -> GetDetectInfoEnhanced) on three
channels: WeChat native H5 and mini-program (live frames, verdict now) and ordinary H5 (recorded
video, verdict in the background). See docs/sessions.md.

The steps are the pipeline's (wx_backend/pipeline), sequenced by ``flow``; the collaborators are
``Services`` fields (challenges, engine, liveness, jobs, session_erasers). The video tasks are
registered on the application's JobQueue here. CLI: ``flask --app app verification purge|sweep|delete``.
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

    jobs.register(svc.jobs, svc)
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
        click.echo(json.dumps(purge_expired(svc.clock.now(), svc.challenges, erasers=svc.session_erasers)))


@verification_cli.command("sweep")
def sweep_command():
    """Re-run video jobs whose worker was lost (also runs every minute in the worker)."""
    from flask import current_app

    from .. import db
    from ..services import EXTENSION_KEY
    from .jobs import sweep

    svc = current_app.extensions[EXTENSION_KEY]
    with db.database.connection_context():
        click.echo(json.dumps({"requeued": sweep(svc)}))


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
                                  erasers=svc.session_erasers)
        except ServiceError as exc:
            raise click.ClickException(f"{exc.result.tencent}: {exc.message}") from None
    click.echo(json.dumps({"biz_token": done.biz_token, "deleted": done.deleted}))
