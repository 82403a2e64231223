"""Operator CLI: ``flask --app app merchant|reviewer|demo ...``; JSON on stdout, exit 1 with a message on
bad input (click's UsageError exits 2 for malformed command lines)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from werkzeug.security import generate_password_hash

from .. import db
from ..errors import ServiceError
from ..services import services
from . import application, provisioning, review
from .deps import OnboardingDeps
from .models import ApiCredential, Merchant, Reviewer, Rule

merchant_cli = AppGroup("merchant", help="Merchant applications and review.")
reviewer_cli = AppGroup("reviewer", help="Reviewer (operator) console accounts.")
demo_cli = AppGroup("demo", help="Development demo data.")


def _out(payload: dict | list) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, default=str))


def _fail(message: str, extra: dict | None = None) -> None:
    click.echo(json.dumps({"error": message, **(extra or {})}, ensure_ascii=False), err=True)
    sys.exit(1)


def _deps() -> OnboardingDeps:
    db.database.connect(reuse_if_open=True)
    return OnboardingDeps.from_services(services())


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def merchant_view(m: Merchant) -> dict:
    return {"id": m.id, "name": m.name, "uscc": m.uscc, "industry": m.industry_key,
            "status": m.status, "review_deadline": m.review_deadline.isoformat(),
            "channels_requested": list(m.channels_requested),
            "channels_granted": list(m.channels_granted),
            "refused_channels": list(m.refused_channels), "wechat_review": m.wechat_review,
            "qps_limit": m.qps_limit, "review_reason": m.review_reason,
            "secret_ids": [c.secret_id for c in ApiCredential.select().where(
                (ApiCredential.merchant == m) & ApiCredential.active)],
            "rules": [{"rule_id": r.rule_id, "channel": r.channel, "liveness_mode": r.liveness_mode,
                       "default": r.is_default, "active": r.active}
                      for r in Rule.select().where(Rule.merchant == m).order_by(Rule.id)]}


@merchant_cli.command("apply")
@click.option("--name", required=True)
@click.option("--uscc", required=True)
@click.option("--industry", required=True, help='whitelist key like finance.bank, or "other"')
@click.option("--channels", required=True, help="comma-separated: native_h5,miniprogram,h5,api")
@click.option("--licence", "licence_path", required=True, type=click.Path(dir_okay=False))
@click.option("--phone", required=True)
@click.option("--description", default="")
@click.option("--user", "username", default="", help="console login (with --password-stdin)")
@click.option("--password-stdin", is_flag=True, help="read the console password from stdin")
def apply_cmd(name, uscc, industry, channels, licence_path, phone, description, username,
              password_stdin):
    """Submit an application."""
    password = _read_password() if password_stdin else ""
    if password_stdin and not username:
        username = uscc.strip().upper()
    try:
        data = Path(licence_path).read_bytes()
    except OSError as exc:
        _fail(f"cannot read licence file: {exc.strerror}")
    form = application.ApplicationForm(
        name=name, uscc=uscc, industry_key=industry, phone=phone,
        channels=application.parse_channels(channels), licence=data, description=description,
        username=username, password=password)
    try:
        m = application.submit(_deps(), form)
    except application.ApplicationInvalid as exc:
        _fail(exc.message, {"code": exc.result.tencent, "fields": exc.errors})
    _out({**merchant_view(m), "console_user": username or None})


@merchant_cli.command("review")
@click.argument("merchant_id", type=int)
@click.option("--approve/--reject", "approved", default=None)
@click.option("--reason", default="")
@click.option("--reviewer", "reviewer_name", default="cli")
def review_cmd(merchant_id, approved, reason, reviewer_name):
    """Approve or reject a pending application (approval prints the SecretKey once)."""
    if approved is None:
        _fail("give --approve or --reject")
    deps = _deps()
    try:
        if approved:
            a = review.approve(deps, merchant_id, reviewer=reviewer_name, reason=reason)
            _out({"id": a.merchant_id, "status": "approved", "secret_id": a.secret_id,
                  "secret_key": a.secret_key, "rule_id": a.rule_id, "rule_ids": list(a.rule_ids),
                  "wechat_review": a.wechat_review})
        else:
            m = review.reject(deps, merchant_id, reviewer=reviewer_name, reason=reason)
            _out({"id": m.id, "status": m.status, "reason": m.review_reason})
    except ServiceError as exc:
        _fail(exc.message, {"code": exc.result.tencent})


@merchant_cli.command("wechat-review")
@click.argument("merchant_id", type=int)
@click.option("--approve/--reject", "approved", default=None)
@click.option("--reason", default="")
def wechat_review_cmd(merchant_id, approved, reason):
    """Record WeChat's review of native H5 / mini-program."""
    if approved is None:
        _fail("give --approve or --reject")
    try:
        m = review.set_wechat_review(_deps(), merchant_id, approved=approved, reason=reason)
    except ServiceError as exc:
        _fail(exc.message, {"code": exc.result.tencent})
    _out({"id": m.id, "wechat_review": m.wechat_review})


