"""SILENT: passive presentation-attack cues over a clip of 2 s or more.

1. Rigidity. A photo, printed or on a screen, is a plane: its landmarks move between frames by
   a homography, however it is tilted or waved. A face is a 3D, non-rigid object: turning the
   head moves the nose against the cheeks (parallax), blinks and expressions move eyelids and
   lips. The check fits a homography to the 468 landmarks between frames ~200 ms apart and
   takes the residual in interocular units; a clip whose largest residuals stay at the mesh's
   jitter level (~0.005) is planar.
2. Screen moire. Re-imaging a display adds periodic patterns: isolated peaks in the spectrum of
   the face region, far above its smooth background (JPEG's 8-pixel grid is excluded).
3. Optional ONNX PAD model (``PadModel``) on the best frames.

What it does not stop (docs/liveness.md): a video replay of the person on a good screen that
shows no moire (natural 3D motion is in the video), a 3D mask with moving eyes, and any
injected video stream; those need the active modes and a trusted client.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..detect import FaceMesher
from . import geometry as g
from .gate import track_or_fail
from .identity import FaceIdentity
from .pad_model import PadModel
from .track import FaceTrack, TrackOptions
from .types import Code, Frame, LivenessResult


@dataclass(frozen=True)
class SilentOptions:
    # Every other frame is enough: rigidity compares frames ~200 ms apart.
    track: TrackOptions = field(default_factory=lambda: TrackOptions(mesh_every=2))
    min_duration_ms: float = 2000.0
    pair_gap_ms: float = 200.0
    # 3x the landmark jitter of a still, planar face; a 5-degree head turn moves the nose tip
    # against a plane fit by ~0.04 IOD, a blink the eyelids by ~0.1.
    min_nonrigid_iod: float = 0.015
    nonrigid_percentile: float = 90.0
    # Spectral peak over the median of its annulus; natural images stay below ~10.
    max_moire_ratio: float = 40.0
    moire_frames: int = 2


def nonrigid_residuals(track: FaceTrack, options: SilentOptions) -> np.ndarray:
    """Homography-fit RMS residual / IOD for frame pairs ``pair_gap_ms`` apart."""
    faces = [f for f in track.faces if f.meshed]
    out = []
    j = 0
    for i, a in enumerate(faces):
        while j < len(faces) and faces[j].timestamp_ms - a.timestamp_ms < options.pair_gap_ms:
            j += 1
        if j >= len(faces):
            break
        b = faces[j]
        src, dst = a.xy[:468].astype(np.float64), b.xy[:468].astype(np.float64)
        try:
            hmat, _ = cv2.findHomography(src, dst, 0)
        except cv2.error:
            continue
        if hmat is None:
            continue
        proj = cv2.perspectiveTransform(src[None], hmat)[0]
        rms = float(np.sqrt(((proj - dst) ** 2).sum(axis=1).mean()))
        out.append(rms / max(g.interocular(b.xy), 1e-6))
    return np.array(out)


def moire_ratio(image_rgb: np.ndarray, xy_full: np.ndarray) -> float:
    """Largest mid/high-frequency spectral peak of the face region over the annulus median."""
    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mn, mx = xy_full.min(axis=0), xy_full.max(axis=0)
    size = int(min(mx - mn) * 0.6) // 8 * 8
    if size < 48:
        return 0.0
    c = (mn + mx) / 2
    # Start on the 8-pixel grid so JPEG block edges fall on known frequency bins.
    x0, y0 = int(c[0] - size / 2) // 8 * 8, int(c[1] - size / 2) // 8 * 8
    x0, y0 = max(0, x0), max(0, y0)
    crop = grey[y0:y0 + size, x0:x0 + size]
    if crop.shape != (size, size):
        return 0.0
    crop = crop - cv2.GaussianBlur(crop, (0, 0), 2.0)   # keep fine texture only
    crop *= np.outer(np.hanning(size), np.hanning(size)).astype(np.float32)
    spec = np.abs(np.fft.fftshift(np.fft.fft2(crop)))
    f = np.fft.fftshift(np.fft.fftfreq(size))
    fx, fy = np.meshgrid(f, f)
    r = np.hypot(fx, fy)
    grid = (np.abs((fx * 8) - np.round(fx * 8)) < 1.5 / size) | (np.abs((fy * 8) - np.round(fy * 8)) < 1.5 / size)
    ring = (r > 0.12) & (r < 0.45) & ~grid
    vals = spec[ring]
    med = float(np.median(vals))
    return float(vals.max() / med) if med > 0 else 0.0


def verify_silent(frames: list[Frame], *, mesher: FaceMesher, pad_model: PadModel | None = None,
                  identity: FaceIdentity | None = None,
                  options: SilentOptions = SilentOptions()) -> LivenessResult:
    if not frames or frames[-1].timestamp_ms - frames[0].timestamp_ms < options.min_duration_ms:
        return LivenessResult(False, Code.SILENT_TOO_SHORT, 0.0, (), "clip shorter than 2 s")
    track, failed = track_or_fail(frames, mesher, options.track, identity)
    if failed:
        return failed
    best = track.best_frames(max(options.moire_frames, 1))
    res = nonrigid_residuals(track, options)
    nonrigid = float(np.percentile(res, options.nonrigid_percentile)) if len(res) else 0.0
    by_index = {o.index: o for o in track.faces}
    moire = max((moire_ratio(frames[b.index].image_rgb, by_index[b.index].xy * track.scale)
                 for b in best[:options.moire_frames]), default=0.0)
    metrics = {"nonrigid_iod": round(nonrigid, 4), "moire_ratio": round(moire, 2)}
    score = float(min(1.0, nonrigid / (2 * options.min_nonrigid_iod)))
    if nonrigid < options.min_nonrigid_iod:
        return LivenessResult(False, Code.SILENT_DETECT_FAIL, score, best, "planar motion", metrics)
    if moire > options.max_moire_ratio:
        return LivenessResult(False, Code.SILENT_DETECT_FAIL, score, best, "screen pattern", metrics)
    if pad_model is not None:
        probs = []
        for b in best[:2]:
            o = by_index[b.index]
            mn, mx = o.xy.min(axis=0) * track.scale, o.xy.max(axis=0) * track.scale
            probs.append(pad_model.real_probability(frames[b.index].image_rgb,
                                                    (mn[0], mn[1], mx[0] - mn[0], mx[1] - mn[1])))
        metrics["pad_real"] = round(float(np.mean(probs)), 3)
        score = min(score, float(np.mean(probs)))
        if np.mean(probs) < pad_model.options.min_real_probability:
            return LivenessResult(False, Code.DETECT_FAKE, score, best, "PAD model", metrics)
    return LivenessResult(True, Code.SUCCESS, score, best, "", metrics)
