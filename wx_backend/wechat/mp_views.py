"""POST /api/mp/login and POST /api/mp/userinfo: parse, call mp, respond."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..errors import BadRequest
from ..services import services
from . import mp
from .identity import bearer_token

bp = Blueprint("wechat_mp", __name__, url_prefix="/api/mp")


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("InvalidParameter", "请求体必须是 JSON 对象")
    return body


@bp.post("/login")
def login():
    body = _json_body()
    svc = services()
    result = mp.login(svc.wechat, svc.sealer, svc.clock, svc.settings.mp_session_ttl_s,
                      body.get("appid"), body.get("code"))
    return jsonify({"session_token": result.session_token, "expires_in": result.expires_in})


@bp.post("/userinfo")
def userinfo():
    body = _json_body()
    svc = services()
    profile = mp.decrypt_profile(svc.sealer, svc.clock, bearer_token(), body.get("encryptedData"),
                                 body.get("iv"))
    return jsonify({"userInfo": profile})
