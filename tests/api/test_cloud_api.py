"""The Cloud API driven by the official tencentcloud-sdk-python faceid client over real HTTP."""
from __future__ import annotations

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.faceid.v20180301 import models

from wx_backend import db
from wx_backend.billing.models import Charge, UsageRecord
from wx_backend.merchants.models import PENDING, ResourcePack

from .conftest import (ASTRONAUT_ID, ASTRONAUT_NAME, GRACE_ID, GRACE_NAME, jpeg_b64, make_merchant,
                       sdk_client)


def _sdk_error(call) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        call()
    return info.value


def _remaining(merchant, product) -> int:
    with db.database.connection_context():
        return sum(p.remaining for p in ResourcePack.select().where(
            (ResourcePack.merchant == merchant.id) & (ResourcePack.product == product)))


def _usage(merchant) -> list[UsageRecord]:
    with db.database.connection_context():
        return list(UsageRecord.select().where(UsageRecord.merchant == merchant.id).order_by(UsageRecord.id))


def _image_request(id_card, name, image_b64) -> models.ImageRecognitionV2Request:
    req = models.ImageRecognitionV2Request()
    req.IdCard, req.Name, req.ImageBase64 = id_card, name, image_b64
    return req


def test_get_live_code_and_action_sequence(faceid, merchant):
    code = faceid.GetLiveCode(models.GetLiveCodeRequest())
    assert len(code.LiveCode) == 4 and code.LiveCode.isdigit()
    assert code.RequestId
    seq = faceid.GetActionSequence(models.GetActionSequenceRequest())
    assert seq.ActionSequence in ("1,2", "2,1")
    usage = _usage(merchant)
    assert [(u.action, u.result_code, u.charged) for u in usage] == [
        ("GetLiveCode", "Success", False), ("GetActionSequence", "Success", False)]


def test_image_recognition_same_person_is_success_and_charged(faceid, merchant, enrolled, grace_rgb):
    # A re-crop and recompression of the enrolled photo: same person, different pixels.
    h, w = grace_rgb.shape[:2]
    crop = grace_rgb[int(h * 0.03):, int(w * 0.05):int(w * 0.95)]
    resp = faceid.ImageRecognitionV2(_image_request(GRACE_ID, GRACE_NAME, jpeg_b64(crop, quality=75)))
    assert resp.Result == "Success", resp.Description
    assert resp.Sim >= 70
    assert _remaining(merchant, "photo_verification") == 99
    [usage] = _usage(merchant)
    assert (usage.action, usage.result_code, usage.charged) == ("ImageRecognitionV2", "Success", True)
    assert usage.masked_id == "1101**********002X"


def test_photo_of_someone_else_is_low_similarity_and_charged(faceid, merchant, enrolled, astronaut_rgb):
    resp = faceid.ImageRecognitionV2(_image_request(GRACE_ID, GRACE_NAME, jpeg_b64(astronaut_rgb)))
    assert resp.Result == "FailedOperation.CompareLowSimilarity"
    assert resp.Sim < 70
    assert _remaining(merchant, "photo_verification") == 99


def test_name_id_mismatch_is_charged(faceid, merchant, enrolled, grace_rgb):
    resp = faceid.ImageRecognitionV2(_image_request(GRACE_ID, ASTRONAUT_NAME, jpeg_b64(grace_rgb)))
    assert resp.Result == "FailedOperation.IdNameMisMatch"
    assert _remaining(merchant, "photo_verification") == 99
    id_only = models.IdCardVerificationRequest()
    id_only.IdCard, id_only.Name = ASTRONAUT_ID, GRACE_NAME
    assert faceid.IdCardVerification(id_only).Result == "FailedOperation.IdNameMisMatch"
    id_only.Name = ASTRONAUT_NAME
    assert faceid.IdCardVerification(id_only).Result == "Success"
    assert _remaining(merchant, "photo_verification") == 97


