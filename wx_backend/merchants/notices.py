"""Notifications at every state change: one in-site message and one SMS.

The in-site message is written inside the state change's transaction (they commit or vanish
together). The SMS goes out after the commit (``deliver``) so that a rolled-back change never texts
anyone; a gateway failure is logged and does not undo the change, which the in-site message still
reports. A landline contact number cannot receive texts, so such merchants get the in-site message only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from .models import InSiteMessage, Merchant
from .sms import MOBILE_RE, SmsError, SmsGateway

log = logging.getLogger(__name__)

SMS_SIGNATURE = "【人脸核身】"

# event -> (title, body template)
EVENTS: dict[str, tuple[str, str]] = {
    "submitted": ("申请已提交", "您的人脸核身服务申请（{name}）已提交，我们将在 {deadline} 前完成审核。{refused}"),
    "approved": ("申请已通过", "您的人脸核身服务申请（{name}）已通过审核。请登录商户控制台查看 SecretId 和"
                          "规则（RuleId）；SecretKey 仅可查看一次。{wechat}"),
    "rejected": ("申请未通过", "您的人脸核身服务申请（{name}）未通过审核，原因：{reason}"),
    "wechat_approved": ("微信侧审核已通过", "您的微信原生H5/小程序渠道已通过微信侧审核，现在可以使用。"),
    "wechat_rejected": ("微信侧审核未通过", "您的微信原生H5/小程序渠道未通过微信侧审核，"
                                     "您仍可使用普通H5。{reason}"),
    "qps_changed": ("QPS 上限已调整", "您的接口调用频率上限已由 {old} 次/秒调整为 {new} 次/秒。"),
}


@dataclass(frozen=True)
class Notice:
    merchant_id: int
    phone: str
    event: str
    title: str
    body: str


def record(merchant: Merchant, event: str, now, **fields) -> Notice:
    """Write the in-site message (call inside the transaction) and return the notice to deliver."""
    title, template = EVENTS[event]
    body = template.format(name=merchant.name, **fields)
    InSiteMessage.create(merchant=merchant, title=title, body=body, created_at=now)
    return Notice(merchant.id, merchant.phone, event, title, body)


def deliver(sms: SmsGateway, notices: list[Notice]) -> list[Notice]:
    """Send the SMS of each notice (after commit); returns those that were not sent."""
    missed = []
    for notice in notices:
        if not MOBILE_RE.match(notice.phone):
            log.info("merchant %s: contact number cannot receive SMS; in-site message only",
                     notice.merchant_id)
            missed.append(notice)
            continue
        try:
            sms.send(notice.phone, f"{SMS_SIGNATURE}{notice.title}：{notice.body}")
        except SmsError as exc:
            log.warning("merchant %s: SMS for %s not sent: %s", notice.merchant_id, notice.event, exc)
            missed.append(notice)
    return missed
