"""A merchant deletes one BizToken's data before the purge (console, CLI, signed Cloud API call); and
GetDetectInfoEnhanced's BestFrames: up to 3 best frames of the deciding attempt, sealed at rest.

The deletion test runs a whole session (ID number, name, the merchant's photo, Extra, RedirectUrl, a
callback delivered, best frames kept), deletes it, then reads every column of every table of the
database, opening every sealed value, and finds none of that session's personal data anywhere.
"""
from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.faceid.v20180301 import models as m

from faceengine.liveness.challenge import LightChallenge
from wx_backend import db
from wx_backend.billing.models import UsageRecord
from wx_backend.callbacks.models import CallbackDelivery
from wx_backend.crypto import SealError
from wx_backend.registry.idcard import mask_id_number
from wx_backend.verification import attempts, purge
from wx_backend.verification.models import Attempt, VerificationSession, VideoJob

from ..browser import free_port
from .conftest import jpeg, make_merchant
from .test_callbacks import Receiver, callback_rule, delivery
from .test_cloud_actions import NATIVE_KEYS, PLAIN_KEYS, sdk
from .test_miniprogram_flow import light_frames

ID_NUMBER, NAME = "440308199001011239", "测试用户甲"       # not in the authority registry: the photo is compared
EXTRA = "order-deletion-42"


@pytest.fixture
def settings(settings):
    return settings.replace(callback_allow_networks=("127.0.0.1/32",))


def detect_auth(client, rule_id: str, photo_b64: str, redirect: str):
    req = m.DetectAuthRequest()
    req.from_json_string(json.dumps({"RuleId": rule_id, "IdCard": ID_NUMBER, "Name": NAME, "Extra": EXTRA,
                                     "RedirectUrl": redirect, "ImageBase64": photo_b64}))
    return client.DetectAuth(req)


def detect_info(client, token: str, rule_id: str, info_type: str = "0", count: int | None = None):
    req = m.GetDetectInfoEnhancedRequest()
    params = {"BizToken": token, "RuleId": rule_id, "InfoType": info_type}
    if count is not None:
        params["BestFramesCount"] = count
    req.from_json_string(json.dumps(params))
    return client.GetDetectInfoEnhanced(req)


def passed_session(svc, server, flow, grace_portrait, grace_rgb, port, user="alice"):
    """A finished mini-program session compared with the merchant's photo, its callback delivered."""
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    rule_id, _ = callback_rule(svc, merchant, f"http://127.0.0.1:{port}/cb")
    client = sdk(server, NATIVE_KEYS)
    photo = base64.b64encode(jpeg(grace_rgb, 90)).decode()
    redirect = "https://m.example.com/after-deletion"
    token = detect_auth(client, rule_id, photo, redirect).BizToken
    f = flow(token, user=user)
    f.consent()
    ch = f.challenge()
    with Receiver(port):
        result = f.send_frames(ch["nonce"], light_frames(grace_portrait, LightChallenge.from_json(ch["challenge"]), 7))
    assert result["passed"] is True, result
    assert delivery().state == "delivered"
    return merchant, client, rule_id, token, photo, redirect


def everything_in_the_database(sealer):
    """(table, column, value) for every column of every row; sealed values opened when they open."""
    for model in db.all_models():
        for row in model.select().dicts():
            for column, value in row.items():
                if isinstance(value, (bytes, memoryview)):
                    raw = bytes(value)
                    yield model._meta.table_name, column, raw
                    try:
                        yield model._meta.table_name, column + "(opened)", sealer.open(raw)
                    except SealError:
                        pass
                elif value is not None:
                    yield model._meta.table_name, column, str(value)


def delete_via(way: str, svc, vapp, client, merchant, token, sdk_later=None) -> None:
    if way == "api":
        answer = client.call_json("DeleteDetectInfo", {"BizToken": token})
        assert answer["Response"]["Deleted"] is True and answer["Response"]["BizToken"] == token
        if sdk_later:
            sdk_later(1)        # the same request again is a new call only when signed anew
        assert client.call_json("DeleteDetectInfo", {"BizToken": token})["Response"]["Deleted"] is False
    elif way == "cli":
        out = vapp.test_cli_runner().invoke(args=["verification", "delete", token, "--merchant", str(merchant.id)])
        assert out.exit_code == 0 and json.loads(out.output) == {"biz_token": token, "deleted": True}, out.output
    else:
        from ..merchants.test_consoles import csrf, signed_in_merchant
        c = signed_in_merchant(vapp, merchant.id, "deleter")
        page = c.get("/merchant/sessions").get_data(as_text=True)
        assert token in page and ID_NUMBER not in page and NAME not in page
        resp = c.post("/merchant/sessions/delete", data={"csrf_token": csrf(c, "/merchant/sessions"),
                                                         "biz_token": token})
        assert resp.status_code == 302
        assert "按要求删除" in c.get("/merchant/sessions").get_data(as_text=True)


