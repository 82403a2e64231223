"""GET /h5/oauth/start and GET /h5/oauth/callback; refusals are Chinese HTML pages, not JSON."""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, request
from markupsafe import escape

from ..errors import ServiceError
from ..services import services
from . import h5
from .identity import H5_COOKIE

bp = Blueprint("wechat_h5", __name__)


def _set_session_cookie(response, sid: str) -> None:
    svc = services()
    response.set_cookie(H5_COOKIE, sid, max_age=svc.settings.h5_session_ttl_s, httponly=True,
                        samesite="Lax", secure=svc.settings.is_production, path="/")


@bp.get("/h5/oauth/start")
def oauth_start():
    svc = services()
    started = h5.start(svc.wechat, svc.sealer, svc.clock, public_base_url=svc.settings.public_base_url,
                       ttl_s=svc.settings.h5_session_ttl_s, sid=request.cookies.get(H5_COOKIE),
                       next_raw=request.args.get("next"), scope_raw=request.args.get("scope"))
    response = redirect(started.authorize_url, code=302)
    _set_session_cookie(response, started.sid)
    return response


@bp.get(h5.CALLBACK_PATH)
def oauth_callback():
    svc = services()
    done = h5.finish(svc.wechat, svc.sealer, svc.clock, ttl_s=svc.settings.h5_session_ttl_s,
                     sid=request.cookies.get(H5_COOKIE), state=request.args.get("state"),
                     code=request.args.get("code"))
    response = redirect(done.next_path, code=302)
    _set_session_cookie(response, done.sid)
    return response


@bp.errorhandler(ServiceError)
def refused_page(exc: ServiceError):
    errcode = exc.extra.get("errcode")
    detail = f"<p>微信错误码：{escape(errcode)}</p>" if errcode is not None else ""
    page = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<title>微信授权未完成</title></head><body>"
            f"<h1>微信授权未完成</h1><p>{escape(exc.message)}</p>{detail}"
            f"<p><small>错误代码：{escape(exc.result.tencent)}</small></p>"
            "</body></html>")
    response = make_response(page, exc.result.http_status)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response
