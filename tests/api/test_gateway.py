"""Gateway edges the SDK never produces: hand-signed requests, malformed headers and bodies, GET /."""
from __future__ import annotations

import json
import time

import pytest
import requests

from wx_backend.api import signing

from .conftest import make_merchant

SECRET_ID, SECRET_KEY = "AKIDhandsignedmerch01", "hand-key"


@pytest.fixture
def shop(svc):
    return make_merchant(svc, secret_id=SECRET_ID, secret_key=SECRET_KEY, qps=1000,
                         packs={"photo_verification": 5})


def _post(server, action, body: bytes, *, key=SECRET_KEY, ts=None, extra=None, content_type="application/json"):
    ts = str(int(time.time()) if ts is None else ts)
    date = signing.scope_date(int(ts))
    headers = {"content-type": content_type, "host": server}
    sig = signing.signature(key, method="POST", uri="/", query="", headers=headers,
                            signed_headers=("content-type", "host"), payload=body, timestamp=ts, date=date)
    h = {"Content-Type": content_type, "X-TC-Action": action, "X-TC-Version": "2018-03-01",
         "X-TC-Timestamp": ts,
         "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/faceid/tc3_request, "
                          f"SignedHeaders=content-type;host, Signature={sig}"}
    h.update(extra or {})
    r = requests.post(f"http://{server}/", data=body, headers=h, timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"    # the SDK only parses errors with exactly this
    return r.json()["Response"]


def test_hand_signed_request_is_accepted(server, shop):
    resp = _post(server, "GetLiveCode", b"{}")
    assert resp["LiveCode"].isdigit() and resp["RequestId"]


def test_body_is_part_of_the_signature(server, shop):
    body = json.dumps({"IdCard": "11010519491231002X", "Name": "Grace Hopper"}).encode()
    ts = int(time.time())
    date = signing.scope_date(ts)
    headers = {"content-type": "application/json", "host": server}
    sig = signing.signature(SECRET_KEY, method="POST", uri="/", query="", headers=headers,
                            signed_headers=("content-type", "host"), payload=body, timestamp=str(ts), date=date)
    tampered = body.replace(b"Grace", b"Grape")
    r = requests.post(f"http://{server}/", data=tampered, timeout=30, headers={
        "Content-Type": "application/json", "X-TC-Action": "IdCardVerification", "X-TC-Timestamp": str(ts),
        "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/faceid/tc3_request, "
                         f"SignedHeaders=content-type;host, Signature={sig}"})
    assert r.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("extra, code", [
    ({"Authorization": "Basic abc"}, "AuthFailure.InvalidAuthorization"),
    ({"X-TC-Timestamp": "yesterday"}, "MissingParameter"),
    ({"X-TC-Version": "2017-01-01"}, "InvalidParameterValue"),
    ({"X-TC-Action": ""}, "MissingParameter"),
])
def test_malformed_headers(server, shop, extra, code):
    assert _post(server, "GetLiveCode", b"{}", extra=extra)["Error"]["Code"] == code


def test_scope_date_must_match_the_timestamp(server, shop):
    ts = int(time.time())
    date = signing.scope_date(ts - 86400)
    headers = {"content-type": "application/json", "host": server}
    sig = signing.signature(SECRET_KEY, method="POST", uri="/", query="", headers=headers,
                            signed_headers=("content-type", "host"), payload=b"{}", timestamp=str(ts), date=date)
    r = requests.post(f"http://{server}/", data=b"{}", timeout=30, headers={
        "Content-Type": "application/json", "X-TC-Action": "GetLiveCode", "X-TC-Timestamp": str(ts),
        "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/faceid/tc3_request, "
                         f"SignedHeaders=content-type;host, Signature={sig}"})
    assert r.json()["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("body, code", [(b"not json", "InvalidParameter"), (b"[1, 2]", "InvalidParameter")])
def test_bad_bodies(server, shop, body, code):
    assert _post(server, "IdCardVerification", body)["Error"]["Code"] == code


def test_missing_and_wrongly_typed_fields(server, shop):
    assert _post(server, "IdCardVerification", b'{"IdCard": "11010519491231002X"}')["Error"]["Code"] == \
        "MissingParameter"
    assert _post(server, "IdCardVerification", b'{"IdCard": 11010519491231002, "Name": "x"}')["Error"]["Code"] == \
        "InvalidParameterValue"


def test_oversized_request(server, shop, api_app):
    body = b'{"ImageBase64": "' + b"A" * api_app.config["MAX_CONTENT_LENGTH"] + b'"}'
    resp = _post(server, "ImageRecognitionV2", body)
    assert resp["Error"]["Code"] == "RequestSizeLimitExceeded"


def test_get_root_is_a_page_not_the_api(server):
    r = requests.get(f"http://{server}/", timeout=10)
    assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]


@pytest.mark.parametrize("timestamp, code", [
    ("9" * 400, "AuthFailure.SignatureExpire"),       # before issue 14: HTTP 500, an HTML page
    ("9" * 12, "AuthFailure.SignatureExpire"),
    ("0" * 30 + "1", "AuthFailure.SignatureExpire"),
    ("１２３", "MissingParameter"),                    # full-width digits are digits to str.isdigit
])
def test_absurd_timestamps_get_a_documented_code(server, shop, timestamp, code):
    body = b"{}"
    ts = str(int(time.time()))
    date = signing.scope_date(int(ts))
    headers = {"content-type": "application/json", "host": server}
    sig = signing.signature(SECRET_KEY, method="POST", uri="/", query="", headers=headers,
                            signed_headers=("content-type", "host"), payload=body, timestamp=ts, date=date)
    r = requests.post(f"http://{server}/", data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-TC-Action": "GetLiveCode", "X-TC-Timestamp": timestamp.encode(),
        "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/faceid/tc3_request, "
                         f"SignedHeaders=content-type;host, Signature={sig}"})
    assert r.status_code == 200 and r.json()["Response"]["Error"]["Code"] == code


def test_a_live_code_commits_its_challenge_with_its_usage_record(server, shop, svc):
    from wx_backend import db
    from wx_backend.billing.models import UsageRecord
    from wx_backend.pipeline.challenge import LIVE_CODE, has_cloud

    code = _post(server, "GetLiveCode", b"{}")["LiveCode"]
    with db.database.connection_context():
        assert has_cloud(svc.challenges, shop.id, LIVE_CODE, code, svc.clock.now())
        [usage] = UsageRecord.select().where(UsageRecord.action == "GetLiveCode")
        assert (usage.result_code, usage.charged) == ("Success", False)
