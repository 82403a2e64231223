"""The merchant console's verification records: the latest sessions (no personal data shown) and the
deletion of one BizToken's data now, by the row's button or by pasting the token."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from ..errors import ServiceError
from ..services import services
from ..verification.models import VerificationSession
from ..verification.purge import delete_session
from .console_merchant import bp, merchant_required, own_latest
from .models import MerchantUser

PAGE = 50
STATE_NAMES = {"open": "进行中", "finished": "已通过", "exhausted": "未通过", "purged": "已删除"}


@bp.get("/sessions")
@merchant_required
def sessions_list(user: MerchantUser):
    return render_template("merchants/sessions.html", m=user.merchant,
                           rows=own_latest(VerificationSession, user, PAGE), state_names=STATE_NAMES)


@bp.post("/sessions/delete")
@merchant_required
def session_delete(user: MerchantUser):
    svc = services()
    token = (request.form.get("biz_token") or "").strip()
    try:
        done = delete_session(user.merchant_id, token, svc.clock.now(), via="console",
                              erasers=svc.session_erasers)
    except ServiceError as exc:
        if exc.result.tencent.endswith("BizTokenIllegal"):
            abort(404)
        raise
    flash(f"BizToken {token[:10]}… 的核身数据已删除" if done.deleted else f"BizToken {token[:10]}… 的数据此前已删除")
    return redirect(url_for(".sessions_list"))
