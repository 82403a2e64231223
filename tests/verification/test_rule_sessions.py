"""Sessions on rules the merchant made after onboarding: a mini-program light rule made with the CLI runs a
whole session (official SDK, emulator sign-in, a synthesised live capture, verdict, GetDetectInfoEnhanced);
DetectAuth honours the rule's state, compare source and RedirectUrl allow-list."""
from __future__ import annotations

import base64
import json

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.faceid.v20180301 import models as m

from faceengine.liveness.challenge import LightChallenge

from .conftest import GRACE_ID, GRACE_NAME, jpeg, make_merchant
from .test_cloud_actions import NATIVE_KEYS, detect_info, sdk
from .test_miniprogram_flow import light_frames


@pytest.fixture
def cli(vapp):
    runner = vapp.test_cli_runner()

    def invoke(*args) -> dict:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, result.output
        return json.loads(result.output)
    return invoke


@pytest.fixture
def merchant(svc):
    return make_merchant(svc, native=True, secret=NATIVE_KEYS)


def detect_auth(client, rule_id: str, **fields):
    body = {"RuleId": rule_id, "IdCard": GRACE_ID, "Name": GRACE_NAME, **fields}
    req = m.DetectAuthRequest()
    req.from_json_string(json.dumps(body))
    return client.DetectAuth(req)


def refused(client, rule_id: str, **fields) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        detect_auth(client, rule_id, **fields)
    return err.value.get_code()


def test_a_session_on_a_rule_made_with_the_cli(server, cli, merchant, flow, grace_portrait, enrolled, sdk_later):
    rule = cli("rule", "create", "--merchant", str(merchant.id), "--channel", "miniprogram", "--mode", "light",
               "--compare-source", "authority", "--redirect-allow", "https://m.example.com",
               "--name", "开户·一闪")
    client = sdk(server, NATIVE_KEYS)
    token = detect_auth(client, rule["rule_id"], RedirectUrl="https://m.example.com/done").BizToken
    f = flow(token)
    f.consent()
    ch = f.challenge()
    assert ch["mode"] == "light"
    result = f.send_frames(ch["nonce"], light_frames(grace_portrait, LightChallenge.from_json(ch["challenge"]), 7))
    assert result["passed"] is True and result["redirect"] == f"https://m.example.com/done?token={token}", result
    text = detect_info(client, token, rule["rule_id"]).Text
    assert text.ErrCode == 0 and float(text.Sim) >= 70 and text.LivenessMode == 4

    # Edited to the digit mode: the next session uses it, the finished one keeps what it had.
    cli("rule", "edit", rule["rule_id"], "--mode", "lip")
    second = detect_auth(client, rule["rule_id"]).BizToken
    g = flow(second, user="bob")
    g.consent()
    assert g.challenge()["mode"] == "lip"
    sdk_later(1)                # the same pull again: a new signature (one signature is executed once)
    assert detect_info(client, token, rule["rule_id"]).Text.LivenessMode == 4

    # Disabled: no new session; the open one still finishes as it was.
    cli("rule", "disable", rule["rule_id"])
    assert refused(client, rule["rule_id"]) == "FailedOperation.RuleDisabled"
    assert g.challenge()["mode"] == "lip"


def test_detect_auth_follows_the_rules_allow_list_and_compare_source(server, cli, merchant, grace_rgb):
    client = sdk(server, NATIVE_KEYS)
    photo = base64.b64encode(jpeg(grace_rgb, 90)).decode()
    authority = cli("rule", "create", "--merchant", str(merchant.id), "--channel", "h5", "--mode", "silent",
                    "--compare-source", "authority", "--redirect-allow", "https://*.example.com")["rule_id"]
    own_photo = cli("rule", "create", "--merchant", str(merchant.id), "--channel", "h5", "--mode", "silent",
                    "--compare-source", "photo")["rule_id"]

    assert detect_auth(client, authority, RedirectUrl="https://m.example.com/x").BizToken
    assert refused(client, authority, RedirectUrl="https://evil.example.net/x") == \
        "InvalidParameterValue.RedirectUrlNotAllowed"
    assert refused(client, authority, ImageBase64=photo) == "InvalidParameterValue.ImageNotAllowed"
    assert refused(client, own_photo) == "MissingParameter"
    assert detect_auth(client, own_photo, ImageBase64=photo, RedirectUrl="https://evil.example.net/").BizToken
