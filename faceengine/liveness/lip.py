"""Digit (LIP): the user reads a one-time code aloud.

Video: the inner-lip gap over mouth width rises and falls once per syllable (each Chinese digit
is one syllable), so the check counts openings that stand out of this capture's own mesh jitter,
and requires the outer lips to rise too (the inner-lip points can snap shut on soft images).

Audio, paced challenge (each digit appears alone at a random moment; what the pages issue): each
digit's speech must start shortly after it appeared, one syllable per digit, at a steady latency,
with the mouth moving at each syllable (``paced_timing``). Speech not produced in answer to those
moments fails.

Audio, unpaced challenge (the whole code at once; the Cloud API): there must be speech, and the
syllable-level changes of loudness must follow the changes of mouth opening (correlation of their
frame-to-frame differences at a small audio/video offset). Speech of a similar rhythm recorded
for the same span passes that about half the time in the bench.

An optional ``SpeechRecogniser`` checks the digits. Limits: docs/liveness.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import find_peaks

from ..detect import FaceMesher
from . import geometry as g
from .capture import Audio
from .challenge import LipChallenge
from .gate import track_or_fail
from .identity import FaceIdentity
from .speech import Envelope, SpeechRecogniser, envelope, speech_mask
from .track import TrackOptions
from .types import Code, Frame, LivenessResult


@dataclass(frozen=True)
class PacedOptions:
    """Timing rules of a paced challenge (each digit appears alone at a random moment).

    From what reading aloud is, not from the bench: the voice starts ~0.3-1 s after a digit
    appears; one person's latency varies by SD ~60-90 ms from digit to digit (naming a single
    digit), and the first sound of the digits (a vowel, "s", "q", "b") moves the measured onset
    by up to ~100 ms more. For four digits the range of the latencies then stays under 400 ms in
    ~99% of readings (SD 90 ms: 4.4 SD). A Chinese digit is one syllable of ~150-500 ms.
    """

    min_latency_ms: float = 200.0      # faster than this the moment was guessed, not seen
    max_latency_ms: float = 1500.0
    max_latency_spread_ms: float = 400.0   # max - min of the digits' latencies
    max_syllable_ms: float = 900.0     # one digit's run of speech
    max_stray_speech_ms: float = 300.0     # speech that belongs to no digit (a cough, "嗯")
    merge_gap_ms: float = 100.0        # voicing dips shorter than this stay inside a syllable
    min_segment_ms: float = 60.0       # clicks and taps are shorter
    below_loudest_db: float = 20.0     # speech runs reach within this of the capture's loudest
    # The mouth moves with each syllable, from a little before the voice to a few hundred ms
    # after; as in the count of openings, one digit may barely move it (一, 四, 七 are spread-lip
    # vowels). Movement, not opening: real speakers may rest with the mouth open and close it to
    # speak (GRID lbbc2a), or open it to breathe ~350 ms before the voice (GRID lrwp9a).
    av_window_ms: tuple[float, float] = (-200.0, 500.0)
    mouthless_digits: int = 1


@dataclass(frozen=True)
class LipOptions:
    track: TrackOptions = field(default_factory=TrackOptions)
    # An opening must rise above the closings around it by at least ``min_prominence`` (gap /
    # mouth width: 2.5 mm on a 50 mm mouth) and by ``noise_k`` times this capture's own mesh
    # jitter (see ``mouth_noise``). The mesh's jitter on a still mouth differs a lot between
    # faces (0.001 to 0.03, with single-frame snaps of the lips on blurred photos), so a fixed
    # prominence either misses small mouths or counts jitter as speech.
    min_prominence: float = 0.05
    noise_k: float = 3.5
    min_gap_ms: float = 150.0          # syllables are >= ~150 ms apart even in fast reading
    missing_syllables: int = 1         # two quick digits may merge into one opening
    # The mesh's inner-lip points can snap shut for single frames on soft images (a still photo
    # then shows "openings" between the snaps), the outer lip contour does not. Reading also
    # moves the outer lips (the jaw drops): at least this share of the code's syllables must
    # show as rises of the outer lip height by the same noise rule. Measured: >= 2 of 6-8
    # syllables on every GRID clip, >= 3 on talking LivePortrait clips; 0 on animated stills.
    min_outer_share: float = 0.5
    min_speech_ms: float = 400.0       # four syllables of >= 100 ms voicing
    # Audio/video offsets searched (audio time - video time). The mouth moves before the sound
    # it shapes, and a recorder adds a few tens of ms either way; on GRID split A the best lag
    # of own audio was -20..+50 ms. A wider window only gives unrelated speech more chances to
    # line up by accident (split A, other speakers' audio accepted at 0.3: 67% over +-120 ms,
    # 47% over -40..+120 ms).
    min_av_lag_ms: float = -40.0
    max_av_lag_ms: float = 120.0
    # Threshold on the correlation of frame-to-frame changes of mouth opening and loudness.
    # On GRID split A (bench/liveness.py --calibrate-lip) own audio scored 0.33-0.64 and other
    # speakers' audio -0.10-0.56: 0.3 is the highest value that rejects no own-audio clip. It
    # stops silence, unrelated timing and noise, not similar-rhythm speech (docs/liveness.md).
    min_av_correlation: float = 0.3
    paced: PacedOptions = field(default_factory=PacedOptions)
    # Fail a capture without audio (LipVoiceFail) instead of checking the lips alone: without
    # the voice nothing ties the lips' movement to this challenge.
    require_audio: bool = False

    @property
    def max_av_offset_ms(self) -> float:
        """Largest audio/video offset searched, either way (kept for older callers)."""
        return max(abs(self.min_av_lag_ms), abs(self.max_av_lag_ms))


def speech_segments(env, options: PacedOptions) -> list[tuple[float, float]]:
    """(start_ms, end_ms) of speech runs on the capture clock, short dips merged, clicks dropped."""
    # A syllable's vowel is the loudest thing in a reading; breaths, lip smacks and a compressed
    # recording's noise bursts reach 12 dB over the floor but stay >= 20 dB under the vowels.
    # Loudness over 50 ms (power averaged over 5 hops): in background noise a syllable's 25 ms
    # frames dip under the threshold now and then and would break it into runs.
    if len(env.db) == 0:          # under one 25 ms window of audio
        return []
    power = np.convolve(10.0 ** (env.db / 10.0), np.ones(5) / 5.0, mode="same")
    smooth = Envelope(10.0 * np.log10(np.maximum(power, 1.0)), env.start_ms)
    loud = float(np.percentile(smooth.db, 98))
    mask = speech_mask(smooth, max(12.0, loud - options.below_loudest_db))
    times = env.times_ms()
    runs, start = [], None
    for i, on in enumerate(mask):
        if on and start is None:
            start = i
        if (not on or i == len(mask) - 1) and start is not None:
            end = i if on else i - 1
            runs.append([float(times[start]), float(times[end])])
            start = None
    merged: list[list[float]] = []
    for r in runs:
        if merged and r[0] - merged[-1][1] < options.merge_gap_ms:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    return [(a, b) for a, b in merged if b - a >= options.min_segment_ms]


def paced_timing(ts: np.ndarray, op: np.ndarray, threshold: float, challenge: LipChallenge,
                 audio: Audio, options: PacedOptions) -> tuple[str, dict]:
    """Why the capture does not follow the challenge's pacing ("" when it does), and measures.

    With audio: each digit's speech must start within its latency window after the digit
    appeared, in one syllable-long run, with about the same latency for every digit and little
    speech belonging to no digit; and the mouth must move with the syllables. ``op``: the mouth
    opening per frame at ``ts``; ``threshold``: the least change that is movement
    (``opening_threshold``). Without audio the pacing is not checked (verify_lip): the mouth's
    jitter makes its openings a poor clock on their own, and the services require the audio.
    """
    show = np.asarray(challenge.show_ms, float)
    n = len(show)
    segments = speech_segments(envelope(audio), options)
    onsets, latencies, lengths, taken = [], [], [], set()
    for s in show:
        k = next((i for i, (a, _) in enumerate(segments) if i not in taken
                  and s + options.min_latency_ms <= a <= s + options.max_latency_ms), None)
        if k is None:
            break
        taken.add(k)
        onsets.append(segments[k][0])
        latencies.append(segments[k][0] - s)
        lengths.append(segments[k][1] - segments[k][0])
    stray = sum(b - a for i, (a, b) in enumerate(segments) if i not in taken)
    metrics = {"voiced_digits": len(onsets), "stray_speech_ms": round(stray, 1),
               "latency_spread_ms": round(float(np.ptp(latencies)), 1) if latencies else None,
               "longest_syllable_ms": round(max(lengths), 1) if lengths else None}
    if len(onsets) < n:
        return f"speech began after {len(onsets)} of {n} digits appeared", metrics
    if max(lengths) > options.max_syllable_ms:
        return "the speech is not one syllable per digit", metrics
    if stray > options.max_stray_speech_ms:
        return "speech outside the digits' reading times", metrics
    if np.ptp(latencies) > options.max_latency_spread_ms:
        return "the speech does not follow the pace the digits appeared", metrics
    # The mouth: it moves (its opening changes by the capture's opening threshold) around each
    # voice onset.
    lo, hi = options.av_window_ms
    with_mouth = 0
    for o in onsets:
        near = op[(ts >= o + lo) & (ts <= o + hi)]
        with_mouth += len(near) > 1 and float(np.ptp(near)) >= threshold
    metrics["mouth_with_voice"] = with_mouth
    if with_mouth < n - options.mouthless_digits:
        return f"the mouth opened with {with_mouth} of {n} spoken digits", metrics
    return "", metrics

def mouth_series(frames_face) -> tuple[np.ndarray, np.ndarray]:
    ts = np.array([o.timestamp_ms for o in frames_face])
    op = np.array([g.mouth_opening(o.xy) for o in frames_face])
    return ts, op


def lip_height_series(frames_face) -> np.ndarray:
    return np.array([g.lip_height(o.xy) for o in frames_face])


def mouth_noise(op: np.ndarray) -> float:
    """Robust standard deviation of the mesh's frame-to-frame jitter of ``op``.

    For white noise of deviation s, |op[i+1] - op[i]| has its 25th percentile at 0.45 s, so
    s ~ 2.2 x that percentile. The low percentile ignores the frames where the mouth really
    moves: even a fast reader holds the mouth still (closed or open) for a quarter of the frames.
    """
    if len(op) < 3:
        return 0.0
    return 2.2 * float(np.percentile(np.abs(np.diff(op)), 25))


def opening_threshold(op: np.ndarray, options: LipOptions) -> float:
    return max(options.min_prominence, options.noise_k * mouth_noise(op))


def count_openings(ts: np.ndarray, op: np.ndarray, options: LipOptions) -> tuple[int, np.ndarray]:
    """Number of syllable-like openings and their frame indices."""
    if len(op) < 3:
        return 0, np.zeros(0, int)
    # No smoothing: at 15 fps a syllable's opening is one or two frames wide.
    dt = float(np.median(np.diff(ts))) if len(ts) > 1 else 66.7
    peaks, _ = find_peaks(op, prominence=opening_threshold(op, options),
                          distance=max(1, int(round(options.min_gap_ms / max(dt, 1.0)))))
    return len(peaks), peaks


def av_sync(ts: np.ndarray, op: np.ndarray, audio: Audio,
            options: LipOptions) -> dict:
    """Audio-visual agreement measures (see module docstring)."""
    env = envelope(audio)
    speech = speech_mask(env)
    speech_ms = float(speech.sum()) * 10.0
    out = {"speech_ms": speech_ms, "av_correlation": 0.0}
    if speech_ms < options.min_speech_ms or len(op) < 4:
        return out
    smooth = np.convolve(env.db, np.ones(5) / 5, mode="same")
    best = -1.0
    for lag in np.arange(options.min_av_lag_ms, options.max_av_lag_ms + 1, 10.0):
        e = np.interp(ts + lag, env.times_ms(), smooth, left=0.0, right=0.0)
        de, do = np.diff(e), np.diff(op)
        if de.std() > 0 and do.std() > 0:
            best = max(best, float(np.corrcoef(de, do)[0, 1]))
    out["av_correlation"] = best
    return out


def verify_lip(frames: list[Frame], challenge: LipChallenge, *, mesher: FaceMesher,
               audio: Audio | None = None, recogniser: SpeechRecogniser | None = None,
               identity: FaceIdentity | None = None,
               options: LipOptions = LipOptions()) -> LivenessResult:
    """Check a capture of the user reading ``challenge.code`` (audio optional but recommended)."""
    track, failed = track_or_fail(frames, mesher, options.track, identity)
    if failed:
        return failed
    best = track.best_frames()
    ts, op = mouth_series(track.faces)
    threshold = opening_threshold(op, options)
    n, _ = count_openings(ts, op, options)
    n_outer, _ = count_openings(ts, lip_height_series(track.faces), options)
    want = max(1, len(challenge.code) - options.missing_syllables)
    want_outer = max(1, int(np.ceil(options.min_outer_share * len(challenge.code))))
    metrics = {"openings": n, "outer_openings": n_outer, "mouth_range": round(float(op.max() - op.min()), 3),
               "opening_threshold": round(threshold, 3)}
    score = min(1.0, n / max(len(challenge.code), 1))
    if n < want or n_outer < want_outer:
        return LivenessResult(False, Code.LIP_MOVE_SMALL, score if n_outer >= want_outer else 0.0, best,
                              f"{n} mouth openings (want >= {want}), {n_outer} of the outer lips "
                              f"(want >= {want_outer})", metrics)
    if audio is None and options.require_audio:
        return LivenessResult(False, Code.LIP_VOICE_FAIL, 0.0, best, "no audio in the capture", metrics)
    if challenge.paced and audio is not None:
        why, paced = paced_timing(ts, op, threshold, challenge, audio, options.paced)
        metrics.update(paced)
        if why:
            return LivenessResult(False, Code.LIP_VOICE_FAIL, 0.0, best, why, metrics)
    elif audio is not None:
        sync = av_sync(ts, op, audio, options)
        metrics.update({k: round(v, 3) for k, v in sync.items()})
        if sync["speech_ms"] < options.min_speech_ms:
            return LivenessResult(False, Code.LIP_VOICE_FAIL, 0.0, best, "no speech", metrics)
        if sync["av_correlation"] < options.min_av_correlation:
            return LivenessResult(False, Code.LIP_VOICE_FAIL, max(0.0, sync["av_correlation"]), best,
                                  "speech does not follow the lips", metrics)
        score = min(score, max(0.0, sync["av_correlation"]) / options.min_av_correlation * 0.5 + 0.5)
    if audio is not None and recogniser is not None and recogniser.digits(audio) != challenge.code:
        return LivenessResult(False, Code.LIP_DIGIT_FAIL, 0.0, best, "other digits heard", metrics)
    return LivenessResult(True, Code.SUCCESS, score, best, "", metrics)
