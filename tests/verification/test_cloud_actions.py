"""DetectAuth and GetDetectInfoEnhanced through the official tencentcloud SDK over HTTP; the channel
rule (native H5 / mini-program only for whitelisted, WeChat-reviewed merchants); the H5 page gate."""
from __future__ import annotations

import json

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.faceid.v20180301 import models as m

from wx_backend import db
from wx_backend.verification import purge, results
from wx_backend.verification.models import VerificationSession

from .conftest import GRACE_ID, GRACE_NAME, make_merchant, make_rule

NATIVE_KEYS = ("AKIDnativemerchant01", "native-secret-key-01")
PLAIN_KEYS = ("AKIDplainmerchant001", "plain-secret-key-001")


def sdk(server: str, keys: tuple[str, str]):
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.faceid.v20180301 import faceid_client

    http = HttpProfile(protocol="http", endpoint=server.removeprefix("http://"))
    http.reqTimeout = 60
    return faceid_client.FaceidClient(credential.Credential(*keys), "", ClientProfile(httpProfile=http))


def detect_auth(client, rule_id: str, **fields):
    req = m.DetectAuthRequest()
    req.from_json_string(json.dumps({"RuleId": rule_id, "IdCard": fields.get("IdCard", GRACE_ID),
                                     "Name": fields.get("Name", GRACE_NAME),
                                     "RedirectUrl": "https://m.example.com/back?x=1",
                                     "Extra": fields.get("Extra", "order-42")}))
    return client.DetectAuth(req)


def detect_info(client, token: str, rule_id: str, info_type: str = "0"):
    req = m.GetDetectInfoEnhancedRequest()
    req.from_json_string(json.dumps({"BizToken": token, "RuleId": rule_id, "InfoType": info_type}))
    return client.GetDetectInfoEnhanced(req)


@pytest.fixture
def native(svc):
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    return merchant, {c: make_rule(svc, merchant, c, mode) for c, mode in
                      (("miniprogram", "light"), ("native_h5", "lip"), ("h5", "action"))}


@pytest.fixture
def plain(svc):
    merchant = make_merchant(svc, native=False, secret=PLAIN_KEYS)
    return merchant, {c: make_rule(svc, merchant, c, mode) for c, mode in
                      (("miniprogram", "light"), ("native_h5", "lip"), ("h5", "lip"))}


def test_whitelisted_merchant_gets_native_sessions(server, native):
    _, rules = native
    client = sdk(server, NATIVE_KEYS)
    mp = detect_auth(client, rules["miniprogram"])
    assert len(mp.BizToken) >= 32 and mp.Url == f"pages/capture/capture?biz={mp.BizToken}"
    h5 = detect_auth(client, rules["native_h5"])
    assert h5.Url == f"http://testserver/h5/biz/{h5.BizToken}"


@pytest.mark.parametrize("channel", ["miniprogram", "native_h5"])
def test_other_merchants_are_refused_native_and_served_on_ordinary_h5(server, plain, channel):
    _, rules = plain
    client = sdk(server, PLAIN_KEYS)
    with pytest.raises(TencentCloudSDKException) as err:
        detect_auth(client, rules[channel])
    assert err.value.get_code() == "FailedOperation.ChannelNotAllowed"
    ok = detect_auth(client, rules["h5"])
    assert ok.Url == f"http://testserver/h5/biz/{ok.BizToken}"


@pytest.mark.parametrize("fields, code", [
    ({"IdCard": "110105194912310021"}, "FailedOperation.IdFormatError"),     # wrong check character
    ({"Name": "x1"}, "FailedOperation.NameFormatError"),
])
def test_bad_identity_is_refused_at_detect_auth(server, native, fields, code):
    with pytest.raises(TencentCloudSDKException) as err:
        detect_auth(sdk(server, NATIVE_KEYS), native[1]["h5"], **fields)
    assert err.value.get_code() == code


def test_unknown_or_foreign_rule_is_refused(server, native, plain):
    with pytest.raises(TencentCloudSDKException) as err:
        detect_auth(sdk(server, NATIVE_KEYS), plain[1]["h5"])
    assert err.value.get_code() == "InvalidParameterValue"


def test_detect_info_before_any_attempt_and_for_strangers(server, native, plain):
    client = sdk(server, NATIVE_KEYS)
    token = detect_auth(client, native[1]["h5"]).BizToken
    info = detect_info(client, token, native[1]["h5"])
    assert info.Text.ErrCode is None and info.Text.Extra == "order-42"
    assert info.Text.IdCard == GRACE_ID and info.Text.LivenessDetail == []
    assert info.Text.LivenessMode == results.LIVENESS_MODE_NUMBER["action"]
    for client_keys, rule in ((PLAIN_KEYS, plain[1]["h5"]), (NATIVE_KEYS, native[1]["native_h5"])):
        with pytest.raises(TencentCloudSDKException) as err:
            detect_info(sdk(server, client_keys), token, rule)
        assert err.value.get_code() == "InvalidParameterValue.BizTokenIllegal"


def test_results_are_purged_after_retention(svc, server, native, clock, vapp):
    merchant, rules = native
    token = detect_auth(sdk(server, NATIVE_KEYS), rules["h5"]).BizToken
    request = results.DetectInfoRequest(token, rules["h5"])
    clock.advance(days=svc.settings.result_retention_days, seconds=-1)
    runner = vapp.test_cli_runner()
    assert json.loads(runner.invoke(args=["verification", "purge"]).output)["sessions"] == 0
    clock.advance(seconds=1)
    assert json.loads(runner.invoke(args=["verification", "purge"]).output)["sessions"] == 1
    with db.database.connection_context():
        row = VerificationSession.get(VerificationSession.biz_token == token)
        assert row.state == "purged" and row.id_card_sealed is None and row.name_sealed is None
        with pytest.raises(Exception) as err:
            results.detect_info(merchant, request, sealer=svc.sealer, clock=svc.clock)
        assert err.value.result.tencent == "InvalidParameterValue.BizTokenExpired"
        assert purge.purge_expired(svc.clock.now(), svc.challenges)["sessions"] == 0


def test_h5_page_only_inside_wechat(server, native):
    import requests
    token = detect_auth(sdk(server, NATIVE_KEYS), native[1]["native_h5"]).BizToken
    outside = requests.get(f"{server}/h5/biz/{token}", headers={"User-Agent": "Mozilla/5.0 Chrome/120"},
                           timeout=5)
    assert outside.status_code == 403 and "请在微信中打开" in outside.text
    inside = requests.get(f"{server}/h5/biz/{token}", allow_redirects=False, timeout=5,
                          headers={"User-Agent": "Mozilla/5.0 MicroMessenger/8.0.47"})
    assert inside.status_code == 302
    assert inside.headers["Location"].startswith("/h5/oauth/start?scope=base&next=")
