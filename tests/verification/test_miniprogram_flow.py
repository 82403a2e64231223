"""End to end through miniprogram_stub: a whitelisted merchant creates a session with the official
SDK, the mini-program client logs in via the WeChat emulator, fetches the challenge, sends the
capture's frames and reads the verdict; the merchant pulls the result with GetDetectInfoEnhanced.

Captures are built from a real photo with the liveness engineer's synthesis (capture_synth/liveness):
the screen's colours reflected by the face with physically plausible strength, camera gain and
white-balance jitter, noise, head motion and JPEG compression.
"""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from tencentcloud.faceid.v20180301 import models as m

from capture_synth import lip as talking
from capture_synth import liveness as synth
from faceengine.detect import FaceMesher
from faceengine.liveness.challenge import PALETTE, LightChallenge
from wx_backend import db
from wx_backend.billing.models import Charge

from .conftest import jpeg, make_merchant, make_rule
from .test_cloud_actions import NATIVE_KEYS, detect_auth, detect_info, sdk


@pytest.fixture
def merchant_mp(svc, enrolled):
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    return merchant, make_rule(svc, merchant, "miniprogram", "light")


def light_frames(portrait, shown: LightChallenge, seed: int) -> list[tuple[float, bytes]]:
    rng = random.Random(seed)
    frames = synth.light_capture([portrait], shown, synth.genuine_light_params(rng), rng)
    return [(f.timestamp_ms, jpeg(f.image_rgb, 88)) for f in frames]


def _charges() -> int:
    with db.database.connection_context():
        return Charge.select().count()


def test_mini_program_light_session_passes_and_is_pulled(server, merchant_mp, flow, grace_portrait):
    _, rule = merchant_mp
    client = sdk(server, NATIVE_KEYS)
    token = detect_auth(client, rule).BizToken

    f = flow(token)
    f.consent()
    ch = f.challenge()
    assert ch["mode"] == "light"
    result = f.send_frames(ch["nonce"], light_frames(grace_portrait, LightChallenge.from_json(ch["challenge"]), 7))
    assert result["passed"] is True, result
    assert result["code"] == "Success" and result["finished"] is True
    assert result["redirect"] == f"https://m.example.com/back?x=1&token={token}"
    assert f.status()["state"] == "finished"

    info = detect_info(client, token, rule)
    text = info.Text
    assert text.ErrCode == 0 and text.LiveStatus == 0 and text.Comparestatus == 0
    assert float(text.Sim) >= 70
    assert text.LivenessMode == 4 and text.Extra == "order-42"
    [detail] = text.LivenessDetail
    assert detail.IsNeedCharge is True and detail.Errcode == 0
    assert info.BestFrame.BestFrame and len(info.BestFrame.BestFrame) > 1000
    assert _charges() == 1
    # a finished token takes nothing more
    with pytest.raises(Exception) as err:
        f.challenge()
    assert err.value.body["error"]["saas_code"] == 14


def test_a_capture_made_for_another_colour_sequence_fails(server, merchant_mp, flow, grace_portrait):
    _, rule = merchant_mp
    client = sdk(server, NATIVE_KEYS)
    token = detect_auth(client, rule).BizToken
    f = flow(token)
    f.consent()
    ch = f.challenge()
    issued = LightChallenge.from_json(ch["challenge"])
    # Recorded for another session: a colour sequence that differs from the issued one in every slot.
    rng = random.Random(99)
    colours: list[str] = []
    for shown in issued.colors:
        colours.append(rng.choice([c for c in PALETTE if c != shown and (not colours or c != colours[-1])]))
    other = LightChallenge(tuple(colours), issued.slot_ms)
    replay = other
    result = f.send_frames(ch["nonce"], light_frames(grace_portrait, replay, 11))
    assert result["passed"] is False
    assert result["code"] == "FailedOperation.LivessDetectFake"
    assert result["attempts_left"] == 2 and result["finished"] is False
    text = detect_info(client, token, rule).Text
    assert text.ErrCode == 1002 and text.Sim is None
    assert [d.IsNeedCharge for d in text.LivenessDetail] == [False]
    assert _charges() == 0


@pytest.fixture
def merchant_lip(svc, enrolled):
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    return merchant, make_rule(svc, merchant, "miniprogram", "lip")


def lip_upload(portrait, challenge: dict, seed: int, voice: str = "own"):
    """A real face reading the issued (paced) digits as each appears, with a WAV: ``own`` follows
    the mouth, ``running`` is unrelated running speech (``Reading.running``), ``none``
    sends no audio."""
    rng = random.Random(seed)
    reading = talking.Reading.following(challenge, rng)
    frames = talking.lip_capture(portrait, reading, rng)
    audio = None
    if voice == "own":
        audio = talking.wav_bytes(talking.voiced_audio(reading, rng))
    elif voice == "running":
        audio = talking.wav_bytes(talking.voiced_audio(talking.Reading.running(reading.duration_ms, rng), rng))
    return [(f.timestamp_ms, jpeg(f.image_rgb, 88)) for f in frames], audio


