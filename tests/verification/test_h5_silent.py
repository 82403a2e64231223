"""Silent mode on ordinary H5: a video of a still photo is refused (uncharged); a real person's clip
(shared material, skipped when absent) passes against a merchant photo taken from later in the clip."""
from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest
from tencentcloud.faceid.v20180301 import models as m

from capture_synth import lip as lip_synth
from faceengine.liveness.capture import read_video
from wx_backend import db
from wx_backend.billing.models import Charge

from .conftest import FACEDATA_VIDEOS, jpeg, make_merchant, make_rule
from .test_cloud_actions import PLAIN_KEYS, detect_auth, detect_info, sdk
from .test_h5_video_flow import WeChatBrowser


@pytest.fixture
def silent_rule(svc, enrolled):
    merchant = make_merchant(svc, native=False, secret=PLAIN_KEYS)
    return make_rule(svc, merchant, "h5", "silent")


def run_h5(server, token: str, video: bytes, suffix: str, user: str) -> dict:
    browser = WeChatBrowser(server, user)
    assert browser.open(f"{server}/h5/biz/{token}").status_code == 200
    browser.api("POST", f"/api/biz/{token}/consent", json={"agree": True, "version": "2026-11-v1"})
    ch = browser.api("GET", f"/api/biz/{token}/challenge").json()
    assert ch["mode"] == "silent" and ch["challenge"] == {}
    resp = browser.api("POST", f"/api/biz/{token}/video", data={"nonce": ch["nonce"]},
                       files={"video": (f"capture{suffix}", video, "video/mp4")})
    assert resp.status_code == 202, resp.text
    return browser.api("GET", f"/api/biz/{token}/status").json()


def test_video_of_a_still_photo_fails_silent_liveness(server, silent_rule, grace_portrait):
    token = detect_auth(sdk(server, PLAIN_KEYS), silent_rule).BizToken
    rng = random.Random(2)
    frames = lip_synth.lip_capture(grace_portrait, lip_synth.Reading((), 4000), rng)   # no movement of its own
    status = run_h5(server, token, lip_synth.mp4_bytes(frames, None), ".mp4", "erin")
    assert status["state"] == "open" and status["attempts_left"] == 2
    assert status["last_attempt"]["code"] == "FailedOperation.SilentDetectFail"
    with db.database.connection_context():
        assert Charge.select().count() == 0


@pytest.mark.shared
def test_real_clip_passes_silent_against_a_merchant_photo(server, silent_rule):
    clip = FACEDATA_VIDEOS / "liveportrait_driving" / "d19.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} is absent")
    frames = read_video(Path(clip))
    capture = [f for f in frames if f.timestamp_ms <= 5000]
    photo = min((f for f in frames if f.timestamp_ms >= 6500), key=lambda f: f.timestamp_ms)
    client = sdk(server, PLAIN_KEYS)
    req = m.DetectAuthRequest()
    req.from_json_string(json.dumps({"RuleId": silent_rule,
                                     "ImageBase64": base64.b64encode(jpeg(photo.image_rgb, 92)).decode()}))
    token = client.DetectAuth(req).BizToken
    h, w = capture[0].image_rgb.shape[:2]
    video = lip_synth.encode_video(capture, None, "mp4", size=(w, h))
    status = run_h5(server, token, video, ".mp4", "frank")
    assert status["state"] == "finished", status
    text = detect_info(client, token, silent_rule).Text
    assert text.ErrCode == 0 and float(text.Sim) >= 70 and text.LivenessMode == 3
