"""Photo quality: is this face usable for a 1:1 comparison?

Every check measures something on the chosen face and fails with its own
:class:`QualityReason`; :data:`REASON_CODES` maps each reason to the Tencent result-code
suffix (``FailedOperation.<code>``; the web side owns the full result-code table).

What each check measures (pixels of the RGB image; landmarks from the 478-point mesh):

- face count: faces other than the chosen (largest) one count only when at least
  ``competing_face_ratio`` as wide, so a tiny bystander far behind does not void a selfie.
- completeness: mesh points falling outside the image (face cut by the frame edge).
- size: the face box width in pixels.
- sharpness: variance of the Laplacian of the face, resampled to 112x112 grey so that the
  figure does not depend on the photo's resolution, divided by the face's grey variance so
  that it does not depend on contrast either (a dim sharp face is not "blurred").
- brightness: mean luma of the inner face, and the share of clipped (>= 250) pixels.
- pose: yaw and pitch of the mesh's face plane (eye corners and forehead-chin axis, using
  the mesh depth); roll is left alone because alignment removes it.
- eyes: eye aspect ratio from the eyelid landmarks (closed eyes), and the grey contrast
  inside the eye opening relative to the face (sunglasses, a hand or a bar over the eyes
  leave no sclera/iris contrast). The mesh always guesses landmarks, even under an
  occluder, so occlusion is judged from pixels inside the landmark polygons.
- mouth: how much redder (CIE a*) the lips are than the forehead skin. A mask or hand hides
  the lips' colour. Skipped on near-greyscale photos, where colour says nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

import cv2
import numpy as np

from .detect import FaceBox, FaceLandmarks


class QualityReason(str, Enum):
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_INCOMPLETE = "face_incomplete"
    FACE_TOO_SMALL = "face_too_small"
    BLURRED = "blurred"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    YAW_TOO_LARGE = "yaw_too_large"
    PITCH_TOO_LARGE = "pitch_too_large"
    EYES_CLOSED = "eyes_closed"
    EYES_OCCLUDED = "eyes_occluded"
    MOUTH_OCCLUDED = "mouth_occluded"


# Tencent FailedOperation.<code> for each reason.
REASON_CODES: dict[QualityReason, str] = {
    QualityReason.NO_FACE: "LifePhotoDetectNoFaces",
    QualityReason.MULTIPLE_FACES: "LifePhotoDetectFaces",
    # Tencent's LifePhotoDetectNoFaces reads "no complete face detected".
    QualityReason.FACE_INCOMPLETE: "LifePhotoDetectNoFaces",
    QualityReason.FACE_TOO_SMALL: "LifePhotoSizeError",
    QualityReason.BLURRED: "ImageBlur",
    QualityReason.TOO_DARK: "LifePhotoPoorQuality",
    QualityReason.TOO_BRIGHT: "LifePhotoPoorQuality",
    QualityReason.YAW_TOO_LARGE: "LifePhotoPoorQuality",
    QualityReason.PITCH_TOO_LARGE: "LifePhotoPoorQuality",
    QualityReason.EYES_CLOSED: "LifePhotoPoorQuality",
    QualityReason.EYES_OCCLUDED: "LifePhotoPoorQuality",
    QualityReason.MOUTH_OCCLUDED: "LifePhotoPoorQuality",
}


@dataclass(frozen=True)
class QualityOptions:
    """Thresholds, set from the 255 real photos of ../shared/facedata (docs/faceengine.md has
    their distribution). Each sits outside the range of the usable photos there, except the
    pose limits, which 3 strongly turned LFW photos exceed on purpose."""

    competing_face_ratio: float = 0.5
    max_outside_fraction: float = 0.04  # of mesh points outside the image (data: max 0.048, 99% <= 0.033)
    min_face_px: float = 64.0           # face box width (data: min 76); below it dlib degrades
    # Real photos: min 0.168, 1st percentile 0.265. Gaussian blur with sigma = 2.5% of the
    # face width: max 0.137 over 64 photos.
    min_sharpness: float = 0.15
    min_brightness: float = 40.0        # data: 81..196
    max_brightness: float = 225.0
    max_clipped_fraction: float = 0.35  # data: max 0.009
    max_yaw_deg: float = 35.0
    max_pitch_deg: float = 30.0
    # Closed eyes. Squinting people in the photos reach 0.067; closed eyes in the blink
    # frames of the d3/d14 clips read 0.024-0.05.
    min_eye_aspect: float = 0.05
    # Open eyes: min 0.19 over the data except the one photo with dark sunglasses (0.04).
    min_eye_contrast: float = 0.12
    # Lips minus forehead a*: real data -5.3..46. A mask of a non-skin colour drives it well
    # below; a skin-coloured occluder (a hand) is NOT caught by this figure.
    min_lip_redness: float = -8.0
    min_colourfulness: float = 4.0      # mean |a*|+|b*| of the face below this: treat as greyscale


# Reference photos (an ID photo from the authority registry, a merchant's photo of its user):
# a studio portrait is frontal, evenly lit and small. The ID card chip holds 102 x 126 pixels,
# where the face box is 50-65 px wide (the bench's chips of real photos: 47-85 px), so faces
# down to 40 px are taken. Sharpness is measured on the 112 x 112 grid, to which such a face is
# upsampled, which halves the figure: chips of the real photos read 0.09-1.49 (median 0.35)
# against 0.17-7.7 for the photos themselves, so the floor is 0.08 instead of 0.15. The other
# rules (one face, complete, exposure, pose, eyes, mouth) are the selfie's.
REFERENCE_MIN_FACE_PX = 40.0
REFERENCE_MIN_SHARPNESS = 0.08


@dataclass(frozen=True)
class QualityReport:
    """Outcome of the checks. ``reasons`` is empty when the photo is usable; metrics are NaN
    when they could not be measured (no face, no landmarks, greyscale for lip colour)."""

    reasons: tuple[QualityReason, ...]
    face_count: int
    face_px: float = math.nan
    outside_fraction: float = math.nan
    sharpness: float = math.nan
    brightness: float = math.nan
    clipped_fraction: float = math.nan
    yaw_deg: float = math.nan
    pitch_deg: float = math.nan
    roll_deg: float = math.nan
    eye_aspect: float = math.nan
    eye_contrast: float = math.nan
    lip_redness: float = math.nan
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def codes(self) -> tuple[str, ...]:
        """Result-code suffixes of the failures, most important first, without repeats."""
        return tuple(dict.fromkeys(REASON_CODES[r] for r in self.reasons))


REFERENCE_QUALITY = QualityOptions(min_face_px=REFERENCE_MIN_FACE_PX, min_sharpness=REFERENCE_MIN_SHARPNESS)

# Mesh indices (MediaPipe canonical face mesh). "right" is the subject's right eye.
RIGHT_EYE_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_RING = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
# (outer corner, inner corner, (upper, lower) lid pairs)
RIGHT_EYE_EAR = (33, 133, ((160, 144), (159, 145), (158, 153)))
LEFT_EYE_EAR = (263, 362, ((387, 373), (386, 374), (385, 380)))
LIPS_RING = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
MOUTH_GAP_RING = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
FOREHEAD_PATCH = (10, 338, 297, 299, 9, 69, 67, 109)
FACE_INNER = (10, 338, 297, 332, 284, 251, 389, 454, 323, 361, 288, 397, 365, 379, 378, 400,
              377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
FOREHEAD_TOP, CHIN = 10, 152

_GRID = 112
# The forehead-chin line of the mesh leans back against the face plane: camera-facing
# photos read about -7.3 deg (median over the 255 photos of ../shared/facedata).
_PITCH_BIAS_DEG = -7.3  # resampling size of the face for the sharpness figure


def assess(image_rgb: np.ndarray, faces: list[FaceBox], face: FaceBox | None,
           landmarks: FaceLandmarks | None, options: QualityOptions = QualityOptions()) -> QualityReport:
    """Run every check on the chosen ``face`` (one of ``faces``) and its ``landmarks``."""
    if face is None or not faces:
        return QualityReport((QualityReason.NO_FACE,), face_count=0)
    reasons: list[QualityReason] = []
    competing = [f for f in faces if f is not face and f.w >= options.competing_face_ratio * face.w]
    if competing:
        reasons.append(QualityReason.MULTIPLE_FACES)
    if landmarks is None:
        reasons.append(QualityReason.FACE_INCOMPLETE)
        return QualityReport(tuple(reasons), face_count=1 + len(competing), face_px=face.w)

    h, w = image_rgb.shape[:2]
    xy = landmarks.xy
    outside = float(np.mean((xy[:, 0] < 0) | (xy[:, 1] < 0) | (xy[:, 0] >= w) | (xy[:, 1] >= h)))
    if outside > options.max_outside_fraction:
        reasons.append(QualityReason.FACE_INCOMPLETE)
    face_px = float(face.w)
    if face_px < options.min_face_px:
        reasons.append(QualityReason.FACE_TOO_SMALL)

    # Work on the face's neighbourhood only: colour conversions of a 12 MP photo cost more
    # than the whole rest of the pipeline.
    x0 = int(max(0, min(face.x, xy[:, 0].min()) - 2))
    y0 = int(max(0, min(face.y, xy[:, 1].min()) - 2))
    x1 = int(min(w, max(face.x + face.w, xy[:, 0].max()) + 3))
    y1 = int(min(h, max(face.y + face.h, xy[:, 1].max()) + 3))
    image_rgb = image_rgb[y0:y1, x0:x1]
    xy = xy - np.array([x0, y0], dtype=xy.dtype)
    face = FaceBox(face.x - x0, face.y - y0, face.w, face.h, face.score,
                   face.keypoints - np.array([x0, y0], dtype=np.float32))
    grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
    sharpness = _sharpness(grey, face)
    if sharpness < options.min_sharpness:
        reasons.append(QualityReason.BLURRED)

    inner = _mask(grey.shape, xy, FACE_INNER)
    face_grey = grey[inner]
    brightness = float(face_grey.mean()) if face_grey.size else math.nan
    clipped = float(np.mean(face_grey >= 250)) if face_grey.size else math.nan
    if brightness < options.min_brightness:
        reasons.append(QualityReason.TOO_DARK)
    elif brightness > options.max_brightness or clipped > options.max_clipped_fraction:
        reasons.append(QualityReason.TOO_BRIGHT)

    yaw, pitch, roll = head_pose(landmarks)
    if abs(yaw) > options.max_yaw_deg:
        reasons.append(QualityReason.YAW_TOO_LARGE)
    if abs(pitch) > options.max_pitch_deg:
        reasons.append(QualityReason.PITCH_TOO_LARGE)

    ear = min(_eye_aspect(xy, RIGHT_EYE_EAR), _eye_aspect(xy, LEFT_EYE_EAR))
    contrast = min(_region_contrast(grey, xy, RIGHT_EYE_RING, brightness),
                   _region_contrast(grey, xy, LEFT_EYE_RING, brightness))
    if ear < options.min_eye_aspect:
        reasons.append(QualityReason.EYES_CLOSED)
    elif contrast < options.min_eye_contrast:
        reasons.append(QualityReason.EYES_OCCLUDED)

    redness = _lip_redness(image_rgb, xy, inner, options.min_colourfulness)
    if not math.isnan(redness) and redness < options.min_lip_redness:
        reasons.append(QualityReason.MOUTH_OCCLUDED)

    return QualityReport(tuple(reasons), face_count=1 + len(competing), face_px=face_px,
                         outside_fraction=outside, sharpness=sharpness, brightness=brightness,
                         clipped_fraction=clipped, yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll,
                         eye_aspect=ear, eye_contrast=contrast, lip_redness=redness)


def head_pose(landmarks: FaceLandmarks) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of the face plane; 0 when facing the camera.

    Yaw > 0: the face turns towards the image's left; pitch > 0: the chin tilts up.
    """
    p = landmarks.points.astype(np.float64)
    across = p[LEFT_EYE_EAR[0]] - p[RIGHT_EYE_EAR[0]]    # right eye outer -> left eye outer
    down = p[CHIN] - p[FOREHEAD_TOP]
    normal = np.cross(across, down)
    n = normal / (np.linalg.norm(normal) + 1e-9)
    yaw = math.degrees(math.atan2(n[0], n[2]))
    pitch = math.degrees(math.atan2(n[1], n[2])) - _PITCH_BIAS_DEG
    roll = math.degrees(math.atan2(across[1], across[0]))
    return yaw, pitch, roll


