"""Paced digit readings built from REAL talking heads (the GRID clips in ../shared/facedata).

A GRID clip is one person reading a six-word sentence after a short silence; every sentence
starts with a one-syllable word ("bin", "lay", "place", "set"). Cut out of the clip: the first
word (real lips and real voice, from 250 ms before its voice onset to 350 ms after) and the
silence before it (the mouth at rest, the room's own noise). A paced reading of a challenge is
the rest footage with that word played once per digit, its voice onset ``latency`` (+ jitter)
after the digit appears: a real mouth and a real voice at a real audio/video offset, on the
challenge's timing.

What it is not: the same word four times (the real audio/video offset therefore varies only by
the frame phase), cut into the rest footage (a jump of a few pixels at each cut), and English
syllables rather than Chinese digits.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceengine.liveness.capture import AUDIO_RATE, Audio, read_video, read_video_audio
from faceengine.liveness.challenge import LipChallenge
from faceengine.liveness.lip import PacedOptions, speech_segments
from faceengine.liveness.speech import envelope
from faceengine.liveness.types import Frame

BEFORE_MS, AFTER_MS = 250.0, 350.0   # the first word's cut around its voice onset
FADE_MS = 20.0


@dataclass(frozen=True)
class GridClip:
    frames: list[Frame]        # the whole clip at its own rate (25 fps)
    audio: Audio
    onset_ms: float            # voice onset of the sentence's first word
    times: np.ndarray          # the frames' timestamps (ms)

    @classmethod
    def load(cls, path: Path) -> "GridClip":
        frames = read_video(path, max_fps=30.0)
        audio = read_video_audio(path)
        if audio is None:
            raise ValueError(f"{path.name} has no sound track")
        segments = speech_segments(envelope(audio), PacedOptions())
        if not segments or segments[0][0] < BEFORE_MS + 200.0:
            raise ValueError(f"{path.name}: no silence before the first word")
        return cls(frames, audio, segments[0][0], np.array([f.timestamp_ms for f in frames]))

    def _frame_at(self, t_ms: float) -> Frame:
        return self.frames[int(np.argmin(np.abs(self.times - t_ms)))]

    def _audio_span(self, start_ms: float, end_ms: float) -> np.ndarray:
        a, b = (int(round(x * AUDIO_RATE / 1000.0)) for x in (start_ms, end_ms))
        return self.audio.samples[max(0, a):max(0, b)]


def _ping_pong(t_ms: float, length_ms: float) -> float:
    """t folded into 0..length back and forth (rest footage played forwards, then backwards)."""
    u = t_ms % (2 * length_ms)
    return u if u <= length_ms else 2 * length_ms - u


def paced_reading(clip: GridClip, challenge: LipChallenge, rng: random.Random,
                  latency_ms: float | None = None, jitter_ms: float = 80.0,
                  fps: float = 15.0) -> tuple[list[Frame], Audio]:
    """Frames (``fps``, timed from the challenge start) and 16 kHz audio of ``clip``'s speaker
    reading each digit of ``challenge`` when it appears (see the module docstring)."""
    lat = rng.uniform(450, 800) if latency_ms is None else latency_ms
    word_at = [s + lat + rng.gauss(0, jitter_ms) for s in challenge.show_ms]   # voice onsets
    duration = float(challenge.duration_ms)
    rest_ms = clip.onset_ms - BEFORE_MS - 50.0      # rest footage: 0 .. rest_ms
    frames, t = [], 0.0
    while t <= duration:
        inside = [w for w in word_at if w - BEFORE_MS <= t < w + AFTER_MS]
        src = clip.onset_ms + (t - inside[0]) if inside else _ping_pong(t, rest_ms)
        frames.append(Frame(clip._frame_at(src).image_rgb, round(t, 1)))
        t += 1000.0 / fps
    n = int(duration * AUDIO_RATE / 1000.0)
    rest = clip._audio_span(0.0, rest_ms)
    idx = np.arange(n) % (2 * len(rest))
    audio = rest[np.where(idx < len(rest), idx, 2 * len(rest) - 1 - idx)].astype(np.float32)
    word = clip._audio_span(clip.onset_ms - BEFORE_MS, clip.onset_ms + AFTER_MS).copy()
    fade = int(FADE_MS * AUDIO_RATE / 1000.0)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    for w in word_at:
        a = int(round((w - BEFORE_MS) * AUDIO_RATE / 1000.0))
        seg = word[:max(0, min(len(word), n - a))]
        if a < 0 or not len(seg):
            continue
        mix = np.ones(len(seg), np.float32)
        k = min(fade, len(seg) // 2)
        mix[:k], mix[len(seg) - k:] = ramp[:k], ramp[:k][::-1]
        audio[a:a + len(seg)] = mix * seg + (1 - mix) * audio[a:a + len(seg)]
    return frames, Audio(audio)


def sentence_audio(clip: GridClip, duration_ms: float, offset_ms: float = 0.0) -> Audio:
    """The clip's own whole sentence (continuous speech) placed ``offset_ms`` into a track of
    ``duration_ms``, over the clip's room noise: unrelated speech to play against other lips."""
    n = int(duration_ms * AUDIO_RATE / 1000.0)
    rest = clip._audio_span(0.0, clip.onset_ms - BEFORE_MS)
    out = np.resize(rest, n).astype(np.float32)
    a = int(offset_ms * AUDIO_RATE / 1000.0)
    src = clip.audio.samples[: max(0, n - a)]
    out[a:a + len(src)] = src
    return Audio(out)
