"""Operator CLI for rules: ``flask --app app rule create|edit|disable|enable|list|show``.

JSON on stdout; exit 1 with a JSON error on stderr when the rule is refused (the same checks as the
merchant console: channel rights, the channel's modes, origins, the callback URL's SSRF check).
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from .. import db
from ..errors import ServiceError
from ..services import services
from . import review, rules
from .cli import _deps, _fail, _out
from .models import Rule

rule_cli = AppGroup("rule", help="Merchants' rules (RuleIds): channel, liveness mode, compare source, "
                                 "redirect allow-list, result callback.")


def _ctx() -> rules.RuleContext:
    return rules.RuleContext.from_services(services())


def _spec_options(fn):
    for option in reversed([
        click.option("--channel", help="h5, native_h5 or miniprogram"),
        click.option("--mode", "liveness_mode", help="light, lip, action or silent (as the channel allows)"),
        click.option("--compare-source", type=click.Choice(["either", "authority", "photo"])),
        click.option("--redirect-allow", help="allowed RedirectUrl origins, comma-separated "
                                              "(https://m.example.com,https://*.example.com); '' = any"),
        click.option("--callback-url", help="https URL the result is posted to; '' = none"),
        click.option("--name"),
    ]):
        fn = option(fn)
    return fn


def _show(rule: Rule, with_key: bool = False) -> dict:
    out = rules.view(rule)
    if with_key:
        out["callback_key"] = rules.callback_key(rule, services().sealer)
    return out


def _rule(rule_id: str) -> Rule:
    rule = Rule.get_or_none(Rule.rule_id == rule_id)
    if rule is None:
        _fail(f"no rule {rule_id}")
    return rule


@rule_cli.command("create")
@click.option("--merchant", "merchant_id", type=int, required=True)
@_spec_options
def create_cmd(merchant_id, **options):
    """Create a rule; prints it with its callback key (when a callback URL was given)."""
    deps = _deps()
    if not options["channel"] or not options["liveness_mode"]:
        _fail("give --channel and --mode")
    spec = rules.RuleSpec.parse(**{k: v for k, v in options.items() if v is not None})
    try:
        rule = rules.create(review.get_merchant(merchant_id), spec, _ctx(), deps.now_naive())
    except ServiceError as exc:
        _fail(exc.message, {"code": exc.result.tencent})
    _out(_show(rule, with_key=True))


@rule_cli.command("edit")
@click.argument("rule_id")
@_spec_options
def edit_cmd(rule_id, **options):
    """Change a rule's fields (those not given stay); future sessions only."""
    deps = _deps()
    rule = _rule(rule_id)
    current = rules.view(rule)
    merged = {k: (v if v is not None else current[k]) for k, v in options.items()}
    try:
        rule = rules.edit(rule, rules.RuleSpec.parse(**merged), _ctx(), deps.now_naive())
    except ServiceError as exc:
        _fail(exc.message, {"code": exc.result.tencent})
    _out(_show(rule))


def _set_active(rule_id: str, active: bool) -> None:
    deps = _deps()
    try:
        with db.database.atomic():
            rule = rules.set_active(_rule(rule_id), active, deps.now_naive())
    except ServiceError as exc:
        _fail(exc.message, {"code": exc.result.tencent})
    _out(_show(rule))


@rule_cli.command("disable")
@click.argument("rule_id")
def disable_cmd(rule_id):
    """Stop new sessions on a rule (running ones finish)."""
    _set_active(rule_id, False)


@rule_cli.command("enable")
@click.argument("rule_id")
def enable_cmd(rule_id):
    _set_active(rule_id, True)


@rule_cli.command("list")
@click.option("--merchant", "merchant_id", type=int, required=True)
def list_cmd(merchant_id):
    _deps()
    _out([rules.view(r) for r in Rule.select().where(Rule.merchant == merchant_id).order_by(Rule.id)])


@rule_cli.command("show")
@click.argument("rule_id")
@click.option("--key", "with_key", is_flag=True, help="also print the callback HMAC key")
def show_cmd(rule_id, with_key):
    _deps()
    _out(_show(_rule(rule_id), with_key))
