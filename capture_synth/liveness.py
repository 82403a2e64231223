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


# --- Presentation attacks for silent mode -------------------------------------------------

def _camera(img_rgb: np.ndarray, nrng, jpeg: int) -> np.ndarray:
    lin = SRGB_TO_LINEAR[img_rgb] * np.exp(nrng.normal(0, 0.02))
    lin = lin + nrng.normal(0, 0.004, lin.shape).astype(np.float32) * np.sqrt(np.maximum(lin, 0.01) / 0.2)
    return _jpeg(_to_srgb(lin), jpeg)


def _handheld(rng: random.Random, t_ms: float, phase: np.ndarray, amp: float) -> np.ndarray:
    """A smooth hand-held homography of a plane: tilt, roll, sway and breathing scale."""
    a = amp * np.sin(2 * np.pi * t_ms / 1000.0 * np.array([0.7, 0.45, 0.3, 0.9, 0.5]) + phase)
    tilt_x, tilt_y, roll, dx, dy = a[0] * 0.12, a[1] * 0.12, a[2] * 6.0, a[3] * 12.0, a[4] * 8.0
    cx, cy = W / 2, H / 2
    rot = cv2.getRotationMatrix2D((cx, cy), roll, 1.0 + 0.02 * a[0])
    m = np.vstack([rot, [0, 0, 1]])
    # Out-of-plane tilt of a plane = projective terms.
    p = np.array([[1, 0, 0], [0, 1, 0], [tilt_x / W, tilt_y / H, 1.0]])
    c = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    return np.linalg.inv(c) @ p @ c @ m @ np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]])


