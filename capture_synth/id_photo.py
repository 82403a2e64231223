"""Make an ID-chip portrait (the photo a Chinese resident ID card's chip holds) from a real photo.

The chip holds a 102 x 126 colour portrait, JPEG-compressed: upright, frontal, the whole head
inside with a small margin above the crown, about 1.9 face widths wide, shoulders below the chin.
This reproduces that framing from any photo with a face mesh:

1. level the eyes (an ID photo is taken upright);
2. width = ``width_faces`` x the face width (the mesh's face-oval extent at the cheekbones);
3. the crown (estimated a quarter of the forehead-chin length above the mesh's forehead top)
   sits ``top_margin`` of the height below the top edge; height = width x 126 / 102;
4. area-resample to 102 x 126 and JPEG-encode at ``quality``.

Where the crop leaves the source photo (a tight face crop), the border pixels are repeated, as a
flat studio background would continue. Used by the bench's ID protocol and by the tests that enrol
a chip portrait; the numbers are ID-photo practice, not fitted to any data set.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from faceengine.detect import FaceLandmarks

CHIP_SIZE = (102, 126)          # (width, height) of the chip portrait
FACE_OVAL_SIDES = (234, 454)    # mesh points at the widest part of the face (image-left, image-right)
FOREHEAD_TOP, CHIN = 10, 152
EYE_OUTER = (33, 263)


def chip_portrait(image_rgb: np.ndarray, landmarks: FaceLandmarks, *, width_faces: float = 1.9,
                  top_margin: float = 0.08, crown_above_forehead: float = 0.25,
                  quality: int = 60) -> bytes:
    """The ID-chip JPEG (102 x 126) of the face whose mesh is ``landmarks`` (pixels of ``image_rgb``)."""
    xy = landmarks.xy.astype(np.float64)
    left, right = xy[EYE_OUTER[0]], xy[EYE_OUTER[1]]
    roll = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
    centre = xy[[FACE_OVAL_SIDES[0], FACE_OVAL_SIDES[1], FOREHEAD_TOP, CHIN]].mean(axis=0)
    level = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), roll, 1.0)
    pts = np.hstack([xy, np.ones((len(xy), 1))]) @ level.T          # mesh in the levelled image
    face_w = abs(pts[FACE_OVAL_SIDES[1], 0] - pts[FACE_OVAL_SIDES[0], 0])
    length = pts[CHIN, 1] - pts[FOREHEAD_TOP, 1]
    crown = pts[FOREHEAD_TOP, 1] - crown_above_forehead * length
    out_w, out_h = CHIP_SIZE
    width = width_faces * face_w
    height = width * out_h / out_w
    cx = 0.5 * (pts[FACE_OVAL_SIDES[0], 0] + pts[FACE_OVAL_SIDES[1], 0])
    x0, y0 = cx - width / 2, crown - top_margin * height
    # One affine map: level, then take the crop [x0, x0+width] x [y0, y0+height] to the chip.
    s = out_w / width
    crop = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]]) @ np.vstack([level, [0, 0, 1]])
    # Area-like resampling for a large downscale: blur to the output's sampling first.
    k = 1.0 / s
    src = image_rgb
    if k > 1.5:
        sigma = 0.45 * k
        src = cv2.GaussianBlur(image_rgb, (0, 0), sigmaX=sigma, sigmaY=sigma)
    chip = cv2.warpAffine(src, crop, CHIP_SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(chip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("cannot encode the chip portrait")
    return buf.tobytes()
