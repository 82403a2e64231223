"""The life of a verification session: creation (DetectAuth), the checks every use goes through
(token known, not finished / exhausted / expired), binding to one WeChat user, consent, and the
atomic reservation of an attempt.

Functions take their collaborators (clock, sealer, settings) as arguments; none touches Flask.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from .. import db
from ..clock import Clock, utc_naive
from ..crypto import Sealer, new_token
from ..errors import BadRequest, NotFound, Refused, Rejected
from ..merchants.models import MODES_BY_CHANNEL, NATIVE_CHANNELS, Rule
from ..merchants.rules import redirect_allowed
from ..pipeline import intake
from ..settings import Settings
from ..registry.idcard import InvalidIdNumber, InvalidName, validate_id_number, validate_name
from ..registry.store import today
from .models import (DONE, EXHAUSTED, FINISHED, MAX_ATTEMPTS, MAX_CHALLENGES, OPEN, PURGED, USER_H5,
                     USER_MP, Attempt, VerificationSession)

log = logging.getLogger(__name__)

TOKEN_TTL_S = 7200
# The version of the consent text the pages show; recorded with the consent.
CONSENT_VERSION = "2026-11-v1"


@dataclass(frozen=True)
class DetectAuthRequest:
    rule_id: str
    id_card: str = ""
    name: str = ""
    redirect_url: str = ""
    extra: str = ""
    image_base64: str = ""

    @classmethod
    def from_params(cls, params: dict) -> "DetectAuthRequest":
        def text(key: str) -> str:
            value = params.get(key, "")
            if value is None:
                return ""
            if not isinstance(value, str):
                raise BadRequest("InvalidParameter", f"{key} 必须是字符串")
            return value

        rule_id = text("RuleId").strip()
        if not rule_id:
            raise BadRequest("MissingParameter", "缺少参数 RuleId")
        return cls(rule_id=rule_id, id_card=text("IdCard").strip().upper(), name=text("Name").strip(),
                   redirect_url=text("RedirectUrl").strip(), extra=text("Extra"),
                   image_base64=text("ImageBase64"))


@dataclass(frozen=True)
class NewSession:
    biz_token: str
    url: str


@dataclass(frozen=True)
class WeChatUser:
    """Who is using a session: a mini-program session's openid (kind "mp") or an H5 OAuth openid."""

    kind: str
    appid: str
    openid: str


def _now(clock: Clock) -> dt.datetime:
    return utc_naive(clock.now())


def session_url(settings: Settings, channel: str, biz_token: str) -> str:
    if channel == "miniprogram":
        # The merchant's mini-program opens ours (navigateToMiniProgram) at this page with the token.
        return f"pages/capture/capture?biz={biz_token}"
    return f"{settings.public_base_url}/h5/biz/{biz_token}"


def _reference_image(image_base64: str, settings: Settings) -> bytes:
    """Decode and check the merchant's photo now, so a bad one is refused at DetectAuth."""
    try:
        return intake.photo_bytes(image_base64, settings.max_image_bytes)
    except Rejected as refused:
        raise BadRequest(refused.result) from None


