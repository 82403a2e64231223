"""Official-account OAuth for H5 visitors: browser sessions, single-use states, the code exchange.

Flow: ``start`` gives the browser a server-side session (random id in an HttpOnly cookie, stored as a
digest) and a random ``state`` bound to it, and returns WeChat's authorize URL. ``finish`` accepts the
callback only with a state that exists, is unused, unexpired and was issued to this very browser; it
spends the state before exchanging the code, binds the openid to a *new* session id (so a session id
planted before sign-in is worthless after it) and returns the local path to go on to.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import peewee

from .. import db
from ..clock import Clock, utc_naive
from ..crypto import SealError, Sealer, new_token
from ..errors import BadRequest, Refused
from .adapter import SNSAPI_BASE, SNSAPI_USERINFO, WeChatAdapter, WeChatError
from .failures import as_service_error
from .models import H5Session, OAuthState

log = logging.getLogger(__name__)

STATE_TTL_S = 600          # the visitor may linger on the consent page; WeChat's code lives 5 min
SID_PURPOSE, STATE_PURPOSE = "h5-session", "oauth-state"
SCOPES = {"base": SNSAPI_BASE, "userinfo": SNSAPI_USERINFO}
CALLBACK_PATH = "/h5/oauth/callback"

STATE_INVALID = "FailedOperation.OAuthStateInvalid"
WHY_FORGED = "授权请求无法识别（state 无效或缺失），可能是伪造的链接。请从原页面重新进入。"
WHY_REPLAYED = "该授权请求已经使用过，不能重复使用。请从原页面重新进入。"
WHY_EXPIRED = "授权请求已超时，请从原页面重新进入。"
WHY_OTHER_BROWSER = "该授权请求不是由当前浏览器发起的，请在同一个微信窗口中完成授权。"


@dataclass(frozen=True)
class H5Identity:
    appid: str
    openid: str
    unionid: str
    scope: str
    expires_at: dt.datetime                       # naive UTC
    profile: dict = field(default_factory=dict)   # nickname etc. (snsapi_userinfo only)

    def __repr__(self) -> str:
        return f"H5Identity(appid={self.appid!r}, scope={self.scope!r}, openid=<hidden>)"


@dataclass(frozen=True)
class OAuthStart:
    authorize_url: str
    sid: str                   # the browser session id the cookie must carry


@dataclass(frozen=True)
class OAuthDone:
    sid: str                   # the new (post sign-in) browser session id
    next_path: str


def safe_next(raw: str | None) -> str:
    """``raw`` if it is a path on this site; anything that could leave the site is refused."""
    if not raw:
        return "/"
    parts = urlsplit(raw)
    if (not raw.startswith("/") or raw.startswith("//") or "\\" in raw or parts.scheme
            or parts.netloc or any(ord(c) < 0x20 or ord(c) == 0x7f for c in raw)):
        raise BadRequest("InvalidParameterValue", "next 只能是本站的路径（以 / 开头），不能跳转到其他网站")
    return raw


def _browser_session(sealer: Sealer, clock: Clock, ttl_s: int, sid: str | None) -> str:
    now = utc_naive(clock.now())
    if sid:
        row = H5Session.get_or_none(H5Session.sid_digest == sealer.digest(sid, SID_PURPOSE))
        if row is not None and row.expires_at > now:
            return sid
    sid = new_token()
    # Anyone can make one of these by opening /h5/oauth/start: it lives as long as its state, and
    # sign-in replaces it with a session of the full ``ttl_s``.
    H5Session.create(sid_digest=sealer.digest(sid, SID_PURPOSE), created_at=now,
                     expires_at=now + dt.timedelta(seconds=min(ttl_s, STATE_TTL_S)))
    return sid


def start(adapter: WeChatAdapter, sealer: Sealer, clock: Clock, *, public_base_url: str,
          ttl_s: int, sid: str | None, next_raw: str | None, scope_raw: str | None) -> OAuthStart:
    next_path = safe_next(next_raw)
    scope = SCOPES.get(scope_raw or "base")
    if scope is None:
        raise BadRequest("InvalidParameterValue", "scope 只能是 base 或 userinfo")
    sid = _browser_session(sealer, clock, ttl_s, sid)
    state = new_token(16)
    now = utc_naive(clock.now())
    OAuthState.create(state_digest=sealer.digest(state, STATE_PURPOSE),
                      sid_digest=sealer.digest(sid, SID_PURPOSE), next_path=next_path, scope=scope,
                      created_at=now, expires_at=now + dt.timedelta(seconds=STATE_TTL_S))
    url = adapter.authorize_url(public_base_url.rstrip("/") + CALLBACK_PATH, scope, state)
    return OAuthStart(url, sid)


def _spend_state(sealer: Sealer, clock: Clock, sid: str | None, state: str | None) -> OAuthState:
    if not state:
        raise Refused(STATE_INVALID, WHY_FORGED)
    row = OAuthState.get_or_none(OAuthState.state_digest == sealer.digest(state, STATE_PURPOSE))
    now = utc_naive(clock.now())
    if row is None:
        raise Refused(STATE_INVALID, WHY_FORGED)
    if row.used_at is not None:
        raise Refused(STATE_INVALID, WHY_REPLAYED)
    if row.expires_at <= now:
        raise Refused(STATE_INVALID, WHY_EXPIRED)
    # Not spent on a browser mismatch: a third party holding the link must not burn the visitor's state.
    if not sid or sealer.digest(sid, SID_PURPOSE) != row.sid_digest:
        raise Refused(STATE_INVALID, WHY_OTHER_BROWSER)
    spent = (OAuthState.update(used_at=now)
             .where((OAuthState.id == row.id) & OAuthState.used_at.is_null()).execute())
    if spent != 1:      # a concurrent callback won the race
        raise Refused(STATE_INVALID, WHY_REPLAYED)
    return row


def finish(adapter: WeChatAdapter, sealer: Sealer, clock: Clock, *, ttl_s: int, sid: str | None,
           state: str | None, code: str | None) -> OAuthDone:
    issued = _spend_state(sealer, clock, sid, state)
    if not code:
        raise BadRequest("FailedOperation.WeChatCodeInvalid", "微信没有返回授权 code（用户可能拒绝了授权）")
    try:
        grant = adapter.oauth_exchange(code)
        profile = adapter.oauth_userinfo(grant) if issued.scope == SNSAPI_USERINFO else None
    except WeChatError as err:
        log.info("OAuth exchange refused: errcode=%s", err.errcode)
        raise as_service_error(err) from None
    now = utc_naive(clock.now())
    new_sid = new_token()
    with db.database.atomic():
        H5Session.delete().where(H5Session.sid_digest == issued.sid_digest).execute()
        H5Session.create(sid_digest=sealer.digest(new_sid, SID_PURPOSE), appid=adapter.oa_appid,
                         openid=grant.openid, unionid=grant.unionid, scope=issued.scope,
                         profile=(sealer.seal_text(json.dumps(profile, ensure_ascii=False))
                                  if profile else None),
                         created_at=now, expires_at=now + dt.timedelta(seconds=ttl_s))
    return OAuthDone(new_sid, issued.next_path)


def resolve(sealer: Sealer, clock: Clock, sid: str | None) -> H5Identity | None:
    """The signed-in identity of a browser session id, or None."""
    if not sid:
        return None
    try:
        row = H5Session.get(H5Session.sid_digest == sealer.digest(sid, SID_PURPOSE))
    except peewee.DoesNotExist:
        return None
    if row.openid is None or row.expires_at <= utc_naive(clock.now()):
        return None
    profile: dict = {}
    if row.profile:
        try:
            profile = json.loads(sealer.open_text(row.profile))
        except (SealError, ValueError):
            log.warning("an H5 session profile cannot be opened; ignoring it")
    return H5Identity(row.appid, row.openid, row.unionid, row.scope, row.expires_at, profile)
