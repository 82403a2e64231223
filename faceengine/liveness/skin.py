"""Mean linear-light colour of the face's skin and of the background in one frame.

Skin: the face oval without eyes, brows, lips and nostrils (hair, eye whites and the mouth
interior do not reflect like skin). Background: outside the face box grown by half a face,
above the chin (the torso is almost as close to the screen as the face).
"""
from __future__ import annotations

import cv2
import numpy as np

from . import geometry as g

# sRGB -> linear light, so that reflected light adds (cameras encode with ~sRGB gamma).
_c = np.arange(256) / 255.0
SRGB_TO_LINEAR = np.where(_c <= 0.04045, _c / 12.92, ((_c + 0.055) / 1.055) ** 2.4).astype(np.float32)

_LUT3 = np.repeat(SRGB_TO_LINEAR.reshape(256, 1, 1), 3, axis=2).reshape(1, 256, 3)

_HOLES = (g.RIGHT_EYE, g.LEFT_EYE, g.RIGHT_BROW, g.LEFT_BROW, g.LIPS_OUTER, g.NOSTRILS)


def skin_mask(shape_hw: tuple[int, int], xy: np.ndarray) -> np.ndarray:
    """uint8 mask (1 = skin) of a face with landmarks ``xy`` in an image of ``shape_hw``."""
    h, w = shape_hw
    # Work inside the face's box only: the morphology is the costly part.
    x0, y0 = np.maximum(np.floor(xy.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(xy.max(axis=0)).astype(int) + 3, (w, h))
    full = np.zeros(shape_hw, np.uint8)
    if x1 <= x0 or y1 <= y0:
        return full
    xy = xy - np.float32([x0, y0])
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    iod = g.interocular(xy)
    cv2.fillPoly(mask, [np.round(xy[list(g.FACE_OVAL)]).astype(np.int32)], 1)
    # Pull in from the outline: the oval's edge pixels mix skin with hair and background.
    k = max(1, int(round(iod * 0.12)))
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    holes = np.zeros_like(mask)
    for region in _HOLES:
        cv2.fillPoly(holes, [cv2.convexHull(np.round(xy[list(region)]).astype(np.int32))], 1)
    holes = cv2.dilate(holes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    mask[holes > 0] = 0
    full[y0:y1, x0:x1] = mask
    return full


def background_mask(shape_hw: tuple[int, int], xy: np.ndarray) -> np.ndarray:
    h, w = shape_hw
    mn, mx = xy.min(axis=0), xy.max(axis=0)
    pad = 0.5 * (mx[0] - mn[0])
    mask = np.zeros(shape_hw, np.uint8)
    chin = int(min(h, max(0, xy[g.CHIN][1])))
    mask[:chin, :] = 1
    x0, y0 = int(max(0, mn[0] - pad)), int(max(0, mn[1] - pad))
    x1, y1 = int(min(w, mx[0] + pad)), int(min(h, mx[1] + pad))
    mask[y0:y1, x0:x1] = 0
    return mask


def linear(image_rgb: np.ndarray) -> np.ndarray:
    """float32 linear-light RGB of an sRGB uint8 image."""
    return cv2.LUT(image_rgb, _LUT3)


def mean_linear(lin: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
    """(mean of linear RGB ``lin`` over a uint8 mask, pixel count).

    Clipped pixels stay in: leaving them out would select pixels by brightness, which changes
    with the shown colour and biases the other channels; kept in, they only damp the response.
    """
    n = int(cv2.countNonZero(mask))
    if n == 0:
        return np.zeros(3, np.float32), 0
    return np.array(cv2.mean(lin, mask=mask)[:3], np.float32), n
