"""The one door to WeChat's servers: wechatpy, pointed at configurable base URLs, with timeouts.

In development and tests the bases are the local emulator (miniprogram_stub); in production
https://api.weixin.qq.com and https://open.weixin.qq.com. wechatpy's own exceptions, and the requests
errors it lets through, stop here and become ``WeChatError`` (carrying WeChat's errcode, or None when
WeChat could not be reached or answered nonsense).

Two wechatpy quirks handled here: ``WeChatClient.fetch_access_token`` uses a hard-coded URL (overridden
to use the configured base), and wechatpy sets no HTTP timeout (a session with a default one is
installed on every client).

The apps' access tokens: WeChat retires an app's token 5 minutes after a newer one is fetched, so
processes that each keep their own invalidate each other's (wechatpy then refetches on 40001, and
each refetch retires the others' again). With ``REDIS_URL`` set, every worker and host keeps them in
Redis (``wxf:wechat:<appid>_access_token``, expiring with the token) and they share one; without it,
each process keeps its own (one process is fine; several work, with extra fetches).
"""
from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from typing import Mapping

import requests
from wechatpy import WeChatClient, WeChatOAuth
from wechatpy.exceptions import WeChatException

log = logging.getLogger(__name__)

SNSAPI_BASE, SNSAPI_USERINFO = "snsapi_base", "snsapi_userinfo"
TOKEN_PREFIX = "wxf:wechat"


class WeChatError(Exception):
    """WeChat refused a call (``errcode`` set) or could not be reached / understood (``errcode`` None)."""

    def __init__(self, errcode: int | None, errmsg: str = ""):
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"WeChat errcode {errcode}: {errmsg}" if errcode is not None
                         else f"WeChat unavailable: {errmsg}")


@dataclass(frozen=True)
class MpLogin:
    """code2session's answer. ``session_key`` is secret: seal it, never return or log it."""
    appid: str
    openid: str
    unionid: str
    session_key: bytes

    def __repr__(self) -> str:        # keeps session_key out of tracebacks and logs
        return f"MpLogin(appid={self.appid!r}, openid=<hidden>, session_key=<hidden>)"


@dataclass(frozen=True)
class OAuthGrant:
    """sns/oauth2/access_token's answer for one official-account visitor."""
    openid: str
    scope: str
    access_token: str
    unionid: str = ""

    def __repr__(self) -> str:
        return f"OAuthGrant(scope={self.scope!r}, openid=<hidden>, access_token=<hidden>)"


class _TimeoutSession(requests.Session):
    """A requests session whose calls time out unless the caller chose a timeout."""

    def __init__(self, timeout_s: float):
        super().__init__()
        self._timeout_s = timeout_s

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout_s
        return super().request(method, url, **kwargs)


