"""Mini-program sign-in through the emulator over real HTTP: POST /api/mp/login and /api/mp/userinfo."""
from __future__ import annotations

import base64
import binascii
import logging

import pytest
import requests
from flask import g, jsonify

from miniprogram_stub.client import MiniProgramClient, MiniProgramError
from miniprogram_stub.emulator import running_emulator
from wx_backend import create_app, db
from wx_backend.services import services
from wx_backend.settings import DEV_MP_APPID, DEV_MP_SECRET, DEV_OA_APPID, DEV_OA_SECRET
from wx_backend.wechat import current_mp_session, mp_session_required
from wx_backend.wechat.models import MpSession


def _login(client, code, appid=DEV_MP_APPID):
    return client.post("/api/mp/login", json={"appid": appid, "code": code})


def _encodings(secret: bytes) -> list[bytes]:
    """Every way a 16-byte key could leak into a response body or a log line."""
    b64 = base64.b64encode(secret)
    return [secret, b64, b64.rstrip(b"="), base64.urlsafe_b64encode(secret).rstrip(b"="),
            binascii.hexlify(secret), binascii.hexlify(secret).upper(),
            b64.replace(b"+", b"\\u002b").replace(b"/", b"\\/")]


def test_login_returns_an_opaque_token_stored_only_as_a_digest(app, client, wx_login, emulator):
    resp = _login(client, wx_login(DEV_MP_APPID, "alice"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"session_token", "expires_in"}
    assert body["expires_in"] == app.extensions["wxfaceid"].settings.mp_session_ttl_s
    raw = base64.urlsafe_b64decode(body["session_token"] + "==")
    assert len(raw) * 8 >= 128
    with app.app_context():
        rows = list(MpSession.select())
        assert len(rows) == 1
        row = rows[0]
        assert row.token_digest != body["session_token"]
        assert body["session_token"] not in repr(row.__data__)
        assert row.openid == emulator.world.openid(DEV_MP_APPID, "alice")


def test_two_logins_give_two_different_tokens(client, wx_login):
    a = _login(client, wx_login(DEV_MP_APPID)).get_json()["session_token"]
    b = _login(client, wx_login(DEV_MP_APPID)).get_json()["session_token"]
    assert a != b


def test_reused_code_is_refused_with_wechat_errcode_40163(client, wx_login):
    code = wx_login(DEV_MP_APPID)
    assert _login(client, code).status_code == 200
    again = _login(client, code)
    assert again.status_code == 400
    error = again.get_json()["error"]
    assert error["code"] == "FailedOperation.WeChatCodeInvalid" and error["errcode"] == 40163
    assert "40163" in error["message"]


def test_expired_code_is_refused_with_40029(client, wx_login, clock):
    code = wx_login(DEV_MP_APPID)
    clock.advance(5 * 60 + 1)           # the emulator and the app share the injected clock
    resp = _login(client, code)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["errcode"] == 40029


def test_invalid_code_is_refused_with_40029(client):
    resp = _login(client, "0" * 32)
    assert resp.status_code == 400
    assert resp.get_json()["error"] == {
        "code": "FailedOperation.WeChatCodeInvalid", "saas_code": 3102, "errcode": 40029,
        "message": resp.get_json()["error"]["message"]}


def test_an_appid_this_service_does_not_serve_is_refused(client, wx_login):
    resp = _login(client, wx_login(DEV_MP_APPID), appid="wxsomeoneelse")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "FailedOperation.WeChatAppIdMismatch"


@pytest.mark.parametrize("body", [{}, {"appid": DEV_MP_APPID}, {"code": "x"},
                                  {"appid": DEV_MP_APPID, "code": 12}])
def test_missing_fields_are_a_bad_request(client, body):
    resp = client.post("/api/mp/login", json=body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "MissingParameter"


def test_non_json_body_is_a_bad_request(client):
    resp = client.post("/api/mp/login", data="appid=x&code=y",
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "InvalidParameter"


def test_wrong_secret_is_a_configuration_error_carrying_40125(settings, clock, wx_login):
    app = create_app(settings.replace(mp_secret="not-the-secret"), clock=clock)
    with app.app_context():
        db.create_tables()
    resp = app.test_client().post("/api/mp/login",
                                  json={"appid": DEV_MP_APPID, "code": wx_login(DEV_MP_APPID)})
    assert resp.status_code == 502
    error = resp.get_json()["error"]
    assert error["code"] == "FailedOperation.WeChatCredentialInvalid" and error["errcode"] == 40125


def test_45011_reaches_the_caller_as_rate_limited(settings, clock):
    with running_emulator(mp_apps=[(DEV_MP_APPID, DEV_MP_SECRET)], oa_apps=[(DEV_OA_APPID, DEV_OA_SECRET)],
                          clock=clock, per_user_per_minute=1) as emu:
        app = create_app(settings.replace(wechat_api_base=emu.base_url), clock=clock)
        with app.app_context():
            db.create_tables()
        client = app.test_client()
        codes = [emu.world.issue_code(DEV_MP_APPID, "alice") for _ in range(2)]
        assert _login(client, codes[0]).status_code == 200
        limited = _login(client, codes[1])
    assert limited.status_code == 429
    assert limited.get_json()["error"]["errcode"] == 45011


def test_unreachable_wechat_is_a_502_without_errcode(settings, clock):
    app = create_app(settings.replace(wechat_api_base="http://127.0.0.1:9", wechat_timeout_s=2),
                     clock=clock)
    with app.app_context():
        db.create_tables()
    resp = app.test_client().post("/api/mp/login", json={"appid": DEV_MP_APPID, "code": "c"})
    assert resp.status_code == 502
    assert resp.get_json()["error"]["code"] == "FailedOperation.WeChatUnavailable"
    assert "errcode" not in resp.get_json()["error"]


def _profile_packet(emulator, user="alice", **fault):
    resp = requests.post(f"{emulator.base_url}/__emulator__/wx.getUserProfile",
                         json={"appid": DEV_MP_APPID, "user": user, **fault}, timeout=5)
    resp.raise_for_status()
    return resp.json()


def test_userinfo_decrypts_the_profile_for_the_session(client, wx_login, emulator):
    token = _login(client, wx_login(DEV_MP_APPID, "bob")).get_json()["session_token"]
    packet = _profile_packet(emulator, "bob")
    resp = client.post("/api/mp/userinfo", json={"encryptedData": packet["encryptedData"],
                                                 "iv": packet["iv"]},
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    info = resp.get_json()["userInfo"]
    assert info["nickName"] == "bob"
    assert info["openId"] == emulator.world.openid(DEV_MP_APPID, "bob")
    assert "watermark" not in info


def test_userinfo_refuses_data_watermarked_for_another_app(client, wx_login, emulator):
    token = _login(client, wx_login(DEV_MP_APPID)).get_json()["session_token"]
    packet = _profile_packet(emulator, watermark_appid="wxsomeotherapp")
    resp = client.post("/api/mp/userinfo", json={"encryptedData": packet["encryptedData"],
                                                 "iv": packet["iv"]},
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "FailedOperation.WeChatWatermarkMismatch"


def test_userinfo_from_a_stale_wechat_session_cannot_be_decrypted(client, wx_login, emulator):
    token = _login(client, wx_login(DEV_MP_APPID)).get_json()["session_token"]
    # The phone logs in again elsewhere: WeChat's session_key changes, our old session's does not.
    requests.get(f"{emulator.base_url}/sns/jscode2session", params={
        "appid": DEV_MP_APPID, "secret": DEV_MP_SECRET, "js_code": wx_login(DEV_MP_APPID),
        "grant_type": "authorization_code"}, timeout=5)
    packet = _profile_packet(emulator)
    resp = client.post("/api/mp/userinfo", json={"encryptedData": packet["encryptedData"],
                                                 "iv": packet["iv"]},
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["code"] == "FailedOperation.WeChatDecryptFailed"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"},
                                     {"Authorization": "Basic Zm9vOmJhcg=="},
                                     {"Authorization": "Bearer "}])
def test_userinfo_without_a_session_is_session_required(client, headers):
    resp = client.post("/api/mp/userinfo", json={"encryptedData": "AAAA", "iv": "AAAA"},
                       headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "FailedOperation.SessionRequired"


def test_an_expired_session_is_session_required(app, client, wx_login, emulator, clock):
    token = _login(client, wx_login(DEV_MP_APPID)).get_json()["session_token"]
    packet = _profile_packet(emulator)
    clock.advance(app.extensions["wxfaceid"].settings.mp_session_ttl_s)
    resp = client.post("/api/mp/userinfo", json={"encryptedData": packet["encryptedData"],
                                                 "iv": packet["iv"]},
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "FailedOperation.SessionRequired"


def test_session_helpers_resolve_the_bearer_token(app, client, wx_login, emulator, clock):
    @app.get("/api/test/whoami")
    @mp_session_required
    def whoami():
        found = current_mp_session()
        assert found is g.mp_session        # resolved once per request
        return jsonify({"appid": found.appid, "openid": found.openid})

    token = _login(client, wx_login(DEV_MP_APPID, "carol")).get_json()["session_token"]
    resp = client.get("/api/test/whoami", headers={"Authorization": f"Bearer {token}"})
    assert resp.get_json() == {"appid": DEV_MP_APPID,
                               "openid": emulator.world.openid(DEV_MP_APPID, "carol")}
    assert client.get("/api/test/whoami").status_code == 401
    clock.advance(7200)
    assert client.get("/api/test/whoami",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_session_key_never_leaves_the_server_and_is_sealed_at_rest(app, live_server, emulator,
                                                                   caplog):
    """The whole flow over real HTTP with the Python mini-program; every byte we answer is checked."""
    caplog.set_level(logging.DEBUG)
    responses: list[requests.Response] = []
    http = requests.Session()
    http.hooks["response"].append(lambda resp, *a, **k: responses.append(resp))
    mp = MiniProgramClient(api_base=live_server, emulator_base=emulator.base_url, appid=DEV_MP_APPID,
                           user="dave", http=http)
    token = mp.login()
    profile = mp.userinfo()
    assert profile["nickName"] == "dave"
    with pytest.raises(MiniProgramError):
        mp.login(code="spent-or-bogus")
    mp.session_token = token
    with pytest.raises(MiniProgramError):
        mp.userinfo(watermark_appid="wxother")
    key = emulator.world.session_key_for(DEV_MP_APPID, "dave")
    ours = [r for r in responses if r.url.startswith(live_server)]
    assert len(ours) == 4
    for resp in ours:
        raw = resp.content + b"".join(k.encode() + v.encode() for k, v in resp.headers.items())
        for leaked in _encodings(key):
            assert leaked not in raw, resp.url
    log_text = "\n".join(r.getMessage() for r in caplog.records).encode()
    for leaked in _encodings(key) + [token.encode()]:
        assert leaked not in log_text
    with app.app_context():
        row = MpSession.get()
        stored = bytes(row.session_key)
        for leaked in _encodings(key):
            assert leaked not in stored
        assert services().sealer.open(stored) == key


def test_purge_removes_only_expired_sessions(app, client, wx_login, clock):
    import json as _json
    old = _login(client, wx_login(DEV_MP_APPID)).get_json()["session_token"]
    clock.advance(3600)
    fresh = _login(client, wx_login(DEV_MP_APPID)).get_json()["session_token"]
    clock.advance(3600)                  # the first session is now exactly at its 7200 s expiry
    result = app.test_cli_runner().invoke(args=["wechat", "purge"])
    assert result.exit_code == 0, result.output
    assert _json.loads(result.output)["deleted"]["mp_sessions"] == 1
    with app.app_context():
        assert MpSession.select().count() == 1
    headers = {"Authorization": f"Bearer {fresh}"}
    assert client.post("/api/mp/userinfo", json={"encryptedData": "AAAA", "iv": "AAAA"},
                       headers=headers).status_code == 400        # alive: it got to decryption
    assert client.post("/api/mp/userinfo", json={"encryptedData": "AAAA", "iv": "AAAA"},
                       headers={"Authorization": f"Bearer {old}"}).status_code == 401
