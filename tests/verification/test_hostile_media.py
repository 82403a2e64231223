"""Hostile captures (issue 14), each row of the probe table that concerns media. Before:

- 150 frames and a made-up nonce were decoded before the nonce was checked (7.8 s, +1.7 GB a request);
- a JPEG header claiming 65000x65000 as a frame answered HTTP 500;
- half a JPEG with an end marker appended was accepted as a frame, the challenge spent, attempt 1 counted;
- a WebM of 1920x1080 frames was decoded at full size with no cap on resolution or length (4.3 GB);
- a 5 s video with a long sound track had the whole track decoded.

Sizes here are small (the bench, bench/abuse.py, sends the full-size attacks to a running service); what
is asserted is the order of the checks and the bounds, not time."""
from __future__ import annotations

import pytest

from capture_synth.hostile import bomb_header_jpeg, half_with_end_marker, static_webm
from wx_backend import db
from wx_backend.pipeline import intake
from wx_backend.verification.models import VerificationSession

from .conftest import grey_capture, make_rule, new_session


@pytest.fixture
def mp_light(svc, native_merchant):
    return new_session(svc, native_merchant, make_rule(svc, native_merchant, "miniprogram", "light"))


def _session(token: str) -> VerificationSession:
    with db.database.connection_context():
        return VerificationSession.get(VerificationSession.biz_token == token)


def _post(f, token, nonce, frames):
    return f.mp.post(f"/api/biz/{token}/frames", data={"nonce": nonce},
                     files=[("frames", (f"{int(t)}.jpg", data, "image/jpeg")) for t, data in frames])


def test_a_made_up_nonce_is_refused_before_any_frame_is_decoded(flow, mp_light):
    f = flow(mp_light)
    f.consent()
    f.challenge()
    # Frames no decoder could read: had they been decoded first, the answer would be about them.
    for frames in ([(i * 66.0, b"\xff\xd8\xff" + b"\x00" * 2000 + b"\xff\xd9") for i in range(150)],
                   [(0.0, bomb_header_jpeg())]):
        resp = _post(f, mp_light, "made-up-nonce", frames)
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "FailedOperation.ChallengeExpired"
    assert _session(mp_light).attempts_used == 0


@pytest.mark.parametrize("frame, status, code", [
    (bomb_header_jpeg(), 413, "FailedOperation.ImageSizeTooLarge"),          # before: HTTP 500
    ("half", 400, "FailedOperation.ImageDecodeFailed"),                   # before: accepted, attempt 1
])
def test_a_bad_frame_with_a_good_nonce_spends_nothing(flow, mp_light, frame, status, code):
    f = flow(mp_light)
    f.consent()
    ch = f.challenge()
    capture = grey_capture()
    if frame == "half":
        frames = [(t, half_with_end_marker(data)) for t, data in capture]
    else:
        frames = [(0.0, frame)] + capture[1:]
    resp = _post(f, mp_light, ch["nonce"], frames)
    assert resp.status_code == status and resp.json()["error"]["code"] == code
    assert _session(mp_light).attempts_used == 0
    assert f.send_frames(ch["nonce"], capture)["attempt"] == 1       # the challenge was not spent


def test_half_a_jpeg_with_an_end_marker_is_truncated_to_the_engine():
    from faceengine import IntakeLimits, MediaError, decode_jpeg_frame

    whole = grey_capture(100)[0][1]
    assert decode_jpeg_frame(whole, IntakeLimits()).shape == (480, 640, 3)
    with pytest.raises(MediaError) as err:
        decode_jpeg_frame(half_with_end_marker(whole), IntakeLimits())
    assert err.value.code == "ImageTruncated"


# -- recorded videos -----------------------------------------------------------------------------------
def _webm(size: tuple[int, int], fps: int, seconds: float, audio_s: int = 0) -> bytes:
    return static_webm(size, fps, seconds, audio_s=audio_s, bit_rate=50_000)


def test_a_1080p_video_is_kept_small_and_short_as_it_decodes():
    """40 s of 1920x1080 (before: every frame kept at full size, no length cap)."""
    video = _webm((1920, 1080), fps=2, seconds=40)
    capture = intake.read_capture(video, "silent")
    limits = intake.VIDEO_LIMITS
    assert all(f.image_rgb.shape[0] * f.image_rgb.shape[1] <= limits.max_kept_pixels for f in capture.frames)
    h, w = capture.frames[0].image_rgb.shape[:2]
    assert abs(w / h - 16 / 9) < 0.02                                   # scaled, not cropped
    assert capture.frames[-1].timestamp_ms <= limits.max_duration_ms
    assert len(capture.frames) <= limits.max_frames


def test_a_640x480_recording_is_kept_as_it_came():
    capture = intake.read_capture(_webm((640, 480), fps=15, seconds=2), "silent")
    assert capture.frames[0].image_rgb.shape == (480, 640, 3)


def test_a_short_video_with_a_long_sound_track_decodes_only_its_first_seconds():
    """5 s of video, 3 minutes of Opus (before: the whole track decoded; the bench sends an hour)."""
    capture = intake.read_capture(_webm((320, 240), fps=10, seconds=5, audio_s=180), "lip")
    assert capture.audio is not None
    assert capture.audio.duration_ms <= intake.VIDEO_LIMITS.max_audio_ms


def test_a_video_larger_than_4k_is_refused_before_its_frames_are_decoded(svc):
    from wx_backend.errors import Rejected

    huge = _webm((4096, 2400), fps=1, seconds=1)
    with pytest.raises(Rejected) as err:
        intake.video_upload(huge, svc.settings.max_video_bytes)
    assert err.value.result.tencent == "FailedOperation.LipSizeError"
    with pytest.raises(Rejected):
        intake.read_capture(huge, "silent")
