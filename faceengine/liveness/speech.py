"""Speech activity in an audio track: a short-time energy envelope and voiced segments.

Speech energy comes in syllable bursts at 3-6 Hz; a 25 ms window every 10 ms resolves that.
Levels are relative to the track's own noise floor so that microphone gain does not matter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .capture import Audio

HOP_MS, WIN_MS = 10.0, 25.0


@dataclass(frozen=True)
class Envelope:
    """Energy in dB above the noise floor (>= 0), one value per ``HOP_MS`` from ``start_ms``."""

    db: np.ndarray
    start_ms: float

    def times_ms(self) -> np.ndarray:
        return self.start_ms + HOP_MS * np.arange(len(self.db)) + WIN_MS / 2

    def at(self, t_ms: np.ndarray) -> np.ndarray:
        return np.interp(t_ms, self.times_ms(), self.db, left=0.0, right=0.0)


def envelope(audio: Audio) -> Envelope:
    x = audio.samples.astype(np.float64)
    hop, win = int(audio.rate * HOP_MS / 1000), int(audio.rate * WIN_MS / 1000)
    if len(x) < win:
        return Envelope(np.zeros(0), audio.start_ms)
    n = 1 + (len(x) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    frames = x[idx] - x[idx].mean(axis=1, keepdims=True)
    db = 10.0 * np.log10((frames ** 2).mean(axis=1) + 1e-10)
    floor = np.percentile(db, 10)
    return Envelope(np.maximum(db - floor, 0.0), audio.start_ms)


def speech_mask(env: Envelope, above_floor_db: float = 12.0) -> np.ndarray:
    """Hops that are speech: well above the floor (voiced syllables are 15-40 dB above room noise)."""
    return env.db >= above_floor_db


class SpeechRecogniser(Protocol):
    """Optional plug-in that hears the digits read aloud (e.g. a local ASR model)."""

    def digits(self, audio: Audio) -> str:
        """The digits spoken in the audio, in order, as a string ("" when none were heard)."""