def create_session(merchant, request: DetectAuthRequest, *, settings: Settings, clock: Clock,
                   sealer: Sealer, request_id: str = "") -> NewSession:
    """DetectAuth: check the rule and the identity, store the session, return BizToken and Url."""
    rule = Rule.get_or_none((Rule.rule_id == request.rule_id) & (Rule.merchant == merchant))
    if rule is None:
        raise BadRequest("InvalidParameterValue", "RuleId 不存在或不属于该商户")
    if rule.channel not in MODES_BY_CHANNEL:
        raise BadRequest("UnsupportedOperation", "该 RuleId 的渠道不支持核身会话")
    if rule.liveness_mode not in MODES_BY_CHANNEL[rule.channel]:
        raise BadRequest("UnsupportedOperation",
                         f"渠道 {rule.channel} 不支持活体模式 {rule.liveness_mode}")
    if not rule.active:
        raise Refused("RuleDisabled")
    if rule.channel in NATIVE_CHANNELS and not merchant.native_allowed():
        raise Refused("ChannelNotAllowed")
    if rule.compare_source == "authority" and request.image_base64:
        raise BadRequest("ImageNotAllowed")
    if rule.compare_source == "photo" and not request.image_base64:
        raise BadRequest("MissingParameter", "该规则比对商户上传的照片，需要 ImageBase64")
    if len(request.redirect_url) > 1000 or (request.redirect_url and not
                                             request.redirect_url.startswith(("https://", "http://"))):
        raise BadRequest("InvalidParameterValue", "RedirectUrl 必须是 http(s) 地址")
    if request.redirect_url and not redirect_allowed(request.redirect_url, rule.redirect_allow):
        raise BadRequest("RedirectUrlNotAllowed")
    ref_image = _reference_image(request.image_base64, settings) if request.image_base64 else None
    if ref_image is None and not (request.id_card or request.name):
        raise BadRequest("MissingParameter", "需要 IdCard 和 Name，或 ImageBase64")
    if request.id_card or request.name or ref_image is None:
        try:
            validate_id_number(request.id_card, today(clock))
        except InvalidIdNumber:
            raise BadRequest("IdFormatError") from None
        try:
            validate_name(request.name)
        except InvalidName:
            raise BadRequest("NameFormatError") from None
    if len(request.extra) > 1000:
        raise BadRequest("InvalidParameterValue", "Extra 过长（最多 1000 字符）")

    now = _now(clock)
    token = new_token(24)
    VerificationSession.create(
        biz_token=token, merchant=merchant, rule_id=rule.rule_id, channel=rule.channel,
        liveness_mode=rule.liveness_mode,
        id_card_sealed=sealer.seal_text(request.id_card) if request.id_card else None,
        name_sealed=sealer.seal_text(request.name) if request.name else None,
        ref_image_sealed=sealer.seal(ref_image) if ref_image is not None else None,
        redirect_url=request.redirect_url, extra=request.extra, created_at=now, request_id=request_id,
        expires_at=now + dt.timedelta(seconds=TOKEN_TTL_S),
        purge_after=now + dt.timedelta(days=settings.result_retention_days))
    log.info("session created merchant=%s channel=%s mode=%s", merchant.id, rule.channel,
             rule.liveness_mode)
    return NewSession(biz_token=token, url=session_url(settings, rule.channel, token))


def find_session(biz_token: str) -> VerificationSession:
    if not biz_token or len(biz_token) > 64:
        raise NotFound("BizTokenIllegal")
    session = VerificationSession.get_or_none(VerificationSession.biz_token == biz_token)
    if session is None or session.state == PURGED:
        raise NotFound("BizTokenIllegal")
    return session


def check_usable(session: VerificationSession, clock: Clock) -> None:
    """Refuse a session the user can no longer verify with, each state with its own code."""
    if session.state == FINISHED:
        raise Refused("BizTokenFinished")
    if session.state == EXHAUSTED or session.attempts_used >= MAX_ATTEMPTS:
        raise Refused("RetryLimitExceeded")
    if _now(clock) >= session.expires_at:
        raise Refused("BizTokenExpired")


def user_digest(user: WeChatUser, sealer: Sealer) -> str:
    return sealer.digest(f"{user.kind}:{user.appid}:{user.openid}", purpose="wechat-user")


def required_user_kind(channel: str) -> str:
    return USER_MP if channel == "miniprogram" else USER_H5


def bind_user(session: VerificationSession, user: WeChatUser | None, sealer: Sealer) -> str:
    """Bind the session to ``user`` on first use; afterwards only that user may use it.

    The binding is a conditional UPDATE, so two users racing for a fresh token cannot both win.
    Returns the user's digest.
    """
    if user is None or user.kind != required_user_kind(session.channel):
        raise Refused("SessionRequired")
    digest = user_digest(user, sealer)
    if session.user_digest is None:
        VerificationSession.update(user_digest=digest, user_kind=user.kind).where(
            (VerificationSession.id == session.id) & VerificationSession.user_digest.is_null()
        ).execute()
        session.user_digest = VerificationSession.get_by_id(session.id).user_digest
        session.user_kind = user.kind
    if session.user_digest != digest:
        log.info("session %s refused to a second WeChat user", session.id)
        raise Refused("WeChatUserMismatch")
    return digest


