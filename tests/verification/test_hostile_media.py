"""Hostile captures (issue 14), each row of the probe table that concerns media. Before:

- 150 frames and a made-up nonce were decoded before the nonce was checked (7.8 s, +1.7 GB a request);
- a JPEG header claiming 65000x65000 as a frame answered HTTP 500;
- half a JPEG with an end marker appended was accepted as a frame, the challenge spent, attempt 1 counted;
- a WebM of 1920x1080 frames was decoded at full size with no cap on resolution or length (4.3 GB);
- a 5 s video with a long sound track had the whole track decoded.

Sizes here are small (the bench, bench/abuse.py, sends the full-size attacks to a running service); what
is asserted is the order of the checks and the bounds, not time."""
from __future__ import annotations

import io

import av
import numpy as np
import pytest

from miniprogram_stub.client import MiniProgramError
from wx_backend import db
from wx_backend.pipeline import intake
from wx_backend.verification.models import VerificationSession

from .conftest import grey_capture, jpeg, make_rule, new_session


@pytest.fixture
def mp_light(svc, native_merchant):
    return new_session(svc, native_merchant, make_rule(svc, native_merchant, "miniprogram", "light"))


def _session(token: str) -> VerificationSession:
    with db.database.connection_context():
        return VerificationSession.get(VerificationSession.biz_token == token)


def _post(f, token, nonce, frames):
    return f.mp.post(f"/api/biz/{token}/frames", data={"nonce": nonce},
                     files=[("frames", (f"{int(t)}.jpg", data, "image/jpeg")) for t, data in frames])


def bomb_header(width: int = 65000, height: int = 65000) -> bytes:
    """A small real JPEG whose SOF0 header claims ``width`` x ``height``."""
    data = bytearray(jpeg(np.full((16, 16, 3), 90, np.uint8)))
    i = data.index(b"\xff\xc0")
    data[i + 5:i + 7], data[i + 7:i + 9] = height.to_bytes(2, "big"), width.to_bytes(2, "big")
    return bytes(data)


def half_with_end_marker(data: bytes) -> bytes:
    return data[:len(data) // 2] + b"\xff\xd9"


def test_a_made_up_nonce_is_refused_before_any_frame_is_decoded(flow, mp_light):
    f = flow(mp_light)
    f.consent()
    f.challenge()
    # Frames no decoder could read: had they been decoded first, the answer would be about them.
    for frames in ([(i * 66.0, b"\xff\xd8\xff" + b"\x00" * 2000 + b"\xff\xd9") for i in range(150)],
                   [(0.0, bomb_header())]):
        resp = _post(f, mp_light, "made-up-nonce", frames)
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "FailedOperation.ChallengeExpired"
    assert _session(mp_light).attempts_used == 0


@pytest.mark.parametrize("frame, status, code", [
    (bomb_header(), 413, "FailedOperation.ImageSizeTooLarge"),          # before: HTTP 500
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
def _webm(size: tuple[int, int], fps: int, seconds: float, audio_s: float = 0.0) -> bytes:
    """A static picture of ``size`` (w, h) at ``fps`` for ``seconds`` (VP8), with ``audio_s`` of Opus."""
    w, h = size
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as c:
        v = c.add_stream("libvpx", rate=fps)
        v.width, v.height, v.pix_fmt, v.bit_rate = w, h, "yuv420p", 50_000
        v.options = {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0"}
        a = None
        if audio_s:
            a = c.add_stream("libopus", rate=8000)
            a.layout, a.bit_rate = "mono", 6000
        frame = av.VideoFrame.from_ndarray(np.full((h, w, 3), 120, np.uint8), format="rgb24").reformat(
            format="yuv420p")
        for i in range(int(fps * seconds)):
            frame.pts = i
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
        if a is not None:
            silence = np.zeros((1, 8000), np.int16)
            for sec in range(int(audio_s)):
                af = av.AudioFrame.from_ndarray(silence, format="s16", layout="mono")
                af.sample_rate, af.pts = 8000, sec * 8000
                for p in a.encode(af):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
    return buf.getvalue()


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
