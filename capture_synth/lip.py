"""Captures of a real face reading a code aloud (digit mode), for the session tests and bench/sessions.py.

The face is a real photo framed by capture_synth/liveness.Portrait. Each syllable opens the mouth:
the lower lip, chin and jaw are pulled down by a smooth landmark-anchored displacement (a jaw
drop) and the gap between the lips is filled with a dark mouth cavity, peaking ~0.3 mouth widths
open, as a person reading digits does. Small head motion, sensor noise and JPEG compression are
added per frame. The audio is NOT speech: voiced bursts (a 140 Hz harmonic stack) whose loudness
follows the mouth with a 40 ms lead; it exercises the audio-visual timing check only.
"""
from __future__ import annotations

import io
import random
import wave
from dataclasses import dataclass

import cv2
import numpy as np

from capture_synth.liveness import H, W, Portrait
from faceengine.liveness.challenge import LipChallenge
from faceengine.liveness.types import Frame

UPPER_INNER, LOWER_INNER, LEFT_CORNER, RIGHT_CORNER, CHIN = 13, 14, 61, 291, 152
AUDIO_RATE = 16000


@dataclass(frozen=True)
class Reading:
    """When each syllable peaks (ms from the challenge start) and how long the capture lasts."""

    peaks_ms: tuple[float, ...]
    duration_ms: float
    syllable_ms: float = 260.0

    @classmethod
    def of(cls, code: str, start_ms: float = 700.0, pace_ms: float = 520.0, tail_ms: float = 800.0,
           rng: random.Random | None = None) -> "Reading":
        rng = rng or random.Random(0)
        peaks = tuple(start_ms + i * pace_ms + rng.uniform(-40, 40) for i in range(len(code)))
        return cls(peaks, peaks[-1] + tail_ms)

    @classmethod
    def following(cls, challenge: dict, rng: random.Random | None = None,
                  latency_ms: float | None = None, jitter_ms: float = 80.0,
                  lead_ms: float = 40.0) -> "Reading":
        """A reading of a paced challenge (``{"code", "show_ms", ...}``): each digit's voice starts
        ``latency_ms`` (drawn from 400-800 ms when None: naming a digit that just appeared) plus
        SD ``jitter_ms`` after the digit appears, so its syllable peaks half a syllable and the
        voice's lead (``voiced_audio``'s ``lead_ms``) later; the capture lasts the challenge's
        duration. An unpaced challenge is read at an even pace from 700 ms."""
        rng = rng or random.Random(0)
        show = challenge.get("show_ms") or ()
        if not show:
            return cls.of(str(challenge["code"]), rng=rng, tail_ms=1000)
        lat = rng.uniform(400, 800) if latency_ms is None else latency_ms
        to_peak = cls.syllable_ms / 2 + lead_ms
        peaks = tuple(s + lat + to_peak + rng.gauss(0, jitter_ms) for s in show)
        end = challenge.get("duration_ms") or LipChallenge.from_json(challenge).duration_ms
        return cls(peaks, max(float(end), peaks[-1] + 300))

    @classmethod
    def running(cls, duration_ms: float, rng: random.Random) -> "Reading":
        """Running speech that follows no challenge: a syllable every 250-450 ms from 200-600 ms
        to the end (the voice of the digit mode's "unrelated speech" attack)."""
        peaks, t = [], rng.uniform(200, 600)
        while t < duration_ms - 200:
            peaks.append(t)
            t += rng.uniform(250, 450)
        return cls(tuple(peaks), duration_ms)

    def opening(self, t_ms: float) -> float:
        """0..1 mouth opening at t (raised-cosine pulse per syllable)."""
        half = self.syllable_ms / 2
        v = 0.0
        for p in self.peaks_ms:
            if abs(t_ms - p) < half:
                v = max(v, 0.5 * (1 + np.cos(np.pi * (t_ms - p) / half)))
        return v