def test_mini_program_digit_session_passes_with_audio(server, merchant_lip, flow, grace_portrait):
    _, rule = merchant_lip
    client = sdk(server, NATIVE_KEYS)
    token = detect_auth(client, rule).BizToken
    f = flow(token)
    f.consent()
    ch = f.challenge()
    assert ch["mode"] == "lip" and len(ch["challenge"]["code"]) == 4
    show = ch["challenge"]["show_ms"]             # paced: each digit appears alone at its moment
    assert len(show) == 4 and show == sorted(show) and ch["challenge"]["duration_ms"] > show[-1]
    frames, wav = lip_upload(grace_portrait, ch["challenge"], 3)
    result = f.send_frames(ch["nonce"], frames, audio_wav=wav)
    assert result["passed"] is True, result
    text = detect_info(client, token, rule).Text
    assert text.ErrCode == 0 and float(text.Sim) >= 70 and text.LivenessMode == 1
    assert _charges() == 1


@pytest.mark.parametrize("voice", ["running", "none"])
def test_digit_capture_without_a_reading_voice_fails(server, merchant_lip, flow, grace_portrait, voice):
    """The lips read the digits at their pace; the sound is unrelated running speech, or absent."""
    _, rule = merchant_lip
    token = detect_auth(sdk(server, NATIVE_KEYS), rule).BizToken
    f = flow(token)
    f.consent()
    ch = f.challenge()
    frames, wav = lip_upload(grace_portrait, ch["challenge"], 4, voice=voice)
    result = f.send_frames(ch["nonce"], frames, audio_wav=wav)
    assert result["passed"] is False and result["code"] == "FailedOperation.LipVoiceFail"
    assert _charges() == 0


def test_a_capture_spliced_from_two_people_fails(server, merchant_mp, flow, grace_portrait, astronaut_rgb):
    """The light sequence is right, but the face changes halfway (eyes aligned: the hardest splice)."""
    mesher = FaceMesher(max_faces=1, static=True)
    try:
        other = synth.Portrait.from_photo(astronaut_rgb, mesher).aligned_to(grace_portrait)
    finally:
        mesher.close()
    _, rule = merchant_mp
    token = detect_auth(sdk(server, NATIVE_KEYS), rule).BizToken
    f = flow(token)
    f.consent()
    ch = f.challenge()
    rng = random.Random(5)
    frames = synth.light_capture([grace_portrait, other], LightChallenge.from_json(ch["challenge"]),
                                 synth.genuine_light_params(rng), rng)
    result = f.send_frames(ch["nonce"], [(fr.timestamp_ms, jpeg(fr.image_rgb, 88)) for fr in frames])
    assert result["passed"] is False and result["code"] == "FailedOperation.LivessDetectFake"
    assert _charges() == 0


def test_engine_identity_tells_people_apart(face_engine, grace_rgb, astronaut_rgb):
    from faceengine import EngineIdentity

    identity = EngineIdentity(face_engine)

    def desc(rgb):
        box = face_engine.detect(rgb)[0]
        return identity.descriptor(rgb, (box.x, box.y, box.w, box.h))

    grace, astronaut = desc(grace_rgb), desc(astronaut_rgb)
    flipped = desc(np.ascontiguousarray(grace_rgb[:, ::-1]))
    assert identity.same_person(grace, flipped)
    assert not identity.same_person(grace, astronaut)


def test_merchant_photo_of_someone_else_gives_low_similarity_and_is_charged(server, merchant_mp, flow,
                                                                            grace_portrait, astronaut_rgb):
    """DetectAuth with ImageBase64: the capture is compared with the merchant's photo, not the registry."""
    import base64
    _, rule = merchant_mp
    client = sdk(server, NATIVE_KEYS)
    req = m.DetectAuthRequest()
    req.from_json_string(json.dumps({"RuleId": rule, "ImageBase64": base64.b64encode(jpeg(astronaut_rgb, 90)).decode(),
                                     "RedirectUrl": "https://m.example.com/back"}))
    token = client.DetectAuth(req).BizToken
    f = flow(token)
    f.consent()
    ch = f.challenge()
    result = f.send_frames(ch["nonce"], light_frames(grace_portrait, LightChallenge.from_json(ch["challenge"]), 8))
    assert result["passed"] is False and result["code"] == "FailedOperation.CompareLowSimilarity"
    text = detect_info(client, token, rule).Text
    assert text.LiveStatus == 0 and text.Comparestatus == 2016 and float(text.Sim) < 70
    assert text.CompareLibType == "业务方自有" and text.IdCard is None
    assert [d.IsNeedCharge for d in text.LivenessDetail] == [True]
    assert _charges() == 1
