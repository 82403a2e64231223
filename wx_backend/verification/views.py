"""The verification-session client API, keyed by BizToken (our H5 pages and the mini-program).

    POST /api/biz/<t>/consent    {"agree": true, "version": ...}      records PIPL consent
    GET  /api/biz/<t>/challenge                                       one-time challenge for the mode
    POST /api/biz/<t>/frames     multipart frames + nonce [+ audio]   native H5 / mini-program: verdict now
    POST /api/biz/<t>/video      multipart video + nonce              ordinary H5: 202, verdict later
    GET  /api/biz/<t>/status                                          progress, outcome, redirect

The caller must hold the WeChat identity the session is bound to (bound on first use): the
mini-program's ``Authorization: Bearer <session token>`` or the H5 OAuth cookie. Views parse (the
pipeline's intake), call ``flow`` (the steps in one order), respond; errors are ServiceErrors and
Rejected outcomes rendered by the application's JSON error handler.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from .. import callbacks
from ..errors import BadRequest
from ..pipeline import intake
from ..result_codes import lookup
from ..services import services
from ..wechat import current_h5_identity, current_mp_session
from . import attempts, flow, sessions, status, user_text
from .models import VerificationSession
from .sessions import WeChatUser

bp = Blueprint("verification_api", __name__, url_prefix="/api/biz")


def current_user(channel: str) -> WeChatUser | None:
    """The WeChat identity of this request for a session on ``channel``."""
    if channel == "miniprogram":
        mp = current_mp_session()
        return WeChatUser("mp", mp.appid, mp.openid) if mp else None
    h5 = current_h5_identity()
    if h5 is None or not h5.openid:
        return None
    return WeChatUser("h5", h5.appid, h5.openid)


@bp.post("/<biz_token>/consent")
def consent(biz_token: str):
    svc = services()
    session, _ = flow.open_session(svc, biz_token, current_user, consented=False)
    body = request.get_json(silent=True) or {}
    sessions.record_consent(session, agreed=body.get("agree") is True,
                            version=str(body.get("version", "")), clock=svc.clock)
    return jsonify({"consented": True, "version": session.consent_version})


@bp.get("/<biz_token>/challenge")
def challenge(biz_token: str):
    svc = services()
    session, digest = flow.open_session(svc, biz_token, current_user)
    issued = flow.issue_challenge(svc, session, digest)
    return jsonify(issued.to_client(issued.issued_at))


@bp.post("/<biz_token>/frames")
def frames(biz_token: str):
    svc = services()
    session, digest = flow.open_session(svc, biz_token, current_user, capture="frames")
    flow.precheck(svc, session, digest, (request.form.get("nonce") or "").strip())
    upload = intake.parse_frames(request.files, request.form)
    result = flow.frames_attempt(svc, session, digest, upload)
    del upload  # no frame outlives the verdict
    callbacks.nudge(svc)
    return jsonify(_outcome_body(session, result))


def _outcome_body(session: VerificationSession, result: attempts.AttemptOutcome) -> dict:
    code = lookup(result.code)
    fresh = VerificationSession.get_by_id(session.id)
    return {"passed": code.is_success, "code": code.tencent, "saas_code": code.saas,
            "message": code.message, "hint": "" if code.is_success else user_text.hint(code.tencent),
            "attempt": result.seq, "attempts_left": result.attempts_left,
            "finished": result.finished,
            "redirect": status.redirect_url(fresh) if result.finished else None}


@bp.post("/<biz_token>/video")
def video(biz_token: str):
    svc = services()
    session, digest = flow.open_session(svc, biz_token, current_user, capture="video")
    nonce = (request.form.get("nonce") or "").strip()
    flow.precheck(svc, session, digest, nonce)
    upload = request.files.get("video")
    if upload is None:
        raise BadRequest("LipSizeError", "没有上传视频")
    recorded = intake.video_upload(upload.read(svc.settings.max_video_bytes + 1), svc.settings.max_video_bytes)
    attempt = flow.video_attempt(svc, session, digest, nonce, recorded)
    del recorded
    return jsonify({"accepted": True, "attempt": attempt.seq,
                    "status_url": f"/api/biz/{biz_token}/status"}), 202


@bp.get("/<biz_token>/status")
def session_status(biz_token: str):
    svc = services()
    session = sessions.find_session(biz_token)
    sessions.bind_user(session, current_user(session.channel), svc.sealer)
    return jsonify(status.describe(session, svc.clock))
