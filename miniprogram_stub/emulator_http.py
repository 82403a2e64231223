"""The emulator's HTTP surface: a small WSGI app over ``WeChatWorld``.

Paths and parameters are WeChat's, as wechatpy builds them. Like WeChat, API errors are HTTP 200 with
``{"errcode", "errmsg"}`` (wechatpy raises on the errcode, not on the status). Development endpoints
live under ``/__emulator__/``; see docs/wechat.md.
"""
from __future__ import annotations

import html
import json
import logging
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .emulator_state import MP, OA, SCOPES, WeChatWorld, WxError
from .wxa_encrypt import encrypt_user_data

log = logging.getLogger(__name__)

DEFAULT_USER = "alice"
_JSON = "application/json; charset=utf-8"


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, content_type=_JSON)


def _wx_error(err: WxError) -> Response:
    return _json({"errcode": err.errcode, "errmsg": err.errmsg})


def _page(title: str, body_html: str, status: int = 200) -> Response:
    doc = (f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
           f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
           f"<title>{html.escape(title)}</title></head><body>{body_html}</body></html>")
    return Response(doc, status=status, content_type="text/html; charset=utf-8")


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class EmulatorApp:
    def __init__(self, world: WeChatWorld):
        self.world = world
        self.url_map = Map([
            Rule("/connect/oauth2/authorize", endpoint="authorize", methods=["GET"]),
            Rule("/sns/oauth2/access_token", endpoint="oauth_access_token", methods=["GET"]),
            Rule("/sns/userinfo", endpoint="oauth_userinfo", methods=["GET"]),
            Rule("/sns/jscode2session", endpoint="jscode2session", methods=["GET"]),
            Rule("/cgi-bin/token", endpoint="token", methods=["GET"]),
            Rule("/cgi-bin/message/subscribe/send", endpoint="subscribe_send", methods=["POST"]),
            Rule("/cgi-bin/message/template/send", endpoint="template_send", methods=["POST"]),
            Rule("/__emulator__/health", endpoint="dev_health", methods=["GET"]),
            Rule("/__emulator__/wx.login", endpoint="dev_login", methods=["POST"]),
            Rule("/__emulator__/wx.getUserProfile", endpoint="dev_profile", methods=["POST"]),
            Rule("/__emulator__/users", endpoint="dev_user", methods=["GET"]),
            Rule("/__emulator__/messages", endpoint="dev_messages", methods=["GET", "DELETE"]),
        ])

    def __call__(self, environ, start_response):
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, _ = adapter.match()
            response = getattr(self, "on_" + endpoint)(request)
        except WxError as err:
            response = _wx_error(err)
        except NotFound:
            response = _json({"errcode": 404, "errmsg": "no such api (emulator)"}, 404)
        except HTTPException as exc:
            response = exc
        return response(environ, start_response)

    # -- official-account OAuth: the page the WeChat browser shows --------------------------
    def on_authorize(self, request: Request) -> Response:
        a = request.args
        appid, redirect_uri, scope = a.get("appid", ""), a.get("redirect_uri", ""), a.get("scope", "")
        state, user = a.get("state", ""), a.get("user") or DEFAULT_USER
        problem = None
        if appid not in self.world.apps or self.world.apps[appid].kind != OA:
            problem = "10016 appid 参数错误"
        elif urlsplit(redirect_uri).scheme not in ("http", "https") or not urlsplit(redirect_uri).netloc:
            problem = "10003 redirect_uri 参数错误"
        elif a.get("response_type") != "code":
            problem = "10004 response_type 参数错误"
        elif scope not in SCOPES:
            problem = "10005 scope 参数错误"
        if problem:
            return _page("授权失败", f"<h1>Oops! Something went wrong:(</h1><p>{html.escape(problem)}</p>",
                         400)
        # snsapi_base is silent in WeChat; snsapi_userinfo asks, unless the tester says auto=1.
        if scope == "snsapi_base" or a.get("auto") == "1" or a.get("confirm") == "1":
            code = self.world.issue_code(appid, user, scope, kind=OA)
            return Response(status=302, headers={"Location": _with_query(redirect_uri, code=code,
                                                                         state=state)})
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in (("appid", appid), ("redirect_uri", redirect_uri), ("response_type", "code"),
                         ("scope", scope), ("state", state), ("user", user), ("confirm", "1")))
        body = (f"<h1>微信授权（模拟器）</h1><p>网页申请获取你的昵称、头像</p>"
                f"<p>当前测试用户：<b>{html.escape(user)}</b></p>"
                f'<form id="consent" method="get" action="/connect/oauth2/authorize">{hidden}'
                f'<button type="submit">允许</button></form>')
        return _page("微信授权", body)

    # -- server APIs ---------------------------------------------------------------------------
    def on_oauth_access_token(self, request: Request) -> Response:
        a = request.args
        return _json(self.world.oauth_access_token(a.get("appid"), a.get("secret"), a.get("code"),
                                                   a.get("grant_type")))

    def on_oauth_userinfo(self, request: Request) -> Response:
        a = request.args
        return _json(self.world.oauth_userinfo(a.get("access_token"), a.get("openid")))

    def on_jscode2session(self, request: Request) -> Response:
        a = request.args
        return _json(self.world.jscode2session(a.get("appid"), a.get("secret"), a.get("js_code"),
                                               a.get("grant_type")))

    def on_token(self, request: Request) -> Response:
        a = request.args
        return _json(self.world.client_credential_token(a.get("appid"), a.get("secret"),
                                                        a.get("grant_type")))

    def _body(self, request: Request) -> dict:
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError:
            raise WxError(47001) from None
        if not isinstance(body, dict):
            raise WxError(47001)
        return body

    def on_subscribe_send(self, request: Request) -> Response:
        return _json(self.world.send_message("subscribe", request.args.get("access_token"),
                                             self._body(request)))

    def on_template_send(self, request: Request) -> Response:
        return _json(self.world.send_message("template", request.args.get("access_token"),
                                             self._body(request)))

    # -- development endpoints -------------------------------------------------------------------
    def on_dev_health(self, request: Request) -> Response:
        return _json({"status": "ok", "apps": sorted(self.world.apps)})

    def on_dev_login(self, request: Request) -> Response:
        body = self._body(request)
        # wx.login exists only in mini-programs.
        return _json({"code": self.world.issue_code(str(body.get("appid") or ""),
                                                    str(body.get("user") or DEFAULT_USER), kind=MP)})

    def on_dev_profile(self, request: Request) -> Response:
        body = self._body(request)
        appid, user = str(body.get("appid") or ""), str(body.get("user") or DEFAULT_USER)
        if appid not in self.world.apps:
            raise WxError(40013)
        key = self.world.session_key_for(appid, user)
        profile = self.world.profile(appid, user)
        user_info = {"openId": profile["openid"], "nickName": profile["nickname"], "gender": 0,
                     "language": "zh_CN", "city": "", "province": "", "country": "CN",
                     "avatarUrl": profile["headimgurl"], "unionId": profile["unionid"]}
        # watermark_appid is a fault-injection knob: data sealed for another app.
        packet = encrypt_user_data(key, user_info,
                                   watermark_appid=str(body.get("watermark_appid") or appid),
                                   timestamp=int(self.world.clock.now().timestamp()))
        public = {k: v for k, v in user_info.items() if k not in ("openId", "unionId")}
        return _json(dict(packet, userInfo=public))

    def on_dev_user(self, request: Request) -> Response:
        appid, user = request.args.get("appid", ""), request.args.get("user") or DEFAULT_USER
        if appid not in self.world.apps:
            raise WxError(40013)
        return _json({"openid": self.world.openid(appid, user), "unionid": self.world.unionid(user)})

    def on_dev_messages(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.world.clear_messages()
            return _json({"errcode": 0, "errmsg": "ok"})
        appid, touser = request.args.get("appid"), request.args.get("touser")
        found = [m.as_dict() for m in self.world.sent_messages(appid, touser)]
        return _json({"messages": found})