def photo_attack(portrait: Portrait, rng: random.Random, duration_ms: float = 3000.0,
                 fps: float = 15.0, screen: bool = False) -> list[Frame]:
    """A printed photo (or, with ``screen``, a phone screen showing it) held in front of the
    camera: the plane moves by hand, the camera adds noise and JPEG. On a screen the photo is
    shown on an RGB-stripe pixel grid that the camera re-samples (the source of moire)."""
    nrng = np.random.default_rng(rng.getrandbits(32))
    src = portrait.image
    if screen:
        # Display with ~2.6 camera pixels per display pixel: each pixel as R, G, B stripes.
        up = 3
        big = cv2.resize(src, (W * up, H * up), interpolation=cv2.INTER_NEAREST).astype(np.float32)
        stripes = np.zeros((1, W * up, 3), np.float32)
        for ch in range(3):
            stripes[0, ch::3, ch] = 1.0
        big = big * (0.25 + 0.75 * stripes)
        scale = 1.0 / up * rng.uniform(1.05, 1.25)
    frames, t = [], 0.0
    phase = nrng.uniform(0, 2 * np.pi, 5)
    while t <= duration_ms:
        hm = _handheld(rng, t, phase, rng.uniform(0.6, 1.0))
        if screen:
            s = np.array([[scale, 0, W / 2 * (1 - scale * up)], [0, scale, H / 2 * (1 - scale * up)], [0, 0, 1]])
            img = cv2.warpPerspective(big, hm @ s, (W, H), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_CONSTANT).clip(0, 255).astype(np.uint8)
        else:
            img = cv2.warpPerspective(src, hm, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frames.append(Frame(_camera(img, nrng, rng.randint(75, 92)), round(t, 1)))
        t += 1000.0 / fps + rng.uniform(-4, 4)
    return frames


# --- Mouth and eye animation of a real photo ------------------------------------------------

def _bump(x: np.ndarray, centre: float, half: float) -> np.ndarray:
    u = np.clip(np.abs(x - centre) / max(half, 1e-6), 0, 1)
    return 0.5 * (1 + np.cos(np.pi * u))


def animate(portrait: Portrait, mouth: float, eyes_closed: float) -> np.ndarray:
    """The portrait with the jaw dropped by ``mouth`` (inner-lip gap / mouth width) and both eyes
    ``eyes_closed`` (0 open .. 1 shut), by a smooth backward warp; the opened mouth's cavity is
    darkened like a real mouth interior."""
    xy = portrait.xy
    img = portrait.image
    if mouth <= 0 and eyes_closed <= 0:
        return img.copy()
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    dy = np.zeros((H, W), np.float32)
    mw = float(np.linalg.norm(xy[61] - xy[291]))
    if mouth > 0:
        d = mouth * mw
        y_lip = float((xy[13][1] + xy[14][1]) / 2)
        chin = float(xy[152][1])
        cx = float((xy[61][0] + xy[291][0]) / 2)
        jaw_half = float(abs(xy[172][0] - xy[397][0]) / 2)
        ramp = np.clip((yy - y_lip) / 2.0, 0, 1) * np.clip(1 - (yy - chin) / (0.6 * (chin - y_lip) + 1), 0, 1)
        # Lips stay joined at the corners; lower down the whole jaw drops.
        w_jaw = np.clip((yy - y_lip) / max(chin - y_lip, 1.0), 0, 1)
        across = (1 - w_jaw) * _bump(xx, cx, 0.55 * mw) + w_jaw * _bump(xx, cx, jaw_half)
        dy += d * ramp * across
    if eyes_closed > 0:
        for upper, lower, eye in ((159, 145, g.RIGHT_EYE), (386, 374, g.LEFT_EYE)):
            pts = xy[list(eye)]
            cx = float(pts[:, 0].mean())
            half = float((pts[:, 0].max() - pts[:, 0].min()) * 0.75)
            y_up, y_lo = float(xy[upper][1]), float(xy[lower][1])
            gap = max(y_lo - y_up, 1.0)
            top = y_up - 2.5 * gap
            stretch = np.clip((yy - top) / (y_lo - top), 0, 1) * (yy <= y_lo)
            dy += eyes_closed * gap * stretch * _bump(xx, cx, half)
    out = cv2.remap(img, xx, yy - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if mouth > 0:
        d = mouth * mw
        cx = float((xy[61][0] + xy[291][0]) / 2)
        upper_inner = xy[[78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]]
        lower_inner = xy[[308, 324, 318, 402, 317, 14, 87, 178, 88, 95, 78]].copy()
        lower_inner[:, 1] += d * _bump(lower_inner[:, 0], cx, 0.55 * mw)
        poly = np.round(np.vstack([upper_inner, lower_inner])).astype(np.int32)
        cavity = np.zeros((H, W), np.float32)
        cv2.fillPoly(cavity, [poly], 1.0)
        cavity = cv2.GaussianBlur(cavity, (0, 0), 1.2)[..., None]
        dark = np.array([45, 18, 20], np.float32)
        out = (out * (1 - cavity) + dark * cavity).astype(np.uint8)
    return out


def animated_capture(portrait: Portrait, mouth_fn, eyes_fn, duration_ms: float, rng: random.Random,
                     fps: float = 15.0) -> list[Frame]:
    """Frames of the portrait animated by ``mouth_fn(t_ms)`` and ``eyes_fn(t_ms)``, with small
    head motion, noise and JPEG like a phone capture."""
    nrng = np.random.default_rng(rng.getrandbits(32))
    frames, t = [], 0.0
    shift, angle = np.zeros(2), 0.0
    while t <= duration_ms:
        img = animate(portrait, mouth_fn(t), eyes_fn(t))
        shift += nrng.normal(0, 0.6, 2)
        angle += nrng.normal(0, 0.1)
        m = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
        m[:, 2] += shift
        img = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frames.append(Frame(_camera(img, nrng, rng.randint(75, 92)), round(t, 1)))
        t += 1000.0 / fps + rng.uniform(-4, 4)
    return frames


def syllables(onsets_ms: list[float], peak: float, dur_ms: float = 220.0):
    """Mouth-opening curve of syllables starting at ``onsets_ms`` (raised-cosine each)."""
    def f(t):
        v = 0.0
        for o in onsets_ms:
            u = (t - o) / dur_ms
            if 0 <= u <= 1:
                v = max(v, peak * 0.5 * (1 - np.cos(2 * np.pi * u)))
        return v
    return f


def pulse(start_ms: float, dur_ms: float, peak: float = 1.0):
    """A single raise-hold-release action curve (a blink, or a wide mouth opening)."""
    def f(t):
        u = (t - start_ms) / dur_ms
        return float(peak * np.sin(np.pi * u) ** 0.5) if 0 <= u <= 1 else 0.0
    return f


def none(_t):
    return 0.0