def test_photo_without_a_face_is_not_charged(faceid, merchant, enrolled):
    import numpy as np
    rng = np.random.default_rng(7)
    # A textured landscape-like image with no face in it.
    scene = (rng.random((480, 640, 3)) * 60 + np.linspace(60, 180, 640)[None, :, None]).astype("uint8")
    resp = faceid.ImageRecognitionV2(_image_request(GRACE_ID, GRACE_NAME, jpeg_b64(scene)))
    assert resp.Result == "FailedOperation.LifePhotoDetectNoFaces"
    assert _remaining(merchant, "photo_verification") == 100
    [usage] = _usage(merchant)
    assert (usage.result_code, usage.charged) == ("FailedOperation.LifePhotoDetectNoFaces", False)


@pytest.mark.parametrize("id_card, name, code", [
    ("11010519491231002x", GRACE_NAME, "FailedOperation.IdFormatError"),      # lowercase x
    ("110105194912310021", GRACE_NAME, "FailedOperation.IdFormatError"),      # wrong check character
    (GRACE_ID, "Grace_Hopper1", "FailedOperation.NameFormatError"),
    ("110105200001010011", "张三", None),                                      # valid but not registered
])
def test_identity_verdicts_are_not_charged(faceid, merchant, enrolled, grace_rgb, id_card, name, code):
    from wx_backend.registry.idcard import check_char
    if code is None:
        id_card = id_card[:17] + check_char(id_card[:17])
        code = "FailedOperation.IdNoExistSystem"
    resp = faceid.ImageRecognitionV2(_image_request(id_card, name, jpeg_b64(grace_rgb)))
    assert resp.Result == code
    assert _remaining(merchant, "photo_verification") == 100


def test_wrong_key_is_signature_failure(server, merchant):
    wrong = sdk_client(server, "AKIDtestmerchant0001", "not-the-key")
    err = _sdk_error(lambda: wrong.GetLiveCode(models.GetLiveCodeRequest()))
    assert err.code == "AuthFailure.SignatureFailure"
    assert err.requestId
    assert _usage(merchant) == []


def test_unknown_secret_id(server, merchant):
    stranger = sdk_client(server, "AKIDnobodyknowsme", "test-secret-key-0001")
    assert _sdk_error(lambda: stranger.GetLiveCode(models.GetLiveCodeRequest())).code == \
        "AuthFailure.SecretIdNotFound"


def test_expired_timestamp_is_refused(faceid, merchant, clock):
    clock.advance(seconds=301)      # the server is now 5 min 1 s ahead of the client's signature
    assert _sdk_error(lambda: faceid.GetLiveCode(models.GetLiveCodeRequest())).code == \
        "AuthFailure.SignatureExpire"
    clock.advance(seconds=-2)       # back within 5 minutes
    assert faceid.GetLiveCode(models.GetLiveCodeRequest()).LiveCode


def test_merchant_not_approved(server, svc):
    make_merchant(svc, secret_id="AKIDpendingmerchant1", secret_key="k", status=PENDING)
    pending = sdk_client(server, "AKIDpendingmerchant1", "k")
    assert _sdk_error(lambda: pending.GetLiveCode(models.GetLiveCodeRequest())).code == \
        "UnauthorizedOperation.Nonactivated"


def test_unknown_action(faceid):
    err = _sdk_error(lambda: faceid.call_json("NoSuchAction", {}))
    assert err.code == "InvalidAction"


def test_out_of_quota_is_arrears_before_any_work(server, svc, enrolled, grace_rgb, sdk_later):
    merchant = make_merchant(svc, secret_id="AKIDbrokemerchant001", secret_key="k2",
                             packs={"photo_verification": 1}, qps=1000)
    broke = sdk_client(server, "AKIDbrokemerchant001", "k2")
    assert broke.ImageRecognitionV2(_image_request(GRACE_ID, GRACE_NAME, jpeg_b64(grace_rgb))).Result == "Success"
    sdk_later(1)        # the same call again, another signature
    err = _sdk_error(lambda: broke.ImageRecognitionV2(_image_request(GRACE_ID, GRACE_NAME, jpeg_b64(grace_rgb))))
    assert err.code == "UnauthorizedOperation.Arrears"
    assert [(u.result_code, u.charged) for u in _usage(merchant)] == [
        ("Success", True), ("UnauthorizedOperation.Arrears", False)]
    # The free actions still work without quota.
    assert broke.GetLiveCode(models.GetLiveCodeRequest()).LiveCode