def open_mouth(portrait: Portrait, amount: float) -> np.ndarray:
    """The portrait with its mouth opened by ``amount`` x mouth width (0 = as photographed)."""
    img = portrait.image
    if amount <= 0:
        return img.copy()
    xy = portrait.xy
    mw = float(np.linalg.norm(xy[RIGHT_CORNER, :2] - xy[LEFT_CORNER, :2]))
    xc = float((xy[LEFT_CORNER, 0] + xy[RIGHT_CORNER, 0]) / 2)
    yc = float((xy[UPPER_INNER, 1] + xy[LOWER_INNER, 1]) / 2)
    chin = float(xy[CHIN, 1])
    a = amount * mw
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    fx = np.exp(-((xs - xc) / (0.75 * mw)) ** 2)
    below = np.clip((ys - yc) / 2.0, 0, 1)                          # 0 above the lips' line
    fade = np.exp(-np.clip(ys - chin, 0, None) / (0.35 * (chin - yc) + 1e-3))  # neck moves less
    d = a * fx * below * fade
    moved = cv2.remap(img, xs, ys - d, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # The gap the jaw opened: dark mouth interior, an ellipse between the lips.
    cavity = np.zeros((H, W), np.float32)
    cv2.ellipse(cavity, (int(round(xc)), int(round(yc + a / 2))), (int(0.36 * mw), max(1, int(a / 2))),
                0, 0, 360, 1.0, -1)
    cavity = cv2.GaussianBlur(cavity, (0, 0), 1.5)[..., None]
    interior = np.array([55, 25, 28], np.float32)
    out = moved.astype(np.float32) * (1 - cavity) + interior * cavity
    return np.clip(out, 0, 255).astype(np.uint8)


def lip_capture(portrait: Portrait, reading: Reading, rng: random.Random, fps: float = 15.0,
                max_open: float = 0.32) -> list[Frame]:
    nrng = np.random.default_rng(rng.getrandbits(32))
    frames, t = [], 0.0
    shift, angle = np.zeros(2), 0.0
    while t <= reading.duration_ms:
        img = open_mouth(portrait, max_open * reading.opening(t)).astype(np.float32)
        shift += nrng.normal(0, 0.6, 2)
        angle += nrng.normal(0, 0.1)
        m = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
        m[:, 2] += shift
        img = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        img = np.clip(img + nrng.normal(0, 2.0, img.shape), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
        frames.append(Frame(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), round(t, 1)))
        t += 1000.0 / fps + rng.uniform(-3, 3)
    return frames


def voiced_audio(reading: Reading, rng: random.Random, lead_ms: float = 40.0,
                 shift_ms: float = 0.0) -> np.ndarray:
    """float32 mono at 16 kHz: voiced bursts following the mouth (``shift_ms`` moves them)."""
    n = int((reading.duration_ms + 200) * AUDIO_RATE / 1000)
    t = np.arange(n) / AUDIO_RATE * 1000.0
    env = np.array([reading.opening(x + lead_ms - shift_ms) for x in t[::16]])
    env = np.repeat(env, 16)[:n]
    f0 = 140.0 * (1 + 0.03 * np.sin(2 * np.pi * t / 900.0))
    phase = 2 * np.pi * np.cumsum(f0) / AUDIO_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    nrng = np.random.default_rng(rng.getrandbits(32))
    x = 0.25 * env * voice + 0.002 * nrng.normal(size=n)
    return x.astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int = AUDIO_RATE) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def webm_bytes(frames: list[Frame], audio: np.ndarray | None, fps: int = 15) -> bytes:
    """VP8 + Opus in WebM, as Chrome's / Android WeChat's MediaRecorder writes it."""
    return encode_video(frames, audio, "webm", fps)


def mp4_bytes(frames: list[Frame], audio: np.ndarray | None, fps: int = 15) -> bytes:
    """H.264 + AAC in MP4, as iOS WeChat's MediaRecorder writes it (and ~10x faster to make)."""
    return encode_video(frames, audio, "mp4", fps)


_CODECS = {
    # Realtime settings, as a browser encodes (libvpx's default "good" deadline is ~6x slower).
    "webm": ("libvpx", {"deadline": "realtime", "cpu-used": "8"}, "libopus", 48000),
    "mp4": ("libx264", {"preset": "ultrafast", "crf": "26"}, "aac", 48000),
}


def encode_video(frames: list[Frame], audio: np.ndarray | None, container_format: str, fps: int = 15,
                 size: tuple[int, int] = (W, H)) -> bytes:
    """Frames (all ``size`` = (width, height)) and optional 16 kHz mono audio in one container."""
    import av

    vcodec, voptions, acodec, arate = _CODECS[container_format]
    out = io.BytesIO()
    with av.open(out, mode="w", format=container_format) as container:
        vs = container.add_stream(vcodec, rate=fps, options=voptions)
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        if vcodec == "libvpx":
            vs.bit_rate = 1_500_000
        astream = None
        if audio is not None:
            astream = container.add_stream(acodec, rate=arate)
            astream.layout = "mono"
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f.image_rgb, format="rgb24")
            vf.pts = i
            for packet in vs.encode(vf):
                container.mux(packet)
        for packet in vs.encode():
            container.mux(packet)
        if astream is not None:
            pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
            resampler = av.AudioResampler(format=astream.format.name, layout="mono", rate=arate)
            step = 1600
            for start in range(0, len(pcm), step):
                af = av.AudioFrame.from_ndarray(pcm[None, start:start + step], format="s16", layout="mono")
                af.sample_rate = AUDIO_RATE
                af.pts = start
                for rf in resampler.resample(af):
                    for packet in astream.encode(rf):
                        container.mux(packet)
            for rf in resampler.resample(None):
                for packet in astream.encode(rf):
                    container.mux(packet)
            for packet in astream.encode(None):
                container.mux(packet)
    return out.getvalue()
