"""REFLECTION: does the face reflect the colour sequence the screen showed?

Physics. The screen at ~30 cm adds irradiance proportional to the colour it shows to the face;
the background, several times farther away, gets a small fraction of it (inverse square). The
camera applies a per-frame gain per channel (auto exposure and white balance) to everything.
In log-chromaticity (log RGB minus its mean over channels), a per-channel global gain cancels
in the difference face minus background, and the reflection appears there as a chroma shift
towards the shown colour. So the check correlates, over frames, that difference with the issued
colours (centred linear RGB), searching the display-to-camera lag; then it requires that

1. the best lag is a physical one (0 .. ``max_lag_ms``), which rejects a replay of the right
   sequence shifted by a slot (its lag is a whole slot off);
2. the correlation is strong and most slots, decoded on their own, match their colour, which
   rejects a still photo and a recording made for another sequence;
3. the background's own response is small next to the face's, both relative (log-chroma) and in
   absolute linear light, which rejects a tint over the whole frame: a screen held up to the
   camera changes the background with the face.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..detect import FaceMesher
from .challenge import LightChallenge
from .gate import track_or_fail
from .identity import FaceIdentity
from .skin import SRGB_TO_LINEAR, background_mask, linear, mean_linear, skin_mask
from .track import FaceTrack, TrackOptions
from .types import Code, Frame, LivenessResult


@dataclass(frozen=True)
class LightOptions:
    track: TrackOptions = field(default_factory=lambda: TrackOptions(mesh_every=2))
    max_lag_ms: float = 200.0          # display + camera pipeline delay we accept
    lag_tolerance_ms: float = 20.0     # lag estimate error at 15 fps over >= 6 slot boundaries
    lag_step_ms: float = 5.0
    # Frames this close to a predicted colour change may be mixed: left out when measuring the
    # slots (not when searching the lag, where every misplaced frame should cost correlation).
    guard_ms: float = 40.0
    # Correlation of frame chroma with the issued colours. With 6 slots x 2 chroma dimensions
    # (12 degrees of freedom), |r| above 0.7 has p < 0.01 under "no reflection" noise.
    min_correlation: float = 0.7
    min_slot_match: float = 0.8        # fraction of slots whose own colour is decoded
    # Background response / face response. Relative: inverse square from a background at least
    # 1.5x the face's distance gives <= 0.44. Absolute: times an albedo ratio up to ~1.5.
    # A whole-frame tint gives ~1 on one (multiplicative) or the other (additive).
    max_bg_relative: float = 0.5
    max_bg_absolute: float = 0.7
    min_skin_px: int = 100            # at half the working size
    min_background_px: int = 200


def _colour_series(track: FaceTrack, options: LightOptions):
    """Per face frame: time, log-chroma of skin and of background, linear means."""
    ts, lf, lb, fm, bm = [], [], [], [], []
    for o in track.faces:
        # Means need no detail: measure at half the working size, a quarter of the work.
        img = cv2.resize(track.work_images[o.index], None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        xy = o.xy * 0.5
        lin = linear(img)
        f, nf = mean_linear(lin, skin_mask(img.shape[:2], xy))
        b, nb = mean_linear(lin, background_mask(img.shape[:2], xy))
        if nf < options.min_skin_px or nb < options.min_background_px:
            continue
        f, b = np.maximum(f, 1e-4), np.maximum(b, 1e-4)
        ts.append(o.timestamp_ms)
        lf.append(np.log(f) - np.log(f).mean())
        lb.append(np.log(b) - np.log(b).mean())
        fm.append(f.mean())
        bm.append(b.mean())
    return (np.array(ts), np.array(lf).reshape(-1, 3), np.array(lb).reshape(-1, 3),
            float(np.mean(fm)) if fm else 0.0, float(np.mean(bm)) if bm else 0.0)


def _template(ts: np.ndarray, lag: float, slot_ms: float, centred: np.ndarray, guard: float):
    """Issued colour (centred) per frame at a lag, and which frames count."""
    pos = (ts - lag) / slot_ms
    k = np.floor(pos).astype(int)
    into = (pos - k) * slot_ms
    use = (k >= 0) & (k < len(centred)) & (into >= guard) & (into <= slot_ms - guard)
    return k, use


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den > 0 else 0.0


def verify_light(frames: list[Frame], challenge: LightChallenge, *, mesher: FaceMesher,
                 identity: FaceIdentity | None = None,
                 options: LightOptions = LightOptions()) -> LivenessResult:
    """Check a capture taken while the screen showed ``challenge`` (timestamps from its start)."""
    track, failed = track_or_fail(frames, mesher, options.track, identity)
    if failed:
        return failed
    best = track.best_frames()
    if not len(frames) or frames[-1].timestamp_ms < challenge.duration_ms:
        return LivenessResult(False, Code.LIGHT_TOO_SHORT, 0.0, best, "capture ends before the sequence")
    ts, lf, lb, fmean, bmean = _colour_series(track, options)
    if len(ts) < 2 * len(challenge.colors):
        return LivenessResult(False, Code.DETECT_FAKE, 0.0, best, "too few measurable frames")
    lin = SRGB_TO_LINEAR[np.round(np.array(challenge.rgb()) * 255).astype(int)]
    centred = lin - lin.mean(axis=1, keepdims=True)
    d = lf - lb
    S = float(challenge.slot_ms)
    lags = np.arange(-S, S + options.max_lag_ms + options.lag_step_ms, options.lag_step_ms)
    scores = np.full(len(lags), -1.0)
    for i, lag in enumerate(lags):
        k, use = _template(ts, lag, S, centred, 0.0)
        if use.sum() >= 2 * len(centred):
            scores[i] = _corr(d[use], centred[k[use]])
    top = scores.max()
    at_top = lags[scores >= top - 1e-9]
    lag = float(np.median(at_top))
    k, use = _template(ts, lag, S, centred, options.guard_ms)
    y = centred[k[use]] - centred[k[use]].mean(axis=0)

    def slope(x):
        x = x[use] - x[use].mean(axis=0)
        return float((x * y).sum() / max((y * y).sum(), 1e-12))

    b_face, b_bg = slope(lf), slope(lb)
    rel = b_bg / b_face if b_face > 0 else np.inf
    absolute = (b_bg * bmean) / (b_face * fmean) if b_face > 0 else np.inf
    # Decode each slot by itself: its mean chroma difference against the issued colours.
    slot_ok, slots_seen = 0, 0
    dd = d[use] - d[use].mean(axis=0)
    ref = centred - centred.mean(axis=0)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True) + 1e-9
    for s in range(len(centred)):
        sel = k[use] == s
        if not sel.any():
            continue
        slots_seen += 1
        v = dd[sel].mean(axis=0)
        if np.allclose(ref[np.argmax(ref @ v)], ref[s]):
            slot_ok += 1
    match = slot_ok / max(slots_seen, 1)
    metrics = {"correlation": round(float(top), 4), "lag_ms": lag, "slot_match": round(match, 3),
               "bg_relative": round(float(rel), 3), "bg_absolute": round(float(absolute), 3)}
    score = float(max(0.0, top))
    checks = [
        (-options.lag_tolerance_ms <= lag <= options.max_lag_ms + options.lag_tolerance_ms, "lag"),
        (top >= options.min_correlation, "correlation"),
        (match >= options.min_slot_match and slots_seen >= len(centred) - 1, "slots"),
        (rel <= options.max_bg_relative and absolute <= options.max_bg_absolute, "background"),
    ]
    failed_checks = [name for ok, name in checks if not ok]
    if failed_checks:
        return LivenessResult(False, Code.DETECT_FAKE, score, best,
                              "reflection check failed: " + ",".join(failed_checks), metrics)
    return LivenessResult(True, Code.SUCCESS, score, best, "", metrics)
