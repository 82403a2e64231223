"""Official-account OAuth for H5 visitors: the app (Flask test client, a browser with cookies) and the
emulator's authorize page (requests over real HTTP), as the WeChat browser would hop between them."""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import jsonify

from wx_backend.settings import DEV_OA_APPID
from wx_backend.wechat import current_h5_identity, current_h5_openid
from wx_backend.wechat.identity import H5_COOKIE


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action, self.fields = None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs["action"]
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs["value"]


def _local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


@pytest.fixture
def whoami(app):
    @app.get("/h5/test/whoami")
    def _whoami():
        found = current_h5_identity()
        return jsonify({"openid": current_h5_openid(),
                        "scope": found.scope if found else None,
                        "nickname": found.profile.get("nickname") if found else None})
    return "/h5/test/whoami"


def _start(client, emulator, next_path="/h5/verify?biz=1", scope="base"):
    resp = client.get("/h5/oauth/start", query_string={"next": next_path, "scope": scope})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(f"{emulator.base_url}/connect/oauth2/authorize?")
    assert location.endswith("#wechat_redirect")
    return location


def _authorize(location, user="alice"):
    """The WeChat browser at the authorize URL (snsapi_base: WeChat redirects at once)."""
    resp = requests.get(location.split("#")[0], params={"user": user}, allow_redirects=False,
                        timeout=5)
    assert resp.status_code == 302, resp.text
    return _local(resp.headers["Location"])


def _cookie_flags(resp) -> str:
    [cookie] = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith(H5_COOKIE + "=")]
    return cookie


def test_base_scope_signs_the_visitor_in_and_returns_to_next(client, emulator, whoami):
    location = _start(client, emulator)
    query = parse_qs(urlsplit(location.split("#")[0]).query)
    assert query["appid"] == [DEV_OA_APPID] and query["scope"] == ["snsapi_base"]
    assert query["redirect_uri"] == ["http://testserver/h5/oauth/callback"]
    assert len(query["state"][0]) >= 22                    # >= 128 random bits
    assert client.get(whoami).get_json()["openid"] is None
    before = client.get_cookie(H5_COOKIE).value
    callback = _authorize(location, "alice")
    assert callback.startswith("/h5/oauth/callback?code=")
    done = client.get(callback)
    assert done.status_code == 302 and done.headers["Location"] == "/h5/verify?biz=1"
    flags = _cookie_flags(done).lower()
    assert "httponly" in flags and "samesite=lax" in flags
    assert client.get_cookie(H5_COOKIE).value != before   # a new session id after sign-in
    me = client.get(whoami).get_json()
    assert me == {"openid": emulator.world.openid(DEV_OA_APPID, "alice"), "scope": "snsapi_base",
                  "nickname": None}


def test_userinfo_scope_goes_through_the_consent_page(client, emulator, whoami):
    location = _start(client, emulator, scope="userinfo")
    page = requests.get(location.split("#")[0], params={"user": "bob"}, timeout=5)
    assert page.status_code == 200 and "允许" in page.text
    form = _Form()
    form.feed(page.text)
    consent = requests.get(emulator.base_url + form.action, params=form.fields, allow_redirects=False,
                           timeout=5)
    assert consent.status_code == 302
    done = client.get(_local(consent.headers["Location"]))
    assert done.status_code == 302
    me = client.get(whoami).get_json()
    assert me == {"openid": emulator.world.openid(DEV_OA_APPID, "bob"), "scope": "snsapi_userinfo",
                  "nickname": "bob"}


def _refusal(resp, status, *words):
    assert resp.status_code == status
    assert "Location" not in resp.headers
    text = resp.get_data(as_text=True)
    assert resp.content_type.startswith("text/html") and "微信授权未完成" in text
    for word in words:
        assert word in text
    return text


def test_forged_state_is_refused(client, emulator, whoami):
    location = _start(client, emulator)
    callback = _authorize(location)
    forged = callback.split("&state=")[0] + "&state=forged-state-value"
    _refusal(client.get(forged), 403, "伪造")
    _refusal(client.get(callback.split("&state=")[0]), 403, "伪造")     # no state at all
    assert client.get(whoami).get_json()["openid"] is None


def test_replayed_state_is_refused(client, emulator, whoami):
    callback = _authorize(_start(client, emulator))
    assert client.get(callback).status_code == 302
    _refusal(client.get(callback), 403, "已经使用过")


def test_state_from_another_browser_is_refused_and_not_spent(app, client, emulator, whoami):
    callback = _authorize(_start(client, emulator))
    stranger = app.test_client()
    _refusal(stranger.get(callback), 403, "不是由当前浏览器发起")
    assert stranger.get(whoami).get_json()["openid"] is None
    assert client.get(callback).status_code == 302           # the visitor still completes
    assert client.get(whoami).get_json()["openid"] is not None


def test_expired_state_is_refused(client, emulator, clock):
    location = _start(client, emulator)
    clock.advance(601)
    # The emulator shares the clock, so its code is stale too; the state check answers first.
    _refusal(client.get(_authorize(location)), 403, "超时")


def test_reused_code_is_refused_with_its_errcode(client, emulator, whoami):
    first = _authorize(_start(client, emulator))
    assert client.get(first).status_code == 302
    code = parse_qs(urlsplit(first).query)["code"][0]
    second = _authorize(_start(client, emulator))
    state = parse_qs(urlsplit(second).query)["state"][0]
    text = _refusal(client.get("/h5/oauth/callback", query_string={"code": code, "state": state}),
                    400, "40163")
    assert "FailedOperation.WeChatCodeInvalid" in text


def test_invalid_code_is_refused_with_its_errcode(client, emulator):
    state = parse_qs(urlsplit(_authorize(_start(client, emulator))).query)["state"][0]
    _refusal(client.get("/h5/oauth/callback", query_string={"code": "bogus", "state": state}),
             400, "40029")


@pytest.mark.parametrize("next_path", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "http:/evil.example", "evil.example/x", "/ok\r\nSet-Cookie: x=1",
])
def test_next_must_be_a_local_path(client, next_path):
    resp = client.get("/h5/oauth/start", query_string={"next": next_path})
    _refusal(resp, 400, "本站")


def test_unknown_scope_is_refused(client):
    _refusal(client.get("/h5/oauth/start", query_string={"next": "/", "scope": "all"}), 400)


def test_a_signed_in_session_expires(app, client, emulator, whoami, clock):
    assert client.get(_authorize(_start(client, emulator))).status_code == 302
    assert client.get(whoami).get_json()["openid"] is not None
    clock.advance(app.extensions["wxfaceid"].settings.h5_session_ttl_s)
    assert client.get(whoami).get_json()["openid"] is None