def _sharpness(grey: np.ndarray, face: FaceBox) -> float:
    h, w = grey.shape
    x0, y0 = max(0, int(face.x)), max(0, int(face.y))
    x1, y1 = min(w, int(face.x + face.w)), min(h, int(face.y + face.h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return 0.0
    crop = grey[y0:y1, x0:x1]
    # Upsampling a small face would invent smoothness that is not in the photo's own
    # sampling; both directions use area/linear resampling to the same grid.
    interp = cv2.INTER_AREA if crop.shape[1] > _GRID else cv2.INTER_LINEAR
    crop = cv2.resize(crop, (_GRID, _GRID), interpolation=interp).astype(np.float32)
    lap = cv2.Laplacian(crop, cv2.CV_32F, ksize=3)
    return float(lap.var() / (crop.var() + 1.0))


def _mask(shape: tuple[int, int], xy: np.ndarray, ring: tuple[int, ...]) -> np.ndarray:
    m = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(m, [np.round(xy[list(ring)]).astype(np.int32)], 1)
    return m.astype(bool)


def _eye_aspect(xy: np.ndarray, spec) -> float:
    outer, inner, lids = spec
    width = np.linalg.norm(xy[outer] - xy[inner]) + 1e-6
    return float(np.mean([np.linalg.norm(xy[a] - xy[b]) for a, b in lids]) / width)


def _region_contrast(grey: np.ndarray, xy: np.ndarray, ring: tuple[int, ...], face_mean: float) -> float:
    """(p95 - p5) grey inside the eye opening, relative to the face's mean grey."""
    values = grey[_mask(grey.shape, xy, ring)]
    if values.size < 6 or not face_mean > 0:
        return 0.0
    lo, hi = np.percentile(values, [5, 95])
    return float((hi - lo) / face_mean)


def _lip_redness(image_rgb: np.ndarray, xy: np.ndarray, inner: np.ndarray, min_colour: float) -> float:
    """Mean CIE a* of the lips minus that of the forehead; NaN on a near-greyscale face."""
    lab = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    a, b = lab[..., 1] - 128.0, lab[..., 2] - 128.0
    if not inner.any() or float(np.mean(np.abs(a[inner]) + np.abs(b[inner]))) < min_colour:
        return math.nan
    lips = _mask(inner.shape, xy, LIPS_RING) & ~_mask(inner.shape, xy, MOUTH_GAP_RING)
    skin = _mask(inner.shape, xy, FOREHEAD_PATCH)
    if lips.sum() < 6 or skin.sum() < 6:
        return math.nan
    return float(a[lips].mean() - a[skin].mean())
