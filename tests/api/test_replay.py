"""Replayed Cloud API calls (issue 14): before, a signed billable call sent again within the 5-minute
signature window with a new X-TC-TraceId (not signed) ran again and was charged again, each time."""
from __future__ import annotations

import json
import time

import pytest
import requests

from wx_backend import db
from wx_backend.api import signing
from wx_backend.billing.models import Charge, UsageRecord

from ..concurrency import at_once
from .conftest import GRACE_ID, GRACE_NAME, jpeg_b64, make_merchant, sdk_client

SECRET_ID, SECRET_KEY = "AKIDreplayedmerchant", "replayed-merchant-key"


@pytest.fixture
def shop(svc, enrolled):
    return make_merchant(svc, secret_id=SECRET_ID, secret_key=SECRET_KEY, qps=1000,
                         packs={"photo_verification": 10})


def signed(server: str, action: str, body: bytes, ts: int | None = None) -> dict:
    """The headers the official SDK sends for one call (TC3 over content-type and host)."""
    ts = int(time.time()) if ts is None else ts
    date = signing.scope_date(ts)
    sig = signing.signature(SECRET_KEY, method="POST", uri="/", query="",
                            headers={"content-type": "application/json", "host": server},
                            signed_headers=("content-type", "host"), payload=body, timestamp=str(ts), date=date)
    return {"Content-Type": "application/json", "X-TC-Action": action, "X-TC-Version": "2018-03-01",
            "X-TC-Timestamp": str(ts),
            "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/faceid/tc3_request, "
                             f"SignedHeaders=content-type;host, Signature={sig}"}


def send(server: str, body: bytes, headers: dict, **extra) -> dict:
    r = requests.post(f"http://{server}/", data=body, headers={**headers, **extra}, timeout=120)
    assert r.status_code == 200
    return r.json()["Response"]


def outcome(resp: dict) -> str:
    return resp.get("Result") or resp["Error"]["Code"]


def _charges() -> int:
    with db.database.connection_context():
        return Charge.select().count()


def test_a_replayed_billable_call_runs_and_is_charged_once(server, shop, grace_rgb):
    body = json.dumps({"IdCard": GRACE_ID, "Name": GRACE_NAME, "ImageBase64": jpeg_b64(grace_rgb)}).encode()
    headers = signed(server, "ImageRecognitionV2", body)
    answers = [outcome(send(server, body, headers, **{"X-TC-TraceId": f"trace-{i}"})) for i in range(5)]
    assert answers == ["Success"] + ["AuthFailure.RequestReplayed"] * 4
    assert _charges() == 1
    with db.database.connection_context():
        assert [(u.result_code, u.charged) for u in UsageRecord.select().order_by(UsageRecord.id)] == \
            [("Success", True)] + [("AuthFailure.RequestReplayed", False)] * 4


def test_a_replay_under_another_action_name_is_the_same_replay(server, shop, grace_rgb):
    """X-TC-Action is not signed: the claim is on the signature, so the bytes run once in all."""
    body = json.dumps({"IdCard": GRACE_ID, "Name": GRACE_NAME, "ImageBase64": jpeg_b64(grace_rgb)}).encode()
    headers = signed(server, "ImageRecognitionV2", body)
    assert outcome(send(server, body, headers)) == "Success"
    assert outcome(send(server, body, headers, **{"X-TC-Action": "IdCardVerification"})) == \
        "AuthFailure.RequestReplayed"
    assert _charges() == 1


def test_simultaneous_copies_of_one_signed_call_run_once(server, shop, grace_rgb):
    body = json.dumps({"IdCard": GRACE_ID, "Name": GRACE_NAME, "ImageBase64": jpeg_b64(grace_rgb)}).encode()
    headers = signed(server, "ImageRecognitionV2", body)
    answers = at_once(lambda i: outcome(send(server, body, headers, **{"X-TC-TraceId": f"t{i}"})),
                      [(i,) for i in range(8)])
    assert sorted(answers) == ["AuthFailure.RequestReplayed"] * 7 + ["Success"]
    assert _charges() == 1


def test_the_same_call_signed_again_later_is_a_new_call(server, shop, grace_rgb):
    body = json.dumps({"IdCard": GRACE_ID, "Name": GRACE_NAME}).encode()
    now = int(time.time())
    assert outcome(send(server, body, signed(server, "IdCardVerification", body, ts=now))) == "Success"
    assert outcome(send(server, body, signed(server, "IdCardVerification", body, ts=now + 1))) == "Success"


def test_two_live_codes_in_one_second_are_two_honest_calls(server, shop):
    """GetLiveCode's signed body is {}: two calls in one second carry one signature and both get a code."""
    headers = signed(server, "GetLiveCode", b"{}")
    codes = [send(server, b"{}", headers).get("LiveCode") for _ in range(2)]
    assert all(c and c.isdigit() for c in codes)


def test_the_official_sdk_is_not_refused_for_consecutive_calls(server, shop, sdk_later):
    client = sdk_client(server, SECRET_ID, SECRET_KEY)
    from tencentcloud.faceid.v20180301 import models
    req = models.IdCardVerificationRequest()
    req.IdCard, req.Name = GRACE_ID, GRACE_NAME
    assert client.IdCardVerification(req).Result == "Success"
    sdk_later(1)
    assert client.IdCardVerification(req).Result == "Success"
