"""Fit the MediaPipe-box -> dlib-rectangle mapping used by faceengine/embed.py.

dlib's 5-point shape predictor was trained on boxes from dlib's HOG detector, so the engine
feeds it a rectangle shaped like a HOG box, derived from the MediaPipe box. This script runs
both detectors on ../shared/facedata, pairs boxes that overlap (IoU > 0.3) and prints the
median offset and scale. Run: .venv/bin/python bench/fit_dlib_box.py
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import dlib  # noqa: E402
import numpy as np  # noqa: E402

from bench.facedata import identity_photos  # noqa: E402
from faceengine.detect import FaceDetector  # noqa: E402
from faceengine.intake import decode_image  # noqa: E402


def main() -> int:
    photos = identity_photos()
    if not photos:
        print("../shared/facedata absent: nothing to fit")
        return 0
    detector, hog = FaceDetector(), dlib.get_frontal_face_detector()
    rows = []
    for photo in photos:
        rgb = decode_image(photo.path.read_bytes())
        s = min(1.0, 800 / max(rgb.shape[:2]))
        if s < 1:
            rgb = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        faces = detector.detect(rgb)
        if not faces:
            continue
        fb = faces[0]
        for r in hog(rgb, 1 if max(rgb.shape) < 500 else 0):
            x0, y0, x1, y1 = r.left(), r.top(), r.right(), r.bottom()
            ix = max(0.0, min(x1, fb.x + fb.w) - max(x0, fb.x))
            iy = max(0.0, min(y1, fb.y + fb.h) - max(y0, fb.y))
            inter = ix * iy
            if inter / ((x1 - x0) * (y1 - y0) + fb.w * fb.h - inter) > 0.3:
                cx, cy = fb.center
                rows.append((((x0 + x1) / 2 - cx) / fb.w, ((y0 + y1) / 2 - cy) / fb.h,
                             (x1 - x0) / fb.w, (y1 - y0) / fb.h))
    r = np.array(rows)
    print(f"paired boxes: {len(r)} of {len(photos)} photos")
    for name, col in zip(("dx/w", "dy/h", "side_x/w", "side_y/h"), r.T):
        q1, med, q3 = np.percentile(col, [25, 50, 75])
        print(f"{name:9s} median {med:+.4f}  IQR {q3 - q1:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