def test_postpaid_merchant_is_charged_without_packs(server, svc, enrolled, grace_rgb):
    merchant = make_merchant(svc, secret_id="AKIDpostpaidmerch001", secret_key="k3", postpaid=True, qps=1000)
    client = sdk_client(server, "AKIDpostpaidmerch001", "k3")
    assert client.ImageRecognitionV2(_image_request(GRACE_ID, GRACE_NAME, jpeg_b64(grace_rgb))).Result == "Success"
    with db.database.connection_context():
        [charge] = Charge.select().where(Charge.merchant == merchant.id)
        assert charge.pack_id is None


def test_retry_with_the_same_trace_id_is_charged_once(faceid, merchant, enrolled, grace_rgb, sdk_later):
    # The SDK keeps a request's headers dict across its retries, so X-TC-TraceId repeats on a retry;
    # a retry is signed anew after its back-off (StandardRetryer sleeps 1 s, 2 s, ...).
    req = _image_request(GRACE_ID, GRACE_NAME, jpeg_b64(grace_rgb))
    req.headers = {"X-TC-TraceId": "retry-of-one-call"}
    first = faceid.ImageRecognitionV2(req)
    sdk_later(1)
    again = faceid.ImageRecognitionV2(req)
    assert first.Result == again.Result == "Success"
    assert first.RequestId != again.RequestId
    assert _remaining(merchant, "photo_verification") == 99
    assert [u.charged for u in _usage(merchant)] == [True, False]
    # The same trace id on a different request body is a different call.
    other = _image_request(GRACE_ID, GRACE_NAME, jpeg_b64(grace_rgb, quality=80))
    other.headers = {"X-TC-TraceId": "retry-of-one-call"}
    assert faceid.ImageRecognitionV2(other).Result == "Success"
    assert _remaining(merchant, "photo_verification") == 98


def test_rate_limit_refuses_and_does_not_charge(server, svc, enrolled, grace_rgb, clock, sdk_later):
    merchant = make_merchant(svc, secret_id="AKIDslowmerchant0001", secret_key="k4",
                             packs={"photo_verification": 10}, qps=2)
    client = sdk_client(server, "AKIDslowmerchant0001", "k4")
    req = _image_request(GRACE_ID, GRACE_NAME, jpeg_b64(grace_rgb))
    assert client.ImageRecognitionV2(req).Result == "Success"
    assert client.GetLiveCode(models.GetLiveCodeRequest()).LiveCode
    sdk_later(1)
    assert _sdk_error(lambda: client.ImageRecognitionV2(req)).code == "RequestLimitExceeded"
    clock.advance(seconds=1.001)
    sdk_later(2)
    assert client.ImageRecognitionV2(req).Result == "Success"
    assert _remaining(merchant, "photo_verification") == 8
    assert [(u.result_code, u.charged) for u in _usage(merchant)] == [
        ("Success", True), ("Success", False), ("RequestLimitExceeded", False), ("Success", True)]


def test_refusals_of_an_authenticated_merchant_are_recorded(faceid, merchant):
    _sdk_error(lambda: faceid.call_json("NoSuchAction", {}))
    assert [(u.action, u.result_code, u.charged) for u in _usage(merchant)] == [
        ("NoSuchAction", "InvalidAction", False)]


def test_encrypted_fields_are_refused_not_misread(faceid, merchant):
    req = models.IdCardVerificationRequest()
    req.IdCard, req.Name = "bm90IGFuIGlk", "bm90IGEgbmFtZQ=="
    req.Encryption = models.Encryption()
    req.Encryption.EncryptList = ["IdCard", "Name"]
    req.Encryption.CiphertextBlob = "AAAA"
    req.Encryption.Iv = "AAAA"
    assert _sdk_error(lambda: faceid.IdCardVerification(req)).code == "UnsupportedOperation"
    assert _remaining(merchant, "photo_verification") == 100
