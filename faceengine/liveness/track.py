"""Follow one face through a capture: landmarks, quality and identity continuity per frame.

Frames are meshed at a reduced working size (the mesh model's input is 192x192 anyway, so this
costs no accuracy and saves resizing work); landmarks are kept in working-size pixels and
``scale`` maps them back to the input frames.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..detect import FaceMesher
from . import geometry as g
from .identity import FaceIdentity
from .types import BestFrame, Frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrackOptions:
    work_max_side: int = 320          # frames are downscaled to this before meshing and measuring
    # Two frames 1/15 s apart of one face, aligned by eyes and mouth, are nearly the same picture
    # (NCC >= 0.63 over 23 real clips with fast head motion, mean 0.3 across people): a lower NCC
    # is a cut. It cannot tell similar people apart; FaceIdentity does that (docs/liveness.md).
    min_consecutive_ncc: float = 0.5
    max_jump_iod: float = 1.5         # centre jump between consecutive frames, in interocular units
    max_gap_ms: float = 500.0         # longest stretch without a face
    min_face_fraction: float = 0.8    # frames with a face / all frames
    min_iod_px: float = 12.0          # smaller faces (in working pixels) count as no face
    # Mesh every n-th frame; the frames between reuse the last mesh (quality 0, so never a best
    # frame). Light mode uses 2: head motion in 1/15 s is a pixel or two at working size, far
    # inside the skin mask's erosion, and it halves the mesh time.
    mesh_every: int = 1
    # Sharpness (the costly part of a frame's quality) is measured on this many frames only, the
    # ones with the best size x frontality x open eyes; the others get quality 0 (never best).
    quality_candidates: int = 8


@dataclass(frozen=True)
class FaceObservation:
    """One frame's face: landmarks (468+, 3) in working pixels, quality 0..1, appearance patch."""

    index: int
    timestamp_ms: float
    points: np.ndarray
    quality: float
    patch: np.ndarray = field(repr=False)
    meshed: bool = True

    @property
    def xy(self) -> np.ndarray:
        return self.points[:, :2]


@dataclass(frozen=True)
class FaceTrack:
    """Every input frame's working image and, where one was found, its face."""

    timestamps_ms: np.ndarray                      # (N,) float
    work_images: tuple[np.ndarray, ...]            # RGB uint8 at working size
    observations: tuple[FaceObservation | None, ...]
    scale: float                                   # input pixels per working pixel

    @property
    def faces(self) -> list[FaceObservation]:
        return [o for o in self.observations if o is not None]

    def best_frames(self, n: int = 3) -> tuple[BestFrame, ...]:
        ranked = sorted(self.faces, key=lambda o: o.quality, reverse=True)[:n]
        return tuple(BestFrame(o.index, o.timestamp_ms, round(o.quality, 4)) for o in ranked)


@dataclass(frozen=True)
class Continuity:
    ok: bool
    reason: str        # "" | "no_face" | "face_lost" | "identity_changed"
    min_consecutive_ncc: float


_PATCH = 32
# Where the right eye, left eye and mouth centre land in the appearance patch.
_PATCH_REF = np.float32([[9.0, 11.0], [23.0, 11.0], [16.0, 25.0]])


