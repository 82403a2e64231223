"""The verification-session client API, keyed by BizToken (our H5 pages and the mini-program).

    POST /api/biz/<t>/consent    {"agree": true, "version": ...}      records PIPL consent
    GET  /api/biz/<t>/challenge                                       one-time challenge for the mode
    POST /api/biz/<t>/frames     multipart frames + nonce [+ audio]   native H5 / mini-program: verdict now
    POST /api/biz/<t>/video      multipart video + nonce              ordinary H5: 202, verdict later
    GET  /api/biz/<t>/status                                          progress, outcome, redirect

The caller must hold the WeChat identity the session is bound to (bound on first use): the
mini-program's ``Authorization: Bearer <session token>`` or the H5 OAuth cookie. Views parse, call
the services, respond; errors are ServiceErrors rendered by the application's JSON error handler.
"""
from __future__ import annotations

import functools

from flask import Blueprint, jsonify, request

from .. import callbacks
from ..errors import BadRequest, Refused
from ..result_codes import lookup
from ..services import services
from ..wechat import current_h5_identity, current_mp_session
from . import attempts, jobs, media, sessions, status, user_text
from .challenges import new_challenge
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


def _open_session(biz_token: str) -> tuple[VerificationSession, str]:
    """The session if this user may act on it now: usable, bound to them, consent given."""
    svc = services()
    session = sessions.find_session(biz_token)
    sessions.check_usable(session, svc.clock)
    digest = sessions.bind_user(session, current_user(session.channel), svc.sealer)
    return session, digest


@bp.post("/<biz_token>/consent")
def consent(biz_token: str):
    svc = services()
    session, _ = _open_session(biz_token)
    body = request.get_json(silent=True) or {}
    sessions.record_consent(session, agreed=body.get("agree") is True,
                            version=str(body.get("version", "")), clock=svc.clock)
    return jsonify({"consented": True, "version": session.consent_version})


@bp.get("/<biz_token>/challenge")
def challenge(biz_token: str):
    svc = services()
    session, digest = _open_session(biz_token)
    sessions.require_consent(session)
    attempts.check_failure_rate(digest, svc.clock)
    sessions.count_challenge(session)
    issued = new_challenge(session.id, session.liveness_mode, svc.clock.now())
    svc.session_challenges.put(issued)
    return jsonify(issued.to_client(issued.issued_at))


def _take_challenge(session: VerificationSession, nonce: str):
    svc = services()
    issued = svc.session_challenges.take(nonce, session.id, svc.clock.now())
    if issued is None or issued.mode != session.liveness_mode:
        raise Refused("ChallengeExpired")
    return issued


@bp.post("/<biz_token>/frames")
def frames(biz_token: str):
    svc = services()
    session, digest = _open_session(biz_token)
    if session.channel not in ("native_h5", "miniprogram"):
        raise BadRequest("UnsupportedOperation", "普通 H5 请上传视频（/video）")
    sessions.require_consent(session)
    upload = media.parse_frames(request.files, request.form)
    attempts.check_failure_rate(digest, svc.clock)
    attempts.check_quota(session, svc.clock)
    issued = _take_challenge(session, upload.nonce)
    from .verdicts import evaluate_frames

    evaluate = functools.partial(evaluate_frames, svc, session, issued.payload, upload.frames, upload.audio)
    result = attempts.run_frames_attempt(session, digest, issued, evaluate, sealer=svc.sealer, clock=svc.clock)
    del upload, evaluate  # no frame outlives the verdict
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
    session, digest = _open_session(biz_token)
    if session.channel != "h5":
        raise BadRequest("UnsupportedOperation", "原生 H5 与小程序请上传帧（/frames）")
    sessions.require_consent(session)
    nonce = (request.form.get("nonce") or "").strip()
    if not nonce:
        raise BadRequest("MissingParameter", "缺少挑战 nonce")
    upload = request.files.get("video")
    if upload is None:
        raise BadRequest("LipSizeError", "没有上传视频")
    data = upload.read(svc.settings.max_video_bytes + 1)
    suffix = media.check_video(data, svc.settings.max_video_bytes)
    attempts.check_failure_rate(digest, svc.clock)
    attempts.check_quota(session, svc.clock)
    issued = _take_challenge(session, nonce)
    attempt = jobs.submit_video(session, digest, issued, data, suffix, svc)
    del data
    return jsonify({"accepted": True, "attempt": attempt.seq,
                    "status_url": f"/api/biz/{biz_token}/status"}), 202


@bp.get("/<biz_token>/status")
def session_status(biz_token: str):
    svc = services()
    session = sessions.find_session(biz_token)
    sessions.bind_user(session, current_user(session.channel), svc.sealer)
    return jsonify(status.describe(session, svc.clock))
