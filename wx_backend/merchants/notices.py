"""Notifications at every state change: one in-site message and one SMS.

The in-site message is written inside the state change's transaction (they commit or vanish
together). The SMS goes out after the commit (``deliver``) so that a rolled-back change never texts
anyone; a gateway failure is logged and does not undo the change, which the in-site message still
reports. A landline contact number cannot receive texts, so such merchants get the in-site message only.

Anyone can apply with any phone number, so an SMS carries only our words, the application number and
what our reviewers wrote (never the company name or other text the applicant typed: the form must not
be a way to send a stranger a text of one's choosing), and one number receives at most
SMS_PER_PHONE_PER_DAY texts a day (the rest are logged and left to the in-site message).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from .models import InSiteMessage, Merchant
from .sms import MOBILE_RE, SmsError

log = logging.getLogger(__name__)

SMS_SIGNATURE = "【人脸核身】"
SMS_PER_PHONE_PER_DAY = 10
_DAY_MS = 86_400_000

# event -> (title, body template). ``{applicant}`` is the company name in the in-site message and the
# application number in the SMS.
EVENTS: dict[str, tuple[str, str]] = {
    "submitted": ("申请已提交", "您的人脸核身服务申请（{applicant}）已提交，我们将在 {deadline} 前完成审核。{refused}"),
    "approved": ("申请已通过", "您的人脸核身服务申请（{applicant}）已通过审核。请登录商户控制台查看 SecretId 和"
                          "规则（RuleId）；SecretKey 仅可查看一次。{wechat}"),
    "rejected": ("申请未通过", "您的人脸核身服务申请（{applicant}）未通过审核，原因：{reason}"),
    "wechat_approved": ("微信侧审核已通过", "您的微信原生H5/小程序渠道已通过微信侧审核，现在可以使用。"),
    "wechat_rejected": ("微信侧审核未通过", "您的微信原生H5/小程序渠道未通过微信侧审核，"
                                     "您仍可使用普通H5。{reason}"),
    "qps_changed": ("QPS 上限已调整", "您的接口调用频率上限已由 {old} 次/秒调整为 {new} 次/秒。"),
}


def application_number(merchant_id: int) -> str:
    """The number an applicant quotes to us (and the one word of theirs an SMS names: none)."""
    return f"编号 {merchant_id:08d}"


@dataclass(frozen=True)
class Notice:
    merchant_id: int
    phone: str
    event: str
    title: str
    body: str                 # the in-site message
    sms_body: str             # the SMS: our words and the application number only


def record(merchant: Merchant, event: str, now, **fields) -> Notice:
    """Write the in-site message (call inside the transaction) and return the notice to deliver."""
    title, template = EVENTS[event]
    body = template.format(applicant=merchant.name, **fields)
    InSiteMessage.create(merchant=merchant, title=title, body=body, created_at=now)
    sms_body = template.format(applicant=application_number(merchant.id), **fields)
    return Notice(merchant.id, merchant.phone, event, title, body, sms_body)


def deliver(deps, notices: list[Notice]) -> list[Notice]:
    """Send the SMS of each notice (after commit) through ``deps.sms``, at most SMS_PER_PHONE_PER_DAY
    to one number (``deps.limiter``); returns those that were not sent."""
    missed = []
    now_ms = int(deps.now().timestamp() * 1000)
    for notice in notices:
        if not MOBILE_RE.match(notice.phone):
            log.info("merchant %s: contact number cannot receive SMS; in-site message only",
                     notice.merchant_id)
            missed.append(notice)
            continue
        key = f"sms:phone:{deps.sealer.digest(notice.phone, 'sms-phone')[:40]}"
        if not deps.limiter.hit(key, SMS_PER_PHONE_PER_DAY, now_ms, _DAY_MS):
            log.warning("merchant %s: SMS for %s not sent: the number's daily cap (%d) is reached",
                        notice.merchant_id, notice.event, SMS_PER_PHONE_PER_DAY)
            missed.append(notice)
            continue
        try:
            deps.sms.send(notice.phone, f"{SMS_SIGNATURE}{notice.title}：{notice.sms_body}")
        except SmsError as exc:
            log.warning("merchant %s: SMS for %s not sent: %s", notice.merchant_id, notice.event, exc)
            missed.append(notice)
    return missed
