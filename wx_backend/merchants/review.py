"""Review by an operator: the queue, approve / reject, the WeChat-side state, the QPS limit.

State machine (Merchant.status): pending -> approved | rejected (final). On approval, when native H5 or
the mini-program were granted, the WeChat-side review (Merchant.wechat_review) becomes pending; an
operator then records WeChat's answer (approved / rejected; a later change, e.g. WeChat revoking,
can be recorded too). Every change notifies the merchant (notices).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .. import db
from ..errors import BadRequest, NotFound, Refused
from . import notices, provisioning
from .deps import OnboardingDeps
from .models import APPROVED, NATIVE_CHANNELS, PENDING, REJECTED, WX_NONE, Merchant
from .workdays import is_overdue

MAX_REASON = 300
MIN_QPS, MAX_QPS = 1, 10_000


@dataclass(frozen=True)
class Approval:
    merchant_id: int
    secret_id: str
    secret_key: str | None          # None when it is left for the merchant to reveal in the console
    rule_id: str                    # the default RuleId
    rule_ids: tuple[str, ...]       # every rule created, default first
    wechat_review: str


@dataclass(frozen=True)
class QueueItem:
    merchant: Merchant
    overdue: bool


def get_merchant(merchant_id: int) -> Merchant:
    merchant = Merchant.get_or_none(Merchant.id == merchant_id)
    if merchant is None:
        raise NotFound("ResourceNotFound.Merchant", f"商户 {merchant_id} 不存在")
    return merchant


def queue(now: dt.datetime, *, include_decided: bool = False) -> list[QueueItem]:
    """Pending applications, most urgent (earliest deadline) first; overdue ones flagged."""
    query = Merchant.select()
    if not include_decided:
        query = query.where(Merchant.status == PENDING)
    query = query.order_by(Merchant.review_deadline, Merchant.submitted_at, Merchant.id)
    return [QueueItem(m, m.status == PENDING and is_overdue(m.review_deadline, now)) for m in query]


def _reason(reason: str, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise BadRequest("InvalidParameterValue", "请填写驳回原因")
    if len(text) > MAX_REASON:
        raise BadRequest("InvalidParameterValue", f"原因不超过{MAX_REASON}个字符")
    return text


def _locked_pending(merchant_id: int) -> Merchant:
    merchant = get_merchant(merchant_id)
    if merchant.status != PENDING:
        raise Refused("FailedOperation.ReviewStateInvalid", f"该申请已处理（{merchant.status}）")
    return merchant


def _claim(merchant: Merchant, **changes) -> None:
    """Move a pending application on; the WHERE on status makes a concurrent second decision lose."""
    updated = (Merchant.update(**changes)
               .where((Merchant.id == merchant.id) & (Merchant.status == PENDING)).execute())
    if updated != 1:
        raise Refused("FailedOperation.ReviewStateInvalid", "该申请已被其他审核员处理")
    for key, value in changes.items():
        setattr(merchant, key, value)


def approve(deps: OnboardingDeps, merchant_id: int, *, reviewer: str, reason: str = "",
            reveal_key: bool = True, secret_pair: provisioning.IssuedCredential | None = None) -> Approval:
    """Approve a pending application and provision it (credentials, rules, trial packs).

    ``reveal_key``: return the SecretKey now and mark it shown (CLI, other services); the console passes
    False so that the merchant, not the reviewer, sees it once in the merchant console.
    ``secret_pair``: fixed credentials (the development demo only)."""
    now = deps.now_naive()
    with db.write_atomic():
        merchant = _locked_pending(merchant_id)
        native = any(c in NATIVE_CHANNELS for c in merchant.channels_granted)
        _claim(merchant, status=APPROVED, reviewed_at=now, reviewer=reviewer,
               review_reason=_reason(reason, required=False),
               wechat_review=PENDING if native else WX_NONE)
        pair = provisioning.issue_credential(merchant, deps.sealer, now, pair=secret_pair,
                                             revealed=reveal_key)
        rules = provisioning.create_rules(merchant, now)
        provisioning.create_trial_packs(merchant, now)
        wechat = "微信原生H5/小程序渠道还需通过微信侧审核，结果将另行通知。" if native else ""
        notice = notices.record(merchant, "approved", now, wechat=wechat)
    notices.deliver(deps, [notice])
    return Approval(merchant.id, pair.secret_id, pair.secret_key if reveal_key else None,
                    rules[0].rule_id, tuple(r.rule_id for r in rules), merchant.wechat_review)


def reject(deps: OnboardingDeps, merchant_id: int, *, reviewer: str, reason: str) -> Merchant:
    now = deps.now_naive()
    text = _reason(reason, required=True)
    with db.write_atomic():
        merchant = _locked_pending(merchant_id)
        _claim(merchant, status=REJECTED, reviewed_at=now, reviewer=reviewer, review_reason=text)
        notice = notices.record(merchant, "rejected", now, reason=text)
    notices.deliver(deps, [notice])
    return merchant


def set_wechat_review(deps: OnboardingDeps, merchant_id: int, *, approved: bool,
                      reason: str = "") -> Merchant:
    """Record WeChat's answer for native H5 / mini-program (approved merchants with native channels)."""
    now = deps.now_naive()
    target = APPROVED if approved else REJECTED
    text = _reason(reason, required=False)
    with db.write_atomic():
        merchant = get_merchant(merchant_id)
        if merchant.status != APPROVED or merchant.wechat_review == WX_NONE:
            raise Refused("FailedOperation.ReviewStateInvalid",
                          "仅已通过审核且获准原生H5/小程序渠道的商户需要微信侧审核")
        if merchant.wechat_review == target:
            raise Refused("FailedOperation.ReviewStateInvalid", f"微信侧审核已是 {target}")
        updated = (Merchant.update(wechat_review=target)
                   .where((Merchant.id == merchant.id)
                          & (Merchant.wechat_review == merchant.wechat_review)).execute())
        if updated != 1:
            raise Refused("FailedOperation.ReviewStateInvalid", "微信侧审核状态已被其他操作更改")
        merchant.wechat_review = target
        event = "wechat_approved" if approved else "wechat_rejected"
        notice = notices.record(merchant, event, now, reason=f"原因：{text}" if text else "")
    notices.deliver(deps, [notice])
    return merchant


def set_qps(deps: OnboardingDeps, merchant_id: int, qps: int) -> Merchant:
    if not isinstance(qps, int) or not MIN_QPS <= qps <= MAX_QPS:
        raise BadRequest("InvalidParameterValue", f"QPS 上限应为 {MIN_QPS}-{MAX_QPS} 的整数")
    now = deps.now_naive()
    with db.write_atomic():
        merchant = get_merchant(merchant_id)
        old = merchant.qps_limit
        if old == qps:
            raise Refused("FailedOperation.ReviewStateInvalid", f"QPS 上限已是 {qps}")
        Merchant.update(qps_limit=qps).where(Merchant.id == merchant.id).execute()
        merchant.qps_limit = qps
        notice = notices.record(merchant, "qps_changed", now, old=old, new=qps)
    notices.deliver(deps, [notice])
    return merchant
