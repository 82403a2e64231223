"""The emulated WeChat platform's state: apps, users, one-time codes, access tokens, sent messages.

No HTTP here: ``emulator_http`` turns requests into calls on ``WeChatWorld`` and its ``WxError``s into
WeChat's ``{"errcode", "errmsg"}`` answers. Time comes from an injected clock (any object whose
``now()`` returns an aware datetime), so tests expire codes by moving the clock instead of sleeping.

Rules, as WeChat applies them:
- a login/OAuth code is valid for CODE_TTL_S (5 minutes), for the app it was issued to, once;
  an unknown or expired code is 40029, a spent one 40163;
- openids are stable per (app, user) and unionids per user across all apps (all emulated apps are
  taken to belong to one open-platform account);
- an app's access token (cgi-bin/token) lives ACCESS_TOKEN_TTL_S; fetching a new one retires the
  previous one after TOKEN_OVERLAP_S (5 minutes), so processes that each fetch their own token
  invalidate each other's (40001) unless they share it;
- frequency: at most ``per_user_per_minute`` code exchanges (jscode2session, sns/oauth2/access_token)
  per (app, user) in any sliding 60 s window (WeChat documents 100/min per user for code2session);
  beyond that the answer is 45011 and the code is *not* spent, so it can be retried next minute.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

CODE_TTL_S = 300
ACCESS_TOKEN_TTL_S = 7200
TOKEN_OVERLAP_S = 300
RATE_WINDOW_S = 60
DEFAULT_PER_USER_PER_MINUTE = 100
MP, OA = "miniprogram", "official_account"
SCOPES = ("snsapi_base", "snsapi_userinfo")

# WeChat's error codes used by the emulator (errcode -> errmsg as WeChat words it).
ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    42001: "access_token expired",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    47001: "data format error",
    48001: "api unauthorized",
}


class WxError(Exception):
    """An answer with a non-zero errcode."""

    def __init__(self, errcode: int, detail: str = ""):
        self.errcode = errcode
        self.errmsg = ERRMSG.get(errcode, "error") + (f", {detail}" if detail else "")
        super().__init__(f"{errcode}: {self.errmsg}")


class ClockLike(Protocol):
    def now(self) -> dt.datetime: ...


class _SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class App:
    appid: str
    secret: str
    kind: str          # MP or OA


@dataclass
class _Code:
    appid: str
    user: str
    scope: str
    issued_at: float
    used: bool = False


@dataclass
class _Token:
    appid: str
    expires_at: float
    user: str = ""           # OAuth (web) access tokens belong to a user; client-credential ones do not
    scope: str = ""
    retired_at: float | None = None   # an app token replaced by a newer one stops working then


@dataclass
class SentMessage:
    kind: str                # "subscribe" | "template"
    appid: str
    touser: str
    template_id: str
    data: dict
    page: str = ""
    url: str = ""
    at: float = 0.0

    def as_dict(self) -> dict:
        return {"kind": self.kind, "appid": self.appid, "touser": self.touser,
                "template_id": self.template_id, "data": self.data, "page": self.page,
                "url": self.url, "at": self.at}


@dataclass
class WeChatWorld:
    apps: dict[str, App]
    clock: ClockLike = field(default_factory=_SystemClock)
    per_user_per_minute: int = DEFAULT_PER_USER_PER_MINUTE
    # Derives openids/unionids; fixed by default so a restarted dev emulator keeps its users' ids.
    id_seed: bytes = b"wxfaceid-emulator"

    def __post_init__(self):
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, _Token] = {}
        self._app_token: dict[str, str] = {}       # appid -> its newest cgi-bin/token token
        self.app_token_fetches: dict[str, int] = {}
        self._session_keys: dict[tuple[str, str], bytes] = {}
        self._exchanges: dict[tuple[str, str], deque] = {}
        self._users: dict[str, set[str]] = {}
        self.messages: list[SentMessage] = []

    # -- identities -------------------------------------------------------------------------
    def _derive(self, purpose: str, value: str, length: int) -> str:
        mac = hmac.new(self.id_seed, f"{purpose}:{value}".encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")[:length]

    def openid(self, appid: str, user: str) -> str:
        return "o" + self._derive("openid", f"{appid}:{user}", 27)       # 28 chars, like WeChat's

    def unionid(self, user: str) -> str:
        return "u" + self._derive("unionid", user, 27)

    def profile(self, appid: str, user: str) -> dict:
        return {"openid": self.openid(appid, user), "nickname": user, "sex": 0, "language": "zh_CN",
                "city": "", "province": "", "country": "CN",
                "headimgurl": f"https://thirdwx.qlogo.cn/emulator/{self._derive('avatar', user, 16)}/132",
                "privilege": [], "unionid": self.unionid(user)}

    # -- helpers ----------------------------------------------------------------------------
    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _app(self, appid: str | None, kind: str | None = None) -> App:
        if not appid:
            raise WxError(41002)
        app = self.apps.get(appid)
        if app is None or (kind is not None and app.kind != kind):
            raise WxError(40013)
        return app

    def _check_secret(self, app: App, secret: str | None) -> None:
        if not secret:
            raise WxError(41004)
        if not hmac.compare_digest(app.secret.encode("utf-8"), secret.encode("utf-8")):
            raise WxError(40125)

    def _take_code(self, app: App, code: str | None) -> _Code:
        """Validate, rate-limit and spend a code; the caller holds the lock."""
        if not code:
            raise WxError(41008)
        entry = self._codes.get(code)
        now = self._now()
        if entry is None or entry.appid != app.appid:
            raise WxError(40029)
        if entry.used:
            raise WxError(40163)
        if now - entry.issued_at > CODE_TTL_S:
            raise WxError(40029, "code expired")
        window = self._exchanges.setdefault((app.appid, entry.user), deque())
        while window and now - window[0] >= RATE_WINDOW_S:
            window.popleft()
        if len(window) >= self.per_user_per_minute:
            raise WxError(45011)
        window.append(now)
        entry.used = True
        return entry

    def _new_token(self, appid: str, user: str = "", scope: str = "") -> str:
        token = secrets.token_urlsafe(48)
        self._tokens[token] = _Token(appid, self._now() + ACCESS_TOKEN_TTL_S, user, scope)
        return token

    def _token(self, token: str | None, *, web: bool) -> _Token:
        if not token:
            raise WxError(41001)
        entry = self._tokens.get(token)
        if entry is None or bool(entry.user) != web:
            raise WxError(40001)
        if entry.retired_at is not None and self._now() >= entry.retired_at:
            raise WxError(40001)     # "access_token is invalid or not latest"
        if self._now() >= entry.expires_at:
            raise WxError(42001)
        return entry

    # -- the phone's side -------------------------------------------------------------------
    def issue_code(self, appid: str, user: str, scope: str = "", kind: str | None = None) -> str:
        """What wx.login() (mini-program) or the authorize page (official account) hands out."""
        if not user:
            raise WxError(47001, "user missing")
        with self._lock:
            self._app(appid, kind)
            self._users.setdefault(appid, set()).add(user)
            code = secrets.token_hex(16)
            self._codes[code] = _Code(appid, user, scope, self._now())
            return code

    def session_key_for(self, appid: str, user: str) -> bytes:
        """The session key the phone shares with WeChat since its last code2session."""
        with self._lock:
            key = self._session_keys.get((appid, user))
        if key is None:
            raise WxError(-1, "no session: log in (wx.login + jscode2session) first")
        return key

    # -- server APIs ------------------------------------------------------------------------
    def jscode2session(self, appid, secret, js_code, grant_type) -> dict:
        with self._lock:
            app = self._app(appid, MP)
            self._check_secret(app, secret)
            if grant_type != "authorization_code":
                raise WxError(40002)
            entry = self._take_code(app, js_code)
            key = secrets.token_bytes(16)
            self._session_keys[(appid, entry.user)] = key
        return {"openid": self.openid(appid, entry.user),
                "session_key": base64.b64encode(key).decode("ascii"),
                "unionid": self.unionid(entry.user)}

    def client_credential_token(self, appid, secret, grant_type) -> dict:
        with self._lock:
            app = self._app(appid)
            if grant_type != "client_credential":
                raise WxError(40002)
            self._check_secret(app, secret)
            previous = self._tokens.get(self._app_token.get(appid, ""))
            if previous is not None and previous.retired_at is None:
                previous.retired_at = self._now() + TOKEN_OVERLAP_S
            token = self._new_token(appid)
            self._app_token[appid] = token
            self.app_token_fetches[appid] = self.app_token_fetches.get(appid, 0) + 1
            return {"access_token": token, "expires_in": ACCESS_TOKEN_TTL_S}

    def oauth_access_token(self, appid, secret, code, grant_type) -> dict:
        with self._lock:
            app = self._app(appid, OA)
            self._check_secret(app, secret)
            if grant_type != "authorization_code":
                raise WxError(40002)
            entry = self._take_code(app, code)
            token = self._new_token(appid, entry.user, entry.scope)
            refresh = secrets.token_urlsafe(48)
        answer = {"access_token": token, "expires_in": ACCESS_TOKEN_TTL_S, "refresh_token": refresh,
                  "openid": self.openid(appid, entry.user), "scope": entry.scope}
        if entry.scope == "snsapi_userinfo":
            answer["unionid"] = self.unionid(entry.user)
        return answer

    def oauth_userinfo(self, access_token, openid) -> dict:
        with self._lock:
            entry = self._token(access_token, web=True)
        if openid != self.openid(entry.appid, entry.user):
            raise WxError(40003)
        if entry.scope != "snsapi_userinfo":
            raise WxError(48001, "scope snsapi_userinfo required")
        return self.profile(entry.appid, entry.user)

    def send_message(self, kind: str, access_token, body: dict) -> dict:
        with self._lock:
            entry = self._token(access_token, web=False)
            touser, template_id = body.get("touser"), body.get("template_id")
            if not template_id:
                raise WxError(40037)
            known = {self.openid(entry.appid, u) for u in self._users.get(entry.appid, ())}
            if touser not in known:
                raise WxError(40003)
            self.messages.append(SentMessage(kind, entry.appid, touser, template_id,
                                             body.get("data") or {}, body.get("page") or "",
                                             body.get("url") or "", self._now()))
            msgid = len(self.messages)
        answer = {"errcode": 0, "errmsg": "ok"}
        if kind == "template":
            answer["msgid"] = msgid
        return answer

    def sent_messages(self, appid: str | None = None, touser: str | None = None) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.messages
                    if (not appid or m.appid == appid) and (not touser or m.touser == touser)]

    def clear_messages(self) -> None:
        with self._lock:
            self.messages.clear()
