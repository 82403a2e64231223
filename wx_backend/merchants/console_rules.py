"""The merchant console's rules: create, edit, disable / enable, and each rule's callback key.

Views parse the form, call ``rules`` (which checks channel rights, modes, origins and the callback URL),
and show the problem on the form when there is one (nothing is saved then).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from ..errors import NotFound, ServiceError
from ..services import services
from . import rules
from .console_merchant import bp, merchant_required
from .deps import OnboardingDeps
from .models import COMPARE_SOURCES, MODES_BY_CHANNEL, MerchantUser


def _ctx() -> rules.RuleContext:
    return rules.RuleContext.from_services(services())


def _now():
    return OnboardingDeps.from_services(services()).now_naive()


def _own(user: MerchantUser, rule_id: str):
    """The signed-in merchant's rule; 404 for anyone else's."""
    try:
        return rules.get_own(user.merchant_id, rule_id)
    except NotFound:
        abort(404)


def _spec() -> rules.RuleSpec:
    f = request.form
    return rules.RuleSpec.parse(channel=f.get("channel", ""), liveness_mode=f.get("liveness_mode", ""),
                                compare_source=f.get("compare_source", "either"),
                                redirect_allow=f.get("redirect_allow", ""),
                                callback_url=f.get("callback_url", ""), name=f.get("name", ""))


def _form(user: MerchantUser, rule=None, error: str = "", status: int = 200):
    merchant = user.merchant
    values = request.form if request.method == "POST" else None
    return render_template(
        "merchants/rule_form.html", m=merchant, rule=rule, values=values, error=error,
        channels=rules.allowed_channels(merchant), modes=MODES_BY_CHANNEL,
        channel_names=rules.CHANNEL_NAMES, mode_names=rules.MODE_NAMES,
        compare_sources=COMPARE_SOURCES, compare_names=rules.COMPARE_NAMES,
        callback_key=rules.callback_key(rule, services().sealer) if rule is not None else None,
    ), status


@bp.route("/rules/new", methods=["GET", "POST"])
@merchant_required
def rule_new(user: MerchantUser):
    if request.method == "POST":
        try:
            rule = rules.create(user.merchant, _spec(), _ctx(), _now())
        except ServiceError as exc:
            return _form(user, error=exc.message, status=exc.result.http_status)
        flash(f"已创建规则 {rule.rule_id}")
        return redirect(url_for(".rule_edit", rule_id=rule.rule_id))
    return _form(user)


@bp.route("/rules/<rule_id>", methods=["GET", "POST"])
@merchant_required
def rule_edit(user: MerchantUser, rule_id: str):
    rule = _own(user, rule_id)
    if request.method == "POST":
        try:
            rule = rules.edit(rule, _spec(), _ctx(), _now())
        except ServiceError as exc:
            return _form(user, rule, error=exc.message, status=exc.result.http_status)
        flash(f"规则 {rule.rule_id} 已保存（对之后发起的核身生效）")
        return redirect(url_for(".rule_edit", rule_id=rule.rule_id))
    return _form(user, rule)


@bp.post("/rules/<rule_id>/active")
@merchant_required
def rule_active(user: MerchantUser, rule_id: str):
    active = request.form.get("active") == "1"
    rule = _own(user, rule_id)
    try:
        rule = rules.set_active(rule, active, _now())
    except ServiceError as exc:
        flash(exc.message)
    else:
        flash(f"规则 {rule.rule_id} 已{'启用' if rule.active else '停用'}")
    return redirect(url_for(".dashboard"))


@bp.post("/rules/<rule_id>/callback-key")
@merchant_required
def rule_callback_key(user: MerchantUser, rule_id: str):
    rules.rotate_callback_key(_own(user, rule_id), services().sealer, _now())
    flash("回调签名密钥已更换：请同步更新验签代码")
    return redirect(url_for(".rule_edit", rule_id=rule_id))
