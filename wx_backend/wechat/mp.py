"""Mini-program sessions: code2session in, an opaque bearer token out.

The token (192 random bits) is handed to the mini-program once and stored only as a keyed digest. The
session_key WeChat returns stays here, sealed, and is opened only to decrypt ``encryptedData``.
Collaborators (adapter, sealer, clock) come in as arguments; nothing here touches Flask.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import peewee

from ..clock import Clock, utc_naive
from ..crypto import SealError, Sealer, new_token
from ..errors import BadRequest, Refused, ServiceError
from .adapter import WeChatAdapter, WeChatError
from .failures import as_service_error
from .models import MpSession
from .wxa_crypto import DecryptFailed, WatermarkMismatch, decrypt_user_data

log = logging.getLogger(__name__)

TOKEN_PURPOSE = "mp-session"


@dataclass(frozen=True)
class MpSessionInfo:
    """Who a mini-program session belongs to. No session_key here, on purpose."""
    appid: str
    openid: str
    unionid: str
    expires_at: dt.datetime          # naive UTC

    def __repr__(self) -> str:
        return f"MpSessionInfo(appid={self.appid!r}, openid=<hidden>, expires_at={self.expires_at})"


@dataclass(frozen=True)
class MpLoginResult:
    session_token: str
    expires_in: int                  # seconds


def login(adapter: WeChatAdapter, sealer: Sealer, clock: Clock, ttl_s: int,
          appid: str, code: str) -> MpLoginResult:
    if not isinstance(appid, str) or not appid or not isinstance(code, str) or not code:
        raise BadRequest("MissingParameter", "需要 appid 和 code")
    if appid not in adapter.mp_appids:
        raise BadRequest("FailedOperation.WeChatAppIdMismatch")
    try:
        wx = adapter.code_to_session(appid, code)
    except WeChatError as err:
        log.info("code2session refused: errcode=%s", err.errcode)
        raise as_service_error(err) from None
    token = new_token()
    now = utc_naive(clock.now())
    MpSession.create(token_digest=sealer.digest(token, TOKEN_PURPOSE), appid=wx.appid,
                     openid=wx.openid, unionid=wx.unionid, session_key=sealer.seal(wx.session_key),
                     created_at=now, expires_at=now + dt.timedelta(seconds=ttl_s))
    return MpLoginResult(token, ttl_s)


def _live_row(sealer: Sealer, clock: Clock, token: str | None) -> MpSession | None:
    if not token:
        return None
    try:
        row = MpSession.get(MpSession.token_digest == sealer.digest(token, TOKEN_PURPOSE))
    except peewee.DoesNotExist:
        return None
    if row.expires_at <= utc_naive(clock.now()):
        return None
    return row


def resolve(sealer: Sealer, clock: Clock, token: str | None) -> MpSessionInfo | None:
    """The live session a bearer token names, or None (unknown, expired or absent)."""
    row = _live_row(sealer, clock, token)
    if row is None:
        return None
    return MpSessionInfo(row.appid, row.openid, row.unionid, row.expires_at)


def decrypt_profile(sealer: Sealer, clock: Clock, token: str | None, encrypted_data: str,
                    iv: str) -> dict:
    """The user's profile from ``encryptedData``/``iv``, checked against the session's appid."""
    if not isinstance(encrypted_data, str) or not isinstance(iv, str) or not encrypted_data or not iv:
        raise BadRequest("MissingParameter", "需要 encryptedData 和 iv")
    row = _live_row(sealer, clock, token)
    if row is None:
        raise Refused("FailedOperation.SessionRequired")
    try:
        session_key = sealer.open(row.session_key)
        return decrypt_user_data(session_key, encrypted_data, iv, row.appid)
    except SealError:
        log.error("a mini-program session_key cannot be unsealed (data key changed?)")
        raise ServiceError("InternalError") from None
    except WatermarkMismatch:
        raise BadRequest("FailedOperation.WeChatWatermarkMismatch") from None
    except DecryptFailed:
        raise BadRequest("FailedOperation.WeChatDecryptFailed") from None
