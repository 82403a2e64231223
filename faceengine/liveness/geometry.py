"""Landmark index sets of MediaPipe's 468-point mesh and the measures built on them.

Points are pixels (x, y[, z]). "Right"/"left" are the subject's.
"""
from __future__ import annotations

import numpy as np

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
RIGHT_EYE = (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7)
LEFT_EYE = (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249)
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39,
              40, 185)
NOSTRILS = (98, 97, 2, 326, 327, 294, 278, 344, 440, 275, 4, 45, 220, 115, 48, 64)

# Eye aspect ratio: corner, two upper-lid, corner, two lower-lid points (Soukupova & Cech 2016).
RIGHT_EAR_POINTS = (33, 160, 158, 133, 153, 144)
LEFT_EAR_POINTS = (362, 385, 387, 263, 373, 380)
# Inner-lip pairs (upper, lower) across the mouth, and the outer corners for the width.
INNER_LIP_PAIRS = ((13, 14), (82, 87), (312, 317))
MOUTH_CORNERS = (61, 291)
OUTER_LIP_MIDDLE = (0, 17)          # top of the upper lip, bottom of the lower lip
CHIN = 152
NOSE_TIP = 1
# Points of the face that barely move with expression: used for rigid fits.
RIGID_POINTS = (1, 4, 6, 168, 197, 195, 5, 33, 133, 362, 263, 234, 454, 10, 152, 98, 327, 127, 356)


def eye_centres(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(right, left) eye centres as the mean of each eye contour."""
    return xy[list(RIGHT_EYE)].mean(axis=0), xy[list(LEFT_EYE)].mean(axis=0)


def interocular(xy: np.ndarray) -> float:
    r, l = eye_centres(xy)
    return float(np.linalg.norm(r - l))


def eye_aspect_ratio(xy: np.ndarray) -> float:
    """Mean of both eyes' EAR; ~0.25-0.35 open, below ~0.15 closed."""
    vals = []
    for p in (RIGHT_EAR_POINTS, LEFT_EAR_POINTS):
        p1, p2, p3, p4, p5, p6 = (xy[i] for i in p)
        width = np.linalg.norm(p1 - p4)
        vals.append((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2.0 * max(width, 1e-6)))
    return float(np.mean(vals))


def mouth_opening(xy: np.ndarray) -> float:
    """Inner-lip gap over mouth width: ~0 closed, ~0.1-0.4 speaking, > 0.5 wide open."""
    gap = np.mean([np.linalg.norm(xy[a] - xy[b]) for a, b in INNER_LIP_PAIRS])
    width = np.linalg.norm(xy[MOUTH_CORNERS[0]] - xy[MOUTH_CORNERS[1]])
    return float(gap / max(width, 1e-6))


def lip_height(xy: np.ndarray) -> float:
    """Outer height of the lips over mouth width: ~0.3-0.4 closed (the lips' own thickness) and
    rising with the jaw. Coarser than ``mouth_opening`` but the mesh does not snap it: on soft
    images the inner-lip points sometimes collapse for a frame while the outer contour holds."""
    height = np.linalg.norm(xy[OUTER_LIP_MIDDLE[0]] - xy[OUTER_LIP_MIDDLE[1]])
    width = np.linalg.norm(xy[MOUTH_CORNERS[0]] - xy[MOUTH_CORNERS[1]])
    return float(height / max(width, 1e-6))