@pytest.mark.parametrize("way", ["console", "cli", "api"])
def test_deleting_a_biz_token_leaves_no_personal_data(way, svc, vapp, server, flow, grace_portrait, grace_rgb,
                                                      enrolled, clock, sdk_later):
    port = free_port()
    merchant, client, rule_id, token, photo, redirect = passed_session(svc, server, flow, grace_portrait,
                                                                       grace_rgb, port)
    with db.database.connection_context():
        session = VerificationSession.get(VerificationSession.biz_token == token)
        [attempt] = Attempt.select().where(Attempt.session == session.id)
        kept_frames = [svc.sealer.open(attempt.best_frame_sealed)] + \
            attempts.open_frames(svc.sealer, attempt.more_frames_sealed)
        digest = session.user_digest
        masked = mask_id_number(ID_NUMBER)
        assert UsageRecord.select().where(UsageRecord.masked_id == masked).count() == 2   # DetectAuth + charge
    assert len(kept_frames) >= 2 and all(f.startswith(b"\xff\xd8") for f in kept_frames)

    delete_via(way, svc, vapp, client, merchant, token, sdk_later)

    personal_text = [ID_NUMBER, NAME, masked, EXTRA, redirect, digest, photo[:200]]
    personal_bytes = [ID_NUMBER.encode(), NAME.encode(), base64.b64decode(photo)] + kept_frames
    with db.database.connection_context():
        for table, column, value in everything_in_the_database(svc.sealer):
            if isinstance(value, str):
                for secret in personal_text:
                    assert secret not in value, (table, column)
                if token in value:
                    assert (table, column) == ("verification_session", "biz_token")    # the tombstone
            else:
                for secret in personal_bytes:
                    assert secret not in value, (table, column)
        tomb = VerificationSession.get(VerificationSession.biz_token == token)
        assert tomb.state == "purged" and tomb.deleted_via == way and tomb.deleted_at is not None
        # (Challenges are not the session's rows: a sealed challenge under a keyed digest, no personal
        # data, gone from the store minutes after it was issued.)
        for model, column in ((Attempt, Attempt.session), (CallbackDelivery, CallbackDelivery.session)):
            assert model.select().where(column == tomb.id).count() == 0
        assert VideoJob.select().count() == 0

    # GetDetectInfoEnhanced answers as for a token the retention purge removed.
    sdk_later(1)                # a second session with the first one's parameters: another call, signed anew
    other = detect_auth(client, rule_id, photo, redirect).BizToken
    with db.database.connection_context():
        VerificationSession.update(purge_after=VerificationSession.created_at).where(
            VerificationSession.biz_token == other).execute()
        purge.purge_expired(clock.now(), svc.challenges, erasers=svc.session_erasers)
    answers = []
    sdk_later(2)                # pulls made before the deletion: these are new calls, signed anew
    for t in (token, other):
        with pytest.raises(TencentCloudSDKException) as err:
            detect_info(client, t, rule_id)
        answers.append((err.value.get_code(), err.value.get_message()))
    assert answers[0] == answers[1] and answers[0][0] == "InvalidParameterValue.BizTokenExpired", answers


def test_only_the_merchants_own_tokens_can_be_deleted(svc, server, flow, grace_portrait, grace_rgb, enrolled):
    _, _, _, token, _, _ = passed_session(svc, server, flow, grace_portrait, grace_rgb, free_port())
    stranger = make_merchant(svc, native=False, secret=PLAIN_KEYS)
    for asked in (token, "no-such-token"):
        with pytest.raises(TencentCloudSDKException) as err:
            sdk(server, PLAIN_KEYS).call_json("DeleteDetectInfo", {"BizToken": asked})
        assert err.value.get_code() == "InvalidParameterValue.BizTokenIllegal"
    with db.database.connection_context():
        assert VerificationSession.get(VerificationSession.biz_token == token).state == "finished"
    assert stranger.id


def test_best_frames_of_the_deciding_attempt(svc, server, flow, grace_portrait, grace_rgb, enrolled, face_engine):
    merchant, client, rule_id, token, _, _ = passed_session(svc, server, flow, grace_portrait, grace_rgb,
                                                            free_port())
    info = detect_info(client, token, rule_id, "3")
    frames = info.BestFrame.BestFrames
    assert info.Text is None and 2 <= len(frames) <= 3
    assert frames[0] == info.BestFrame.BestFrame and len(set(frames)) == len(frames)
    for b64 in frames:                                   # real JPEGs of the user's face
        img = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and face_engine.analyse(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).template is not None
    assert detect_info(client, token, rule_id, "0", count=1).BestFrame.BestFrames == frames[:1]
    assert detect_info(client, token, rule_id, "3", count=0).BestFrame.BestFrames == []
    assert detect_info(client, token, rule_id, "3", count=10).BestFrame.BestFrames == frames
    assert detect_info(client, token, rule_id, "1").BestFrame is None
    with db.database.connection_context():
        [attempt] = Attempt.select()
        raw = bytes(attempt.more_frames_sealed)
    # Sealed at rest: no JPEG in the column, and the sealer opens it to the frames served.
    assert b"\xff\xd8\xff" not in raw and base64.b64decode(frames[1])[:64].hex() not in raw.hex()
    assert attempts.open_frames(svc.sealer, raw) == [base64.b64decode(f) for f in frames[1:]]