class _Client(WeChatClient):
    """WeChatClient whose every URL, access-token fetch included, starts at ``api_base``."""

    def __init__(self, appid: str, secret: str, api_base: str, timeout_s: float, session=None):
        super().__init__(appid, secret, timeout=timeout_s, session=session)
        self._http = _TimeoutSession(timeout_s)
        self._api_base = api_base
        # Per instance: wechatpy keeps these as class attributes.
        self.API_BASE_URL = f"{api_base}/cgi-bin/"
        self.wxa.API_BASE_URL = f"{api_base}/"

    def fetch_access_token(self):
        return self._fetch_access_token(
            url=f"{self._api_base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


def _translate(exc: Exception) -> WeChatError:
    if isinstance(exc, WeChatException) and exc.errcode is not None:
        try:
            return WeChatError(int(exc.errcode), str(exc.errmsg or ""))
        except (TypeError, ValueError):
            return WeChatError(None, f"unparseable errcode {exc.errcode!r}")
    if isinstance(exc, WeChatException):
        return WeChatError(None, "HTTP error from WeChat")
    return WeChatError(None, type(exc).__name__)


_VENDOR_ERRORS = (WeChatException, requests.RequestException, ValueError, KeyError, TypeError)


class WeChatAdapter:
    """WeChat calls the service makes. Thread-safe: one instance per application."""

    def __init__(self, *, api_base: str, oauth_base: str, timeout_s: float,
                 mp_apps: Mapping[str, str], oa_appid: str, oa_secret: str, token_store=None):
        """``token_store``: a wechatpy session storage for the apps' access tokens shared by every
        process (``RedisStorage``); None keeps them in this process."""
        self.api_base = api_base.rstrip("/")
        self.oauth_base = oauth_base.rstrip("/")
        self.timeout_s = timeout_s
        self._mp_clients = {appid: _Client(appid, secret, self.api_base, timeout_s, token_store)
                            for appid, secret in mp_apps.items()}
        self.oa_appid = oa_appid
        self._oa_secret = oa_secret
        self._oa_client = _Client(oa_appid, oa_secret, self.api_base, timeout_s, token_store)

    @classmethod
    def from_settings(cls, settings) -> "WeChatAdapter":
        store = None
        if settings.redis_url:
            import redis
            from wechatpy.session.redisstorage import RedisStorage
            store = RedisStorage(redis.Redis.from_url(settings.redis_url, socket_timeout=settings.wechat_timeout_s),
                                 prefix=TOKEN_PREFIX)
        return cls(api_base=settings.wechat_api_base, oauth_base=settings.wechat_oauth_base,
                   timeout_s=settings.wechat_timeout_s, mp_apps={settings.mp_appid: settings.mp_secret},
                   oa_appid=settings.oa_appid, oa_secret=settings.oa_secret, token_store=store)

    @property
    def mp_appids(self) -> frozenset[str]:
        return frozenset(self._mp_clients)

    # -- mini-program -----------------------------------------------------------------------
    def code_to_session(self, appid: str, code: str) -> MpLogin:
        """Exchange a wx.login() code. Raises KeyError for an appid this service does not serve."""
        client = self._mp_clients[appid]
        try:
            answer = client.wxa.code_to_session(code)
            key = base64.b64decode(answer["session_key"], validate=True)
            openid = str(answer["openid"])
        except _VENDOR_ERRORS + (binascii.Error,) as exc:
            raise _translate(exc) from None
        if len(key) != 16:
            raise WeChatError(None, "session_key is not 16 bytes")
        return MpLogin(appid, openid, str(answer.get("unionid") or ""), key)

    def send_subscribe_message(self, appid: str, openid: str, template_id: str, data: dict,
                               page: str | None = None) -> None:
        try:
            self._mp_clients[appid].wxa.send_subscribe_message(openid, template_id, data, page=page)
        except _VENDOR_ERRORS as exc:
            raise _translate(exc) from None

    # -- official account -------------------------------------------------------------------
    def _oauth(self, redirect_uri: str = "", scope: str = SNSAPI_BASE, state: str = "") -> WeChatOAuth:
        # A fresh WeChatOAuth per call: it keeps the last grant on the instance (not thread-safe).
        oauth = WeChatOAuth(self.oa_appid, self._oa_secret, redirect_uri, scope=scope, state=state)
        oauth.API_BASE_URL = f"{self.api_base}/"
        oauth.OAUTH_BASE_URL = f"{self.oauth_base}/connect/"
        oauth._http = _TimeoutSession(self.timeout_s)
        return oauth

    def authorize_url(self, redirect_uri: str, scope: str, state: str) -> str:
        if scope not in (SNSAPI_BASE, SNSAPI_USERINFO):
            raise ValueError(f"unknown OAuth scope {scope!r}")
        return self._oauth(redirect_uri, scope, state).authorize_url

    def oauth_exchange(self, code: str) -> OAuthGrant:
        try:
            answer = self._oauth().fetch_access_token(code)
            return OAuthGrant(str(answer["openid"]), str(answer.get("scope") or SNSAPI_BASE),
                              str(answer["access_token"]), str(answer.get("unionid") or ""))
        except _VENDOR_ERRORS as exc:
            raise _translate(exc) from None

    def oauth_userinfo(self, grant: OAuthGrant) -> dict:
        """The visitor's profile (needs scope snsapi_userinfo)."""
        try:
            return dict(self._oauth().get_user_info(grant.openid, grant.access_token))
        except _VENDOR_ERRORS as exc:
            raise _translate(exc) from None

    def send_template_message(self, openid: str, template_id: str, data: dict,
                              url: str | None = None) -> None:
        try:
            self._oa_client.message.send_template(openid, template_id, data, url=url)
        except _VENDOR_ERRORS as exc:
            raise _translate(exc) from None


__all__ = ["WeChatAdapter", "WeChatError", "MpLogin", "OAuthGrant", "SNSAPI_BASE", "SNSAPI_USERINFO"]
