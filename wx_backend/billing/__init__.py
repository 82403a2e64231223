"""Per-call billing: the tables (usage records, charges, reservations), the usage summary and the CLI.

Charging itself is the pipeline's last step, ``wx_backend.pipeline.charge`` (one ``charge(key)`` for
the Cloud API and the sessions); ``usage.usage_summary`` serves the CLI ``billing usage`` and the
merchant console, ``chart`` its SVG and CSV.
"""
from __future__ import annotations

import datetime as dt
import json

import click
from flask import Flask
from flask.cli import AppGroup

from ..services import Services

billing_cli = AppGroup("billing", help="Usage and charges.")


@billing_cli.command("usage")
@click.option("--merchant", "merchant_id", required=True, type=int, help="Merchant id.")
@click.option("--since", default=None, help="YYYY-MM-DD or ISO datetime (UTC); default: all time.")
@click.option("--days", default=None, type=click.IntRange(1, 366),
              help="Add the daily breakdown of the last N Beijing days (the console's chart shows 30).")
def usage_command(merchant_id: int, since: str | None, days: int | None):
    """Per-action totals, charged calls and remaining packs, as JSON."""
    from flask import current_app

    from .. import db
    from ..services import EXTENSION_KEY
    from ..merchants.models import Merchant
    from .usage import usage_summary

    start = None
    if since:
        try:
            start = dt.datetime.fromisoformat(since)
        except ValueError:
            raise click.ClickException(f"--since {since!r} is not YYYY-MM-DD or an ISO datetime") from None
    with db.database.connection_context():
        if not Merchant.select().where(Merchant.id == merchant_id).exists():
            raise click.ClickException(f"no merchant with id {merchant_id}")
        now = current_app.extensions[EXTENSION_KEY].clock.now()
        click.echo(json.dumps(usage_summary(merchant_id, start, days=days, now=now), ensure_ascii=False,
                              indent=2))


@billing_cli.command("release-stale")
@click.option("--older-than-minutes", default=10, show_default=True, type=int)
def release_stale_command(older_than_minutes: int):
    """Give back quota held by reservations that were never settled (a worker died mid-call)."""
    from flask import current_app

    from .. import db
    from ..services import EXTENSION_KEY
    from ..pipeline.charge import release_stale

    now = current_app.extensions[EXTENSION_KEY].clock.now()
    with db.database.connection_context():
        released = release_stale(now - dt.timedelta(minutes=older_than_minutes))
    click.echo(json.dumps({"released": released}))


def init_app(app: Flask, svc: Services) -> None:
    from . import models  # noqa: F401  (registers the tables)
    app.cli.add_command(billing_cli)