def record_consent(session: VerificationSession, *, agreed: bool, version: str, clock: Clock) -> None:
    if not agreed or version != CONSENT_VERSION:
        raise BadRequest("ConsentRequired")
    if session.consent_at is None:
        now = _now(clock)
        VerificationSession.update(consent_at=now, consent_version=version).where(
            VerificationSession.id == session.id).execute()
        session.consent_at, session.consent_version = now, version


def require_consent(session: VerificationSession) -> None:
    if session.consent_at is None:
        raise Refused("ConsentRequired")


def count_challenge(session: VerificationSession) -> None:
    """Count one issued challenge, atomically across workers; refuses past MAX_CHALLENGES.

    Three attempts need three challenges; the rest is room for camera trouble and reloads. A client
    asking for challenges in a loop (to shop for an easy one, or to fill the store) is stopped here.
    """
    updated = VerificationSession.update(
        challenges_issued=VerificationSession.challenges_issued + 1,
    ).where((VerificationSession.id == session.id)
            & (VerificationSession.challenges_issued < MAX_CHALLENGES)).execute()
    if updated != 1:
        raise Refused("ChallengeLimitExceeded")


def reserve_attempt(session: VerificationSession) -> int:
    """Count one attempt, atomically across workers; returns its sequence number.

    Refuses with RetryLimitExceeded when the session's three attempts are used (or in use).
    """
    with db.database.atomic():
        updated = VerificationSession.update(
            attempts_used=VerificationSession.attempts_used + 1,
            attempts_started=VerificationSession.attempts_started + 1,
        ).where((VerificationSession.id == session.id) & (VerificationSession.state == OPEN)
                & (VerificationSession.attempts_used < MAX_ATTEMPTS)).execute()
        fresh = VerificationSession.get_by_id(session.id)
    if updated != 1:
        # Lost the race to another upload: the session finished or its attempts are used up.
        raise Refused("BizTokenFinished" if fresh.state == FINISHED else "RetryLimitExceeded")
    session.attempts_used, session.attempts_started = fresh.attempts_used, fresh.attempts_started
    return fresh.attempts_started


def release_attempt(session: VerificationSession) -> None:
    """An attempt that could not be evaluated (bad media, engine failure) does not count."""
    VerificationSession.update(attempts_used=VerificationSession.attempts_used - 1).where(
        (VerificationSession.id == session.id) & (VerificationSession.attempts_used > 0)).execute()


def hold_open(session: VerificationSession) -> bool:
    """Inside a verdict's transaction: True when the session is still open, its row now locked by this
    transaction (a no-op conditional UPDATE), so that a concurrent verdict of the same session waits and
    then finds it finished; False when it has ended (finished, exhausted or purged)."""
    return VerificationSession.update(state=OPEN).where(
        (VerificationSession.id == session.id) & (VerificationSession.state == OPEN)).execute() == 1


def settle(session: VerificationSession, success: bool, now: dt.datetime) -> str | None:
    """After a verdict: a success finishes the session; a third counted failure exhausts it.
    Returns the state the session ended in now (FINISHED / EXHAUSTED), None when it goes on."""
    if success:
        ended = VerificationSession.update(state=FINISHED, finished_at=now).where(
            (VerificationSession.id == session.id) & (VerificationSession.state == OPEN)).execute()
        return FINISHED if ended else None
    # Exhausted only when three verdicts exist: a pending video attempt may still succeed.
    done = Attempt.select().where((Attempt.session == session.id) & (Attempt.state == DONE))
    if done.count() >= MAX_ATTEMPTS:
        ended = VerificationSession.update(state=EXHAUSTED, finished_at=now).where(
            (VerificationSession.id == session.id) & (VerificationSession.state == OPEN)).execute()
        return EXHAUSTED if ended else None
    return None