def _appearance_patch(grey: np.ndarray, xy: np.ndarray) -> np.ndarray:
    r, l = g.eye_centres(xy)
    m = (xy[g.MOUTH_CORNERS[0]] + xy[g.MOUTH_CORNERS[1]]) / 2.0
    src = np.float32([r, l, m])
    warp = cv2.getAffineTransform(src, _PATCH_REF)
    patch = cv2.warpAffine(grey, warp, (_PATCH, _PATCH), flags=cv2.INTER_AREA,
                           borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    patch -= patch.mean()
    return patch / (np.linalg.norm(patch) + 1e-6)


def _pose_score(xy_full: np.ndarray, iod_full: float) -> float:
    """Size x frontality x open eyes, each in 0..1 (the cheap part of the quality)."""
    size = min(1.0, iod_full / 60.0)
    r, l = g.eye_centres(xy_full)
    yaw = abs(float(xy_full[g.NOSE_TIP][0] - (r[0] + l[0]) / 2.0)) / max(iod_full, 1e-6)
    frontal = max(0.0, 1.0 - 2.0 * yaw)
    eyes = min(1.0, g.eye_aspect_ratio(xy_full) / 0.22)
    return float(size * frontal * eyes)


def _sharpness(image_rgb: np.ndarray, xy_full: np.ndarray) -> float:
    """Laplacian energy of the face at 64x64, mapped to 0..1."""
    x0, y0 = np.maximum(xy_full.min(axis=0), 0).astype(int)
    x1, y1 = xy_full.max(axis=0).astype(int)
    crop = image_rgb[y0:y1 + 1, x0:x1 + 1]
    if crop.shape[0] < 8 or crop.shape[1] < 8:
        return 0.0
    grey = cv2.cvtColor(cv2.resize(crop, (64, 64), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    lap = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    return lap / (lap + 100.0)


def track_face(frames: list[Frame], mesher: FaceMesher,
               options: TrackOptions = TrackOptions()) -> FaceTrack:
    """Mesh every frame (in order, with tracking) and keep the largest face of each.

    ``mesher`` is a single-face tracking mesher owned by the caller (``tracking_mesher``); it
    is reset here because a capture is one tracking sequence.
    """
    mesher.reset()
    if not frames:
        return FaceTrack(np.zeros(0), (), (), 1.0)
    h, w = frames[0].image_rgb.shape[:2]
    scale = max(1.0, max(h, w) / options.work_max_side)
    size = (int(round(w / scale)), int(round(h / scale)))
    work, obs, pose = [], [], {}
    for i, fr in enumerate(frames):
        img = fr.image_rgb
        small = img if scale == 1.0 else cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        work.append(small)
        prev = obs[-1] if obs else None
        if options.mesh_every > 1 and i % options.mesh_every and prev is not None:
            obs.append(FaceObservation(i, float(fr.timestamp_ms), prev.points, 0.0, prev.patch,
                                       meshed=False))
            continue
        faces = mesher.landmarks(small)
        if not faces:
            obs.append(None)
            continue
        face = max(faces, key=lambda f: f.bbox()[2] * f.bbox()[3])
        xy = face.xy
        iod = g.interocular(xy)
        if iod < options.min_iod_px:
            obs.append(None)
            continue
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        pose[i] = _pose_score(xy * scale, iod * scale)
        obs.append(FaceObservation(i, float(fr.timestamp_ms), face.points, 0.0,
                                   _appearance_patch(grey, xy)))
    # Quality = sharpness x pose, for the frames with the best pose only.
    for i in sorted(pose, key=pose.get, reverse=True)[:max(1, options.quality_candidates)]:
        o = obs[i]
        q = pose[i] * _sharpness(frames[i].image_rgb, o.xy * scale)
        obs[i] = FaceObservation(o.index, o.timestamp_ms, o.points, q, o.patch, o.meshed)
    ts = np.array([f.timestamp_ms for f in frames], dtype=np.float64)
    return FaceTrack(ts, tuple(work), tuple(obs), scale)


def check_continuity(track: FaceTrack, frames: list[Frame], options: TrackOptions = TrackOptions(),
                     identity: FaceIdentity | None = None) -> Continuity:
    """Is one and the same face present throughout?

    Always: a face in most frames with no long gap, no jump of the face between consecutive
    frames, and no appearance cut. With ``identity``: also the same person by a face-recognition
    descriptor at the start, the best frame and the end (stops splices of similar-looking people).
    """
    faces = track.faces
    n = len(track.observations)
    if n == 0 or len(faces) < max(2, options.min_face_fraction * n):
        return Continuity(False, "no_face" if len(faces) < 2 else "face_lost", 0.0)
    # Stretches without a face, including the start and the end of the capture.
    present = np.array([o is not None for o in track.observations])
    ts = track.timestamps_ms
    last = ts[0]
    for t, p in zip(ts, present):
        if p:
            if t - last > options.max_gap_ms:
                return Continuity(False, "face_lost", 0.0)
            last = t
    if ts[-1] - last > options.max_gap_ms:
        return Continuity(False, "face_lost", 0.0)
    min_cons = 1.0
    meshed = [f for f in faces if f.meshed]
    for a, b in zip(meshed, meshed[1:]):
        min_cons = min(min_cons, float(np.sum(a.patch * b.patch)))
        iod = g.interocular(a.xy)
        jump = float(np.linalg.norm(a.xy.mean(axis=0) - b.xy.mean(axis=0))) / max(iod, 1e-6)
        if jump > options.max_jump_iod:
            return Continuity(False, "identity_changed", min_cons)
    if min_cons < options.min_consecutive_ncc:
        log.debug("appearance cut between consecutive frames: ncc %.3f", min_cons)
        return Continuity(False, "identity_changed", min_cons)
    if identity is not None and not _same_identity(track, frames, identity):
        return Continuity(False, "identity_changed", min_cons)
    return Continuity(True, "", min_cons)


def identity_frames(track: FaceTrack) -> tuple[FaceObservation, ...]:
    """The faces the identity check describes: the best frame (the one a caller compares with an ID
    photo) first, then the first and the last face of the capture (each frame once)."""
    faces = track.faces
    best = max(faces, key=lambda o: o.quality)
    picks = {best.index: best, faces[0].index: faces[0], faces[-1].index: faces[-1]}
    return tuple(picks.values())


def identity_descriptors(track: FaceTrack, frames: list[Frame], identity: FaceIdentity) -> list:
    """Descriptors of :func:`identity_frames`, best frame first."""
    return [_describe(track, frames, identity, o) for o in identity_frames(track)]


def _same_identity(track: FaceTrack, frames: list[Frame], identity: FaceIdentity) -> bool:
    """The best frame against the first and the last face of the capture (stops at the first
    mismatch: a splice costs two descriptors, not three)."""
    best, *others = identity_frames(track)
    ref = _describe(track, frames, identity, best)
    return all(identity.same_person(ref, _describe(track, frames, identity, o)) for o in others)


def _describe(track: FaceTrack, frames: list[Frame], identity: FaceIdentity, o: FaceObservation):
    """The descriptor of one tracked face on its full-resolution frame, aligned by the track's own
    mesh scaled to the frame (no detection or mesh runs again)."""
    x, y, w, h = (v * track.scale for v in _bbox(o.xy))
    return identity.descriptor(frames[o.index].image_rgb, (x, y, w, h), o.points * track.scale)


def _bbox(xy: np.ndarray) -> tuple[float, float, float, float]:
    mn, mx = xy.min(axis=0), xy.max(axis=0)
    return float(mn[0]), float(mn[1]), float(mx[0] - mn[0]), float(mx[1] - mn[1])