@merchant_cli.command("show")
@click.argument("merchant_id", type=int)
def show_cmd(merchant_id):
    _deps()
    try:
        _out(merchant_view(review.get_merchant(merchant_id)))
    except ServiceError as exc:
        _fail(exc.message, {"code": exc.result.tencent})


@merchant_cli.command("list")
@click.option("--pending", is_flag=True, help="only the review queue")
def list_cmd(pending):
    deps = _deps()
    items = review.queue(deps.now(), include_decided=not pending)
    _out([{"id": i.merchant.id, "name": i.merchant.name, "status": i.merchant.status,
           "review_deadline": i.merchant.review_deadline.isoformat(), "overdue": i.overdue,
           "wechat_review": i.merchant.wechat_review} for i in items])


@merchant_cli.command("set-qps")
@click.argument("merchant_id", type=int)
@click.argument("qps", type=int)
def set_qps_cmd(merchant_id, qps):
    try:
        m = review.set_qps(_deps(), merchant_id, qps)
    except ServiceError as exc:
        _fail(exc.message, {"code": exc.result.tencent})
    _out({"id": m.id, "qps_limit": m.qps_limit})


@merchant_cli.command("key-add")
@click.argument("merchant_id", type=int)
def key_add_cmd(merchant_id):
    """Key rotation, step 1: a further API key (prints its SecretKey once)."""
    deps = _deps()
    try:
        m = review.get_merchant(merchant_id)
        with db.database.atomic():
            pair = provisioning.add_credential(m, deps.sealer, deps.now_naive())
    except ServiceError as exc:
        _fail(exc.message, {"code": exc.result.tencent})
    except provisioning.KeyRotationRefused as exc:
        _fail(str(exc))
    _out({"id": merchant_id, "secret_id": pair.secret_id, "secret_key": pair.secret_key})


@merchant_cli.command("key-disable")
@click.argument("merchant_id", type=int)
@click.argument("secret_id")
def key_disable_cmd(merchant_id, secret_id):
    """Key rotation, step 2: stop accepting an API key (never the merchant's last one)."""
    deps = _deps()
    try:
        with db.database.atomic():
            provisioning.disable_credential(merchant_id, secret_id, deps.now_naive())
    except provisioning.KeyRotationRefused as exc:
        _fail(str(exc))
    _out({"id": merchant_id, "disabled": secret_id,
          "secret_ids": [c.secret_id for c in provisioning.active_credentials(merchant_id)]})


@reviewer_cli.command("create")
@click.option("--user", "username", required=True)
@click.option("--password-stdin", is_flag=True, required=True)
def reviewer_create(username, password_stdin):
    password = _read_password()
    if not application.USERNAME_RE.match(username):
        _fail("username: 3-64 letters, digits or _ . @ -")
    if len(password) < application.MIN_PASSWORD:
        _fail(f"password: at least {application.MIN_PASSWORD} characters")
    _deps()
    if Reviewer.select().where(Reviewer.username == username).exists():
        _fail(f"reviewer {username!r} exists")
    r = Reviewer.create(username=username, password_hash=generate_password_hash(password))
    _out({"id": r.id, "username": r.username})


@demo_cli.command("seed")
def demo_seed():
    """Create (once) the demo merchant and reviewer; print their logins and credentials."""
    from .seed import DemoRefused, seed_demo
    try:
        _out(seed_demo(_deps()))
    except DemoRefused as exc:
        _fail(str(exc))


def register_cli(app: Flask) -> None:
    from .cli_rules import rule_cli

    app.cli.add_command(rule_cli)
    app.cli.add_command(merchant_cli)
    app.cli.add_command(reviewer_cli)
    app.cli.add_command(demo_cli)
