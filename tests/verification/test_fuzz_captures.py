"""Fuzzing the capture parsers (issue 14): the frames multipart through the served session API, and the
pipeline's readers of WAV uploads and recorded video containers. Every outcome is a documented code
(``Rejected`` / an error body from the one table), never an exception of another kind or an HTTP 500;
a refused upload spends no attempt and no challenge."""
from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wx_backend import db
from wx_backend.errors import Rejected
from wx_backend.pipeline import intake
from wx_backend.pipeline.challenge import has_session, issue_session
from wx_backend.result_codes import lookup
from wx_backend.verification.models import VerificationSession

from ..fuzzing import fuzz_settings, hostile_text
from .conftest import jpeg, make_rule, new_session

pytestmark = pytest.mark.fuzz


# -- WAV -----------------------------------------------------------------------------------------
def _wav(channels: int, width: int, rate: int, frames: bytes) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


def _forged_header(data: bytes, field: str, value: int) -> bytes:
    """A WAV whose header says something its data does not (offsets of the canonical 44-byte header)."""
    offsets = {"channels": (22, "<H"), "rate": (24, "<I"), "width": (34, "<H"), "data_size": (40, "<I")}
    at, fmt = offsets[field]
    out = bytearray(data)
    if len(out) >= at + struct.calcsize(fmt):
        out[at:at + struct.calcsize(fmt)] = struct.pack(fmt, value % (2 ** (8 * struct.calcsize(fmt))))
    return bytes(out)


_wavs = st.one_of(
    st.builds(_wav, st.integers(1, 4), st.sampled_from([1, 2, 3, 4]),
              st.sampled_from([1, 8, 100, 8000, 16000, 44100, 48000, 96000, 384000]),
              st.binary(max_size=4000)),
    st.builds(_forged_header,
              st.builds(_wav, st.just(1), st.just(2), st.just(16000), st.binary(min_size=2, max_size=2000)),
              st.sampled_from(["channels", "rate", "width", "data_size"]), st.integers(0, 2 ** 32 - 1)),
    st.binary(max_size=600),
    st.binary(max_size=600).map(lambda b: b"RIFF" + b[:4] + b"WAVE" + b[4:]),
)


@given(data=_wavs)
@fuzz_settings("wav")
def test_any_wav_upload_is_read_or_refused_with_a_documented_code(data):
    try:
        audio = intake.read_audio(data)
    except Rejected as refused:
        assert lookup(refused.result.tencent).kind.value == "bad_input"
        return
    # What is read is bounded: at most the upload's length of sound, at 16 kHz.
    assert audio.duration_ms <= intake.MAX_AUDIO_MS
    assert np.isfinite(audio.samples).all()


# -- video containers ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seed_videos() -> list[bytes]:
    import av

    out = []
    for fmt, codec in (("webm", "libvpx"), ("mp4", "libx264")):
        buf = io.BytesIO()
        with av.open(buf, "w", format=fmt) as c:
            s = c.add_stream(codec, rate=10)
            s.width, s.height, s.pix_fmt = 160, 120, "yuv420p"
            for i in range(10):
                f = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 20 * i, np.uint8), format="rgb24")
                for p in s.encode(f):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
        out.append(buf.getvalue())
    return out


def _mutate(seed: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(seed)
    for at, value in edits:
        out[at % len(out)] = value
    return bytes(out[:cut] if cut else out)


@given(which=st.integers(0, 1), edits=st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)),
                                                max_size=12),
       cut=st.one_of(st.none(), st.integers(1, 4000)), mode=st.sampled_from(["silent", "lip", "action"]),
       raw=st.one_of(st.none(), st.binary(max_size=300).map(lambda b: b"\x1a\x45\xdf\xa3" + b),
                     st.binary(max_size=300).map(lambda b: b"\x00\x00\x00\x18ftypmp42" + b)))
@fuzz_settings("video_container")
def test_any_video_is_read_within_bounds_or_refused(seed_videos, which, edits, cut, mode, raw):
    data = raw if raw is not None else _mutate(seed_videos[which], edits, cut)
    try:
        video = intake.video_upload(data, 8 * 1024 * 1024)
        capture = intake.read_capture(video.data, mode)
    except Rejected as refused:
        assert refused.result.kind.value == "bad_input", refused.result
        return
    limits = intake.VIDEO_LIMITS
    assert 0 < len(capture.frames) <= limits.max_frames
    assert all(f.image_rgb.shape[0] * f.image_rgb.shape[1] <= limits.max_kept_pixels for f in capture.frames)


# -- the frames multipart, through the served API -----------------------------------------------------
@pytest.fixture
def fresh_session(svc, native_merchant, flow):
    rule = make_rule(svc, native_merchant, "miniprogram", "light")

    def make():
        token = new_session(svc, native_merchant, rule)
        f = flow(token, user="fuzzer")
        f.consent()
        with db.database.connection_context():
            session = VerificationSession.get(VerificationSession.biz_token == token)
            nonce = issue_session(svc.challenges, session.id, "light", svc.clock.now()).nonce
        return f, session.id, nonce
    return make


_grey = jpeg(np.full((48, 64, 3), 128, np.uint8))
_parts = st.lists(st.tuples(
    st.sampled_from(["frames", "frames", "frames", "audio", "nonce", "other"]),
    st.one_of(st.integers(-100, 30_000).map(lambda t: f"{t}.jpg"), hostile_text.map(lambda t: t[:40]),
              st.sampled_from(["1e3.jpg", "nan.jpg", "inf.jpg", "0x10.jpg", ".jpg", "1.5.jpg", "１２.jpg"])),
    st.one_of(st.just(_grey), st.just(_grey[:len(_grey) // 2] + b"\xff\xd9"), st.binary(max_size=300),
              st.binary(max_size=200).map(lambda b: b"\xff\xd8\xff" + b + b"\xff\xd9"),
              st.binary(max_size=200).map(lambda b: b"RIFF" + b))), max_size=8)


@given(parts=_parts, own_nonce=st.booleans())
@fuzz_settings("frames_multipart")
def test_any_frames_upload_gets_a_documented_answer(fresh_session, svc, parts, own_nonce):
    f, session_id, nonce = fresh_session()
    files = [(field, (name.encode("utf-8", "surrogatepass").decode("latin-1"), data, "image/jpeg"))
             for field, name, data in parts if field != "other"]
    resp = f.mp.post(f"/api/biz/{f.biz_token}/frames", data={"nonce": nonce if own_nonce else "made-up"},
                     files=files or None)
    body = resp.json()
    assert resp.status_code != 500 and body, resp.text[:200]
    if resp.status_code == 200:                      # a verdict: the attempt counted, the challenge spent
        assert lookup(body["code"]).kind.value == "verdict"
        return
    code = lookup(body["error"]["code"])
    assert code.http_status == resp.status_code
    with db.database.connection_context():
        assert VerificationSession.get_by_id(session_id).attempts_used == 0
        assert has_session(svc.challenges, session_id, "light", nonce, svc.clock.now())
