"""Signed result callbacks to the merchant's server (docs/callbacks.md).

``init_app`` registers the delivery tasks on the application's job queue (``callbacks.deliver_due``,
enqueued after a verdict commits, and ``callbacks.sweep`` every minute: expiry events and due retries)
and the ``callback`` CLI group; the eraser the retention purge and deletions call is in
``Services.session_erasers``. The transport is ``safe_http.PinnedTransport`` unless
``Services.callback_transport`` is given; the DNS resolver is ``Services.callback_resolver`` (tests
replace both through ``create_app(overrides=...)``).
"""
from __future__ import annotations

import json

import click
from flask import Flask
from flask.cli import AppGroup
from huey import crontab

from ..services import Services

DELIVER_DUE = "callbacks.deliver_due"
callback_cli = AppGroup("callback", help="Result callbacks to merchants' servers.")


def transport(svc: Services):
    from .safe_http import PinnedTransport, system_resolver

    if svc.callback_transport is not None:
        return svc.callback_transport
    s = svc.settings
    return PinnedTransport(production=s.is_production, allow=s.callback_allow_networks,
                           timeout_s=s.callback_timeout_s,
                           resolver=svc.callback_resolver)


def send_due(svc: Services) -> dict[str, int]:
    """Try every due delivery once; counts of what happened."""
    from .deliveries import deliver, due

    outcomes: dict[str, int] = {}
    for delivery_id in due(svc.clock.now()):
        outcome = deliver(delivery_id, now=svc.clock.now(), transport=transport(svc), sealer=svc.sealer)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def nudge(svc: Services) -> None:
    """A session may just have ended: send its callback now rather than at the next sweep. Call after
    the verdict's transaction committed (the task may run at once, in this thread, in tests)."""
    task = svc.jobs.tasks.get(DELIVER_DUE)
    if task is not None:
        task()


def init_app(app: Flask, svc: Services) -> None:
    from . import deliveries, models  # noqa: F401  (registers the table)

    svc.jobs.task(DELIVER_DUE)(lambda: send_due(svc))
    svc.jobs.periodic("callbacks.sweep", crontab(minute="*"))(lambda: sweep(svc))
    app.cli.add_command(callback_cli)


def sweep(svc: Services) -> dict:
    """Expiry events, then every due delivery."""
    from . import deliveries

    expired = deliveries.record_expired(svc.clock.now())
    return {"expired_events": expired, **send_due(svc)}


@callback_cli.command("list")
@click.option("--merchant", "merchant_id", type=int, required=True)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
def list_command(merchant_id: int, limit: int):
    """The merchant's latest deliveries (status, attempts, latency), newest first."""
    from .. import db
    from .views import delivery_view
    from .models import CallbackDelivery

    with db.database.connection_context():
        rows = (CallbackDelivery.select().where(CallbackDelivery.merchant == merchant_id)
                .order_by(CallbackDelivery.id.desc()).limit(limit))
        click.echo(json.dumps([delivery_view(d) for d in rows], ensure_ascii=False))


@callback_cli.command("resend")
@click.argument("delivery_id", type=int)
@click.option("--merchant", "merchant_id", type=int, required=True)
def resend_command(delivery_id: int, merchant_id: int):
    """Send one delivery again now (another 24 h of retries)."""
    from flask import current_app

    from .. import db
    from ..services import EXTENSION_KEY
    from .deliveries import resend
    from .views import delivery_view

    svc = current_app.extensions[EXTENSION_KEY]
    with db.database.connection_context():
        if resend(merchant_id, delivery_id, svc.clock.now()) is None:
            raise click.ClickException(f"merchant {merchant_id} has no callback delivery {delivery_id}")
        outcomes = send_due(svc)
        from .models import CallbackDelivery
        click.echo(json.dumps({"sent": outcomes, "delivery": delivery_view(CallbackDelivery.get_by_id(delivery_id))},
                              ensure_ascii=False))


@callback_cli.command("sweep")
def sweep_command():
    """Expiry events and due retries now (also runs every minute in the worker)."""
    from flask import current_app

    from .. import db
    from ..services import EXTENSION_KEY

    svc = current_app.extensions[EXTENSION_KEY]
    with db.database.connection_context():
        click.echo(json.dumps(sweep(svc)))
