"""Synthetic captures built from REAL face photos, for liveness tests and the bench.

Light: a real photo re-lit by a physical model of the phone screen's reflection (additive
linear light, strong on the face, weak on the background), with camera auto-exposure and white
balance jitter, sensor noise, small head motion and JPEG compression; and the attacks on it.
Lip/action: the real photo's mouth opened and eyes closed by a smooth landmark-driven warp (the
open mouth's cavity is darkened, as a real mouth interior is), timed like speech or an action.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np

from faceengine.detect import FaceMesher
from faceengine.liveness import geometry as g
from faceengine.liveness.challenge import LightChallenge
from faceengine.liveness.skin import SRGB_TO_LINEAR
from faceengine.liveness.types import Frame

W, H = 640, 480


def _to_srgb(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, 1.0)
    s = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.power(lin, 1 / 2.4) - 0.055)
    return np.clip(s * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _jpeg(img_rgb: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@dataclass
class Portrait:
    """A real photo framed as a 640x480 capture, with its mesh (pixels)."""

    image: np.ndarray
    xy: np.ndarray

    @classmethod
    def from_photo(cls, photo_rgb: np.ndarray, mesher: FaceMesher, face_height: float = 0.55) -> "Portrait":
        """Scale so the face spans ``face_height`` of the frame height, centre it, fill the rest by
        reflecting the photo's border (keeps real background texture)."""
        pts = mesher.landmarks(photo_rgb)[0].xy
        fh = pts[:, 1].max() - pts[:, 1].min()
        s = face_height * H / fh
        cx, cy = pts.mean(axis=0) * s
        m = np.float32([[s, 0, W / 2 - cx], [0, s, H / 2 - cy]])
        img = cv2.warpAffine(photo_rgb, m, (W, H), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
        found = mesher.landmarks(img)
        return cls(img, found[0].xy)

    def aligned_to(self, other: "Portrait") -> "Portrait":
        """This face moved so its eyes land on ``other``'s eyes (the hardest splice)."""
        src = np.float32([*g.eye_centres(self.xy)])
        dst = np.float32([*g.eye_centres(other.xy)])
        m, _ = cv2.estimateAffinePartial2D(src, dst)
        img = cv2.warpAffine(self.image, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        xy = self.xy @ m[:, :2].T + m[:, 2]
        return Portrait(img, xy.astype(np.float32))

    def face_weight(self) -> np.ndarray:
        """Irradiance share 0..1 of each pixel: 1 on the face and hair at face distance, fading out."""
        mask = np.zeros((H, W), np.float32)
        hull = cv2.convexHull(np.round(self.xy).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1.0)
        fw = self.xy[:, 0].max() - self.xy[:, 0].min()
        k = int(fw * 0.15) | 1
        return cv2.GaussianBlur(mask, (0, 0), sigmaX=k / 2.0)


@dataclass
class LightParams:
    alpha: float       # screen irradiance on the face / ambient, per unit colour
    bg_frac: float     # background's share of what the face gets
    lag_ms: float
    jpeg: int
    fps: float = 15.0
    mode: str = "reflect"  # reflect | none | tint_mult | tint_add


def genuine_light_params(rng: random.Random) -> LightParams:
    """Ranges from the physics of a phone at 25-40 cm indoors (docs/liveness.md)."""
    return LightParams(alpha=rng.uniform(0.08, 0.3), bg_frac=rng.uniform(0.02, 0.2),
                       lag_ms=rng.uniform(20, 180), jpeg=rng.randint(70, 90))


def light_capture(portraits: list[Portrait], shown: LightChallenge, params: LightParams,
                  rng: random.Random, tail_ms: float = 400.0) -> list[Frame]:
    """Frames of a capture while ``shown`` plays; ``portraits`` are used in equal consecutive
    parts of the capture (two = a splice)."""
    nrng = np.random.default_rng(rng.getrandbits(32))
    colours = SRGB_TO_LINEAR[np.round(np.array(shown.rgb()) * 255).astype(int)]
    duration = shown.duration_ms + tail_ms
    lin = [SRGB_TO_LINEAR[p.image] for p in portraits]
    weights = [p.face_weight()[..., None] for p in portraits]
    frames, t = [], 0.0
    shift = np.zeros(2)
    angle = 0.0
    awb = np.ones(3)
    while t <= duration:
        part = min(len(portraits) - 1, int(len(portraits) * t / duration))
        k = int(np.floor((t - params.lag_ms) / shown.slot_ms))
        c = colours[k] if 0 <= k < len(colours) else np.full(3, 0.8)  # white UI around the sequence
        base = lin[part]
        if params.mode == "reflect":
            wgt = weights[part] * (1 - params.bg_frac) + params.bg_frac
            img = base * (1.0 + params.alpha * wgt * c)
        elif params.mode == "tint_mult":
            img = base * (1.0 + params.alpha * c)
        elif params.mode == "tint_add":
            img = base + 0.5 * params.alpha * c
        else:
            img = base.copy()
        # Auto exposure pulls the mean back with a lag and jitters; white balance drifts.
        awb = awb * np.exp(nrng.normal(0, 0.004, 3))
        gain = np.exp(nrng.normal(0, 0.02)) / (1.0 + 0.5 * (img.mean() - base.mean()) / max(base.mean(), 1e-3))
        img = img * gain * awb
        shift += nrng.normal(0, 0.8, 2)
        angle += nrng.normal(0, 0.15)
        m = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
        m[:, 2] += shift
        img = cv2.warpAffine(img.astype(np.float32), m, (W, H), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT)
        img = img + nrng.normal(0, 0.004, img.shape).astype(np.float32) * np.sqrt(np.maximum(img, 0.01) / 0.2)
        frames.append(Frame(_jpeg(_to_srgb(img), params.jpeg), round(t, 1)))
        t += 1000.0 / params.fps + rng.uniform(-4, 4)
    return frames
