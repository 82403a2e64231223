"""Fuzzing each Cloud API action's JSON (issue 14): generated parameters, signed as the SDK signs, through
the real gateway. Every answer is HTTP 200 with a documented code (never InternalError, the catch-all for a
handler bug); a refusal changes nothing but the call's free usage record; only a billable verdict is charged."""
from __future__ import annotations

import base64
import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wx_backend import db
from wx_backend.api import signing
from wx_backend.billing.models import Charge, Reservation
from wx_backend.merchants.models import Rule
from wx_backend.result_codes import lookup

from ..fuzzing import fuzz_settings, hostile_text, json_values, table_counts
from .conftest import GRACE_ID, GRACE_NAME, jpeg_b64, make_merchant

pytestmark = pytest.mark.fuzz

SECRET_ID, SECRET_KEY = "AKIDfuzzedmerchant01", "fuzzed-merchant-key"
# What each action reads (Tencent's names), so that generated bodies reach past "missing parameter".
PARAMS = {
    "GetLiveCode": [],
    "GetActionSequence": [],
    "IdCardVerification": ["IdCard", "Name", "Encryption"],
    "ImageRecognitionV2": ["IdCard", "Name", "ImageBase64", "Extra", "Encryption", "Optional"],
    "LivenessRecognition": ["IdCard", "Name", "VideoBase64", "VideoUrl", "LivenessType", "ValidateData",
                            "Optional", "Encryption"],
    "LivenessCompare": ["ImageBase64", "ImageUrl", "VideoBase64", "VideoUrl", "LivenessType", "ValidateData",
                        "Optional"],
    "DetectAuth": ["RuleId", "IdCard", "Name", "RedirectUrl", "Extra", "ImageBase64", "Encryption"],
    "GetDetectInfoEnhanced": ["BizToken", "RuleId", "InfoType", "BestFramesCount", "IsCutIdCardImage",
                              "IsNeedIdCardAvatar", "IsEncrypt"],
}
# Tables a refused call may still write: its usage record, the QPS/replay windows, and the settled
# reservation of the quota unit it held while its parameters were read (given back: pack_remaining is checked).
MAY_CHANGE = ("usage_record", "rate_window", "reservation")


@pytest.fixture
def fuzz_env(api_app, svc, enrolled, grace_rgb):
    merchant = make_merchant(svc, secret_id=SECRET_ID, secret_key=SECRET_KEY, qps=10 ** 6,
                             packs={"photo_verification": 10 ** 4, "live_verification": 10 ** 4,
                                    "liveness": 10 ** 4})
    with db.database.connection_context():
        rule = Rule.create(rule_id="90000001", merchant=merchant, channel="h5", liveness_mode="lip",
                           created_at=svc.clock.now().replace(tzinfo=None)).rule_id
    photo = jpeg_b64(grace_rgb)
    valid = {                                    # valid pieces, so that some bodies get far
        "IdCard": [GRACE_ID, "11010519491231002x", "110105194912310021"],
        "Name": [GRACE_NAME, "艾琳·柯林斯"],
        "ImageBase64": [photo, "data:image/jpeg;base64," + photo[:400], base64.b64encode(b"\xff\xd8\xff" * 20).decode()],
        "VideoBase64": [base64.b64encode(b"\x1a\x45\xdf\xa3" + b"\x00" * 64).decode(),
                        base64.b64encode(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64).decode()],
        "LivenessType": ["LIP", "ACTION", "SILENT", "lip"],
        "ValidateData": ["1234", "1,2", "2,1"],
        "RuleId": [rule],
        "Optional": ['{"BestFrameNum": 2}', '{"BestFrameNum": 11}', "{", "[]"],
        "InfoType": ["0", "1", "2", "3", "0123"],
    }
    client = api_app.test_client()
    stamps = itertools.count()
    base_ts = int(svc.clock.now().timestamp())

    def call(action: str, body: bytes) -> dict:
        # A distinct timestamp per example: equal bodies would otherwise be (documented) replays.
        ts = str(base_ts - 250 + next(stamps) % 500)
        date = signing.scope_date(int(ts))
        host = "localhost"
        sig = signing.signature(SECRET_KEY, method="POST", uri="/", query="",
                                headers={"content-type": "application/json", "host": host},
                                signed_headers=("content-type", "host"), payload=body, timestamp=ts, date=date)
        resp = client.post("/", data=body, headers={
            "Content-Type": "application/json", "Host": host, "X-TC-Action": action, "X-TC-Timestamp": ts,
            "X-TC-Version": "2018-03-01",
            "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/faceid/tc3_request, "
                             f"SignedHeaders=content-type;host, Signature={sig}"})
        assert resp.status_code == 200, resp.data[:300]
        return resp.get_json()["Response"]

    return call, valid


def _params(action: str, valid: dict):
    names = PARAMS[action]
    value_for = {n: st.one_of(json_values, st.sampled_from(valid[n])) if n in valid else json_values for n in names}
    known = st.fixed_dictionaries({}, optional=value_for) if names else st.just({})
    return st.tuples(known, st.dictionaries(hostile_text, json_values, max_size=3)).map(
        lambda kv: {**kv[1], **kv[0]})


def _check(call, action: str, body: bytes) -> None:
    # Outside a request the queries connect on demand; the request closes the connection at its end.
    before = table_counts(db.database, skip=MAY_CHANGE)
    charges = Charge.select().count()
    resp = call(action, body)
    if "Error" in resp:
        code = lookup(resp["Error"]["Code"])               # documented: in the one table
        assert code.tencent != "InternalError", (action, body[:300], resp)
        assert table_counts(db.database, skip=MAY_CHANGE) == before, (action, body[:300], resp)
        assert not Reservation.select().where(Reservation.settled == False).exists()  # noqa: E712
        return
    result = lookup(resp.get("Result") or "Success")
    charged = Charge.select().count() - charges
    assert charged == (1 if result.billable and "Result" in resp else 0), (action, resp)


@pytest.mark.parametrize("action", sorted(PARAMS))
def test_generated_parameters_get_a_documented_answer(fuzz_env, action):
    call, valid = fuzz_env

    @fuzz_settings("cloud_api_json")
    @given(params=_params(action, valid))
    def run(params):
        _check(call, action, json.dumps(params, ensure_ascii=bool(len(params) % 2)).encode("utf-8", "surrogatepass"))

    run()


@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()),
                      st.sampled_from([b"", b"{", b'{"a":' * 200, b"\xef\xbb\xbf{}", b'{"IdCard": "\\ud800"}',
                                       b"[" * 5000, b'{"x": 1e999999}', b'{"x": NaN}'])),
       action=st.sampled_from(sorted(PARAMS)))
@fuzz_settings("cloud_api_raw_body")
def test_raw_bodies_get_a_documented_answer(fuzz_env, body, action):
    call, _ = fuzz_env
    _check(call, action, body)
