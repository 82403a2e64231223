"""The emulator on its own, over HTTP, as WeChat's servers answer: codes, errors, tokens, messages."""
from __future__ import annotations

import subprocess
import sys
import json
from pathlib import Path

import pytest
import requests

from miniprogram_stub.emulator import running_emulator
from wx_backend.settings import DEV_MP_APPID, DEV_MP_SECRET, DEV_OA_APPID, DEV_OA_SECRET

ROOT = Path(__file__).resolve().parents[2]


def _code(base, appid=DEV_MP_APPID, user="alice"):
    return requests.post(f"{base}/__emulator__/wx.login", json={"appid": appid, "user": user},
                         timeout=5).json()["code"]


def _c2s(base, code, appid=DEV_MP_APPID, secret=DEV_MP_SECRET):
    return requests.get(f"{base}/sns/jscode2session", params={
        "appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"},
        timeout=5).json()


def test_code2session_answers_once_then_40163(emulator):
    code = _code(emulator.base_url)
    first = _c2s(emulator.base_url, code)
    assert set(first) == {"openid", "session_key", "unionid"}
    assert _c2s(emulator.base_url, code) == {"errcode": 40163, "errmsg": "code been used"}


def test_code_expires_after_five_minutes(emulator, clock):
    code = _code(emulator.base_url)
    clock.advance(301)
    assert _c2s(emulator.base_url, code)["errcode"] == 40029


def test_code_just_inside_five_minutes_still_works(emulator, clock):
    code = _code(emulator.base_url)
    clock.advance(299)
    assert "openid" in _c2s(emulator.base_url, code)


@pytest.mark.parametrize("change, errcode", [
    ({"js_code": "not-a-code"}, 40029),
    ({"secret": "wrong"}, 40125),
    ({"appid": "wxunknown"}, 40013),
    ({"appid": DEV_OA_APPID, "secret": DEV_OA_SECRET}, 40013),   # an official account is no mini-program
    ({"grant_type": "client_credential"}, 40002),
])
def test_code2session_errors(emulator, change, errcode):
    params = {"appid": DEV_MP_APPID, "secret": DEV_MP_SECRET, "js_code": _code(emulator.base_url),
              "grant_type": "authorization_code", **change}
    answer = requests.get(f"{emulator.base_url}/sns/jscode2session", params=params, timeout=5)
    assert answer.status_code == 200            # WeChat reports errors in the body
    assert answer.json()["errcode"] == errcode


def test_a_code_works_only_for_the_app_it_was_issued_to(clock):
    other = ("wxsecondminiprogram", "second-secret")
    with running_emulator(mp_apps=[(DEV_MP_APPID, DEV_MP_SECRET), other], clock=clock) as emu:
        code = _code(emu.base_url, appid=other[0])
        assert _c2s(emu.base_url, code)["errcode"] == 40029
        assert "openid" in _c2s(emu.base_url, code, *other)


def test_openids_are_stable_per_app_and_unionid_across_apps(clock):
    other = ("wxsecondminiprogram", "second-secret")
    with running_emulator(mp_apps=[(DEV_MP_APPID, DEV_MP_SECRET), other], clock=clock) as emu:
        a1 = _c2s(emu.base_url, _code(emu.base_url, user="bob"))
        a2 = _c2s(emu.base_url, _code(emu.base_url, user="bob"))
        b = _c2s(emu.base_url, _code(emu.base_url, appid=other[0], user="bob"), *other)
        carol = _c2s(emu.base_url, _code(emu.base_url, user="carol"))
    assert a1["openid"] == a2["openid"] != b["openid"]
    assert a1["unionid"] == b["unionid"] != carol["unionid"]
    assert carol["openid"] != a1["openid"]
    assert len(a1["openid"]) == 28


def test_45011_past_the_per_user_minute_quota_and_the_code_survives(clock):
    with running_emulator(per_user_per_minute=2, clock=clock) as emu:
        assert "openid" in _c2s(emu.base_url, _code(emu.base_url))
        assert "openid" in _c2s(emu.base_url, _code(emu.base_url))
        limited = _code(emu.base_url)
        assert _c2s(emu.base_url, limited)["errcode"] == 45011
        # Another user is not affected by alice's quota.
        assert "openid" in _c2s(emu.base_url, _code(emu.base_url, user="bob"))
        clock.advance(60)
        assert "openid" in _c2s(emu.base_url, limited)   # not spent by the refusal


