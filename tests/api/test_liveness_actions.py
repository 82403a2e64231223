"""LivenessRecognition / LivenessCompare through the official SDK: challenges, video intake, billing."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.faceid.v20180301 import models

from wx_backend import db
from wx_backend.billing.models import UsageRecord
from wx_backend.result_codes import lookup

from .conftest import FACEDATA, GRACE_ID, GRACE_NAME, jpeg_b64, make_merchant, mp4_b64, sdk_client


@pytest.fixture
def still_video(grace_rgb) -> str:
    """A held-up photo: 3 s of the very same picture (640 wide)."""
    img = np.asarray(Image.fromarray(grace_rgb).resize((480, 600)))
    return mp4_b64([img] * 45)


def _recognition(mode, video, validate="", optional=None) -> models.LivenessRecognitionRequest:
    req = models.LivenessRecognitionRequest()
    req.IdCard, req.Name, req.LivenessType, req.VideoBase64, req.ValidateData = (
        GRACE_ID, GRACE_NAME, mode, video, validate)
    if optional:
        req.Optional = json.dumps(optional)
    return req


def _usage(merchant):
    with db.database.connection_context():
        return [(u.action, u.result_code, u.charged) for u in
                UsageRecord.select().where(UsageRecord.merchant == merchant.id).order_by(UsageRecord.id)]


def test_live_code_is_accepted_once(faceid, merchant, enrolled, still_video, sdk_later):
    code = faceid.GetLiveCode(models.GetLiveCodeRequest()).LiveCode
    first = faceid.LivenessRecognition(_recognition("LIP", still_video, code))
    # A still picture's lips never move: the lip check's own verdict, not billable.
    assert first.Result == "FailedOperation.LipMoveSmall", first.Description
    assert not lookup(first.Result).billable
    sdk_later(1)                # the code used again in a new call (the same signature would be a replay)
    with pytest.raises(TencentCloudSDKException) as again:
        faceid.LivenessRecognition(_recognition("LIP", still_video, code))
    assert again.value.code == "FailedOperation.ChallengeExpired"
    assert [u[2] for u in _usage(merchant)] == [False, False, False]


def test_a_code_is_only_good_for_the_merchant_that_got_it(faceid, server, svc, enrolled, still_video):
    code = faceid.GetLiveCode(models.GetLiveCodeRequest()).LiveCode
    make_merchant(svc, secret_id="AKIDothermerchant001", secret_key="k5", packs={"live_verification": 5})
    other = sdk_client(server, "AKIDothermerchant001", "k5")
    with pytest.raises(TencentCloudSDKException) as info:
        other.LivenessRecognition(_recognition("LIP", still_video, code))
    assert info.value.code == "FailedOperation.ChallengeExpired"


def test_action_sequence_must_have_been_issued(faceid, merchant, enrolled, still_video):
    seq = faceid.GetActionSequence(models.GetActionSequenceRequest()).ActionSequence
    other = "2,1" if seq == "1,2" else "1,2"
    with pytest.raises(TencentCloudSDKException) as info:
        faceid.LivenessRecognition(_recognition("ACTION", still_video, other))
    assert info.value.code == "FailedOperation.ChallengeExpired"
    result = faceid.LivenessRecognition(_recognition("ACTION", still_video, seq))
    first_action = {"1": "FailedOperation.ActionOpenMouth", "2": "FailedOperation.ActionCloseEye"}[seq[0]]
    assert result.Result == first_action, result.Description
    assert not lookup(result.Result).billable


def test_action_video_in_the_issued_order_is_success_and_charged(faceid, merchant, enrolled, grace_portrait):
    """A real face (Grace Hopper's photo, mouth opened and eyes closed by warping) doing the issued
    actions: live, the same person as the registry photo, charged once."""
    import random

    from capture_synth.liveness import animated_capture, pulse

    seq = faceid.GetActionSequence(models.GetActionSequenceRequest()).ActionSequence
    at = dict(zip(seq.split(","), (600, 2200)))
    frames = animated_capture(grace_portrait, pulse(at["1"], 700, 0.45), pulse(at["2"], 300), 3500,
                              random.Random(5))
    resp = faceid.LivenessRecognition(_recognition("ACTION", mp4_b64([f.image_rgb for f in frames]), seq,
                                                   optional={"BestFrameNum": 2}))
    assert resp.Result == "Success", resp.Description
    assert resp.Sim >= 70 and len(resp.BestFrameList) == 2
    assert _usage(merchant) == [("GetActionSequence", "Success", False), ("LivenessRecognition", "Success", True)]


def test_still_photo_is_not_live_and_not_charged(faceid, merchant, enrolled, still_video):
    resp = faceid.LivenessRecognition(_recognition("SILENT", still_video))
    assert resp.Result in ("FailedOperation.SilentDetectFail", "FailedOperation.LivessDetectFake"), resp.Result
    assert not lookup(resp.Result).billable
    assert resp.BestFrameList is None
    assert _usage(merchant) == [("LivenessRecognition", resp.Result, False)]


@pytest.mark.parametrize("video, code", [
    ("AAAA", "FailedOperation.LipVideoInvalid"),                               # 3 bytes of zeros, no container
    ("not base64!", "FailedOperation.LipVideoInvalid"),
])
def test_unusable_video_is_a_free_verdict(faceid, merchant, enrolled, video, code):
    resp = faceid.LivenessRecognition(_recognition("SILENT", video))
    assert resp.Result == code
    assert _usage(merchant) == [("LivenessRecognition", code, False)]


def test_oversized_video(faceid, merchant, enrolled, svc):
    big = "A" * (svc.settings.max_video_bytes + 4)
    assert faceid.LivenessRecognition(_recognition("SILENT", big)).Result == "FailedOperation.LipSizeError"


def test_best_frame_num_is_validated(faceid, enrolled, still_video):
    with pytest.raises(TencentCloudSDKException) as info:
        faceid.LivenessRecognition(_recognition("SILENT", still_video, optional={"BestFrameNum": 11}))
    assert info.value.code == "InvalidParameterValue"


def test_liveness_compare_refuses_a_photo_without_face_before_the_video(faceid, merchant, still_video):
    req = models.LivenessCompareRequest()
    req.LivenessType, req.VideoBase64 = "SILENT", still_video
    req.ImageBase64 = jpeg_b64(np.full((300, 300, 3), 128, np.uint8))
    assert faceid.LivenessCompare(req).Result == "FailedOperation.LifePhotoDetectNoFaces"
    assert _usage(merchant) == [("LivenessCompare", "FailedOperation.LifePhotoDetectNoFaces", False)]


GRID = FACEDATA / "videos" / "grid_lipnet"


@pytest.mark.shared
def test_liveness_compare_on_real_talking_clips(faceid, merchant):
    """GRID: id2_vcd_swwp2s and pwij3p are the same man, bbaf2n someone else (MANIFEST.md)."""
    import base64
    import av

    def first_frame(name):
        with av.open(str(GRID / name)) as c:
            return next(c.decode(video=0)).to_ndarray(format="rgb24")

    def mp4_of(name):
        frames = []
        with av.open(str(GRID / name)) as c:
            for f in c.decode(video=0):
                frames.append(f.to_ndarray(format="rgb24"))
        return mp4_b64(frames, fps=25)

    video = mp4_of("grid_id2_vcd_swwp2s.mpg")
    req = models.LivenessCompareRequest()
    req.LivenessType, req.VideoBase64 = "SILENT", video
    req.ImageBase64 = jpeg_b64(first_frame("grid_pwij3p.mpg"))
    req.Optional = json.dumps({"BestFrameNum": 3})
    same = faceid.LivenessCompare(req)
    assert same.Result == "Success", same.Description
    assert same.Sim >= 70
    assert base64.b64decode(same.BestFrameBase64)[:2] == b"\xff\xd8"
    assert 1 <= len(same.BestFrameList) <= 3
    req.ImageBase64 = jpeg_b64(first_frame("grid_bbaf2n.mpg"))
    other = faceid.LivenessCompare(req)
    assert other.Result == "FailedOperation.CompareLowSimilarity"
    assert [u[2] for u in _usage(merchant)] == [True, True]
