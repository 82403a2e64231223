"""The H5 pages a user reaches from the merchant's link: /h5/biz/<BizToken>.

Only inside the WeChat browser (User-Agent ``MicroMessenger``); elsewhere a page explains that and
stops. The visitor signs in with official-account OAuth (snsapi_base) first, which binds the
session to their openid; then the page asks for consent and runs the capture for the channel:
native H5 (live frames under a flashing screen or a spoken code) or ordinary H5 (recorded video).
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, redirect, render_template, request

from ..errors import ServiceError
from ..services import services
from . import sessions, status
from .views import current_user

bp = Blueprint("verification_pages", __name__, template_folder="templates")
# A session that can take no more attempts: its page says how it ended.
ENDED = ("FailedOperation.BizTokenFinished", "FailedOperation.RetryLimitExceeded",
         "InvalidParameterValue.BizTokenExpired")


def in_wechat(user_agent: str) -> bool:
    return "micromessenger" in (user_agent or "").lower()


def _page(template: str, status_code: int = 200, **context):
    response = render_template(f"verification/{template}", **context)
    return response, status_code, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.get("/h5/biz/<biz_token>")
def session_page(biz_token: str):
    if not in_wechat(request.headers.get("User-Agent", "")):
        return _page("not_in_wechat.html", 403)
    svc = services()
    try:
        session = sessions.find_session(biz_token)
        if session.channel == "miniprogram":
            return _page("message.html", 400, title="请在小程序中完成核身",
                         message="该核身流程需在小程序内完成，请返回商户页面重新进入。")
        user = current_user(session.channel)
        if user is None:
            return redirect(f"/h5/oauth/start?scope=base&next={quote(f'/h5/biz/{biz_token}')}")
        sessions.bind_user(session, user, svc.sealer)
        sessions.check_usable(session, svc.clock)
    except ServiceError as exc:
        if exc.result.tencent in ENDED:
            return _ended(sessions.find_session(biz_token), exc.result.http_status)
        return _page("message.html", exc.result.http_status, title="无法继续核身", message=exc.message)
    template = "native.html" if session.channel == "native_h5" else "record.html"
    return _page(template, biz_token=biz_token, mode=session.liveness_mode,
                 consent_version=sessions.CONSENT_VERSION, consented=session.consent_at is not None)


def _ended(session, status_code: int):
    """Passed, not passed (the last attempt's reason) or expired, with the way back to the merchant."""
    described = status.describe(session, services().clock)
    last = described["last_attempt"] or {}
    if described["state"] == "finished":
        title, message, hint = "核身通过", "您已完成本次身份核验。", ""
    elif described["state"] == "exhausted":
        title, message, hint = "核身未通过", last.get("message", ""), last.get("hint", "")
    else:
        title, message, hint = "核身已过期", "核身链接已过期，请返回商户页面重新发起。", ""
    return _page("message.html", status_code, title=title, message=message, hint=hint,
                 state=described["state"], redirect=described["redirect"])