def test_access_token_and_recorded_messages(emulator, wx_login):
    base = emulator.base_url
    openid = _c2s(base, wx_login(DEV_MP_APPID, "dora"))["openid"]
    bad = requests.get(f"{base}/cgi-bin/token", params={
        "grant_type": "client_credential", "appid": DEV_MP_APPID, "secret": "nope"}, timeout=5).json()
    assert bad["errcode"] == 40125
    token = requests.get(f"{base}/cgi-bin/token", params={
        "grant_type": "client_credential", "appid": DEV_MP_APPID, "secret": DEV_MP_SECRET},
        timeout=5).json()
    assert token["expires_in"] == 7200
    msg = {"touser": openid, "template_id": "TPL1", "data": {"thing1": {"value": "核身完成"}}}
    refused = requests.post(f"{base}/cgi-bin/message/subscribe/send",
                            params={"access_token": "forged"}, json=msg, timeout=5).json()
    assert refused["errcode"] == 40001
    unknown_user = requests.post(f"{base}/cgi-bin/message/subscribe/send",
                                 params={"access_token": token["access_token"]},
                                 json=dict(msg, touser="o" + "x" * 27), timeout=5).json()
    assert unknown_user["errcode"] == 40003
    sent = requests.post(f"{base}/cgi-bin/message/subscribe/send",
                         params={"access_token": token["access_token"]}, json=msg, timeout=5).json()
    assert sent == {"errcode": 0, "errmsg": "ok"}
    seen = requests.get(f"{base}/__emulator__/messages", params={"touser": openid}, timeout=5).json()
    assert [(m["kind"], m["template_id"], m["data"]) for m in seen["messages"]] == [
        ("subscribe", "TPL1", msg["data"])]


def test_authorize_base_scope_redirects_with_code_and_state(emulator):
    resp = requests.get(f"{emulator.base_url}/connect/oauth2/authorize", params={
        "appid": DEV_OA_APPID, "redirect_uri": "http://h5.example/cb?x=1", "response_type": "code",
        "scope": "snsapi_base", "state": "S1", "user": "erin"}, allow_redirects=False, timeout=5)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith("http://h5.example/cb?x=1&code=") and location.endswith("&state=S1")


@pytest.mark.parametrize("change", [{"appid": "wxunknown"}, {"appid": DEV_MP_APPID},
                                    {"scope": "snsapi_all"}, {"redirect_uri": "javascript:x"},
                                    {"response_type": "token"}])
def test_authorize_refuses_bad_requests_with_a_page(emulator, change):
    params = {"appid": DEV_OA_APPID, "redirect_uri": "http://h5.example/cb", "response_type": "code",
              "scope": "snsapi_base", "state": "S", **change}
    resp = requests.get(f"{emulator.base_url}/connect/oauth2/authorize", params=params,
                        allow_redirects=False, timeout=5)
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert "参数错误" in resp.text


def test_the_cli_serves_the_given_apps(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "miniprogram_stub.emulator", "--host", "127.0.0.1", "--port", "0",
         "--mp-app", "wxclimp:cli-secret", "--oa-app", "wxclioa:cli-oa-secret"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        banner = json.loads(proc.stdout.readline())
        assert banner["apps"] == {"wxclimp": "miniprogram", "wxclioa": "official_account"}
        health = requests.get(banner["emulator"] + "/__emulator__/health", timeout=5).json()
        assert health == {"status": "ok", "apps": ["wxclimp", "wxclioa"]}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_emulator_does_not_import_the_service():
    code = ("import sys, miniprogram_stub.emulator, miniprogram_stub.client; "
            "bad = [m for m in sys.modules if m.split('.')[0] == 'wx_backend']; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_wx_login_is_for_mini_programs_only(emulator):
    resp = requests.post(f"{emulator.base_url}/__emulator__/wx.login",
                         json={"appid": DEV_OA_APPID, "user": "alice"}, timeout=5)
    assert resp.json()["errcode"] == 40013
