"""The merchant console's callback log: each delivery's state, tries, HTTP status, latency and error,
and a re-send button (docs/callbacks.md)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from .. import callbacks
from ..callbacks import deliveries
from ..callbacks.models import CallbackDelivery
from ..callbacks.views import STATE_NAMES
from ..services import services
from .console_merchant import bp, merchant_required, own_latest
from .models import MerchantUser

PAGE = 100


@bp.get("/callbacks")
@merchant_required
def callbacks_log(user: MerchantUser):
    return render_template("merchants/callbacks.html", m=user.merchant, rows=own_latest(CallbackDelivery, user, PAGE),
                           state_names=STATE_NAMES)


@bp.post("/callbacks/<int:delivery_id>/resend")
@merchant_required
def callback_resend(user: MerchantUser, delivery_id: int):
    svc = services()
    if deliveries.resend(user.merchant_id, delivery_id, svc.clock.now()) is None:
        abort(404)
    callbacks.nudge(svc)
    flash(f"回调 #{delivery_id} 已重新推送")
    return redirect(url_for(".callbacks_log"))
