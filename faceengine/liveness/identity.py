"""Is the face at the start, the best frame and the end of a capture the same person?

The cheap per-frame appearance test in ``track`` only catches abrupt cuts between dissimilar
faces; telling two similar people apart needs a face-recognition descriptor. It is plugged in
through ``FaceIdentity`` so the engine can pass the embedder it already has loaded.
``DlibIdentity`` is a ready implementation on the dlib models the project already ships.
"""
from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from ..errors import EngineUnavailable


class FaceIdentity(Protocol):
    """A face-recognition descriptor and its same-person decision."""

    def descriptor(self, image_rgb: np.ndarray, box_xywh: tuple[float, float, float, float],
                   landmarks: np.ndarray | None = None) -> np.ndarray:
        """Descriptor of the face inside ``box_xywh`` (pixels) of an RGB image. ``landmarks``: the
        face's mesh points (N, 3), pixels of the same image, when the caller has them (an embedder
        that aligns by the mesh then need not mesh the face again)."""

    def same_person(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Do two descriptors belong to one person, at the model's own operating point?"""


class DlibIdentity:
    """dlib's ResNet descriptor (face_recognition_models). Load once per process.

    Distance threshold 0.6 is dlib's published operating point (99.38% on LFW). About 150 ms per
    descriptor on one slow core, so the track uses it on three frames only.
    """

    def __init__(self, max_distance: float = 0.6):
        try:
            import dlib
            import face_recognition_models as frm

            self._shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
            self._net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
            self._rect = dlib.rectangle
            self._chip = dlib.get_face_chip
        except (ImportError, RuntimeError) as exc:
            raise EngineUnavailable(f"dlib face descriptor unavailable: {exc}") from exc
        self.max_distance = max_distance
        self._lock = threading.Lock()

    def descriptor(self, image_rgb, box_xywh, landmarks=None):
        x, y, w, h = (int(round(v)) for v in box_xywh)
        img = np.ascontiguousarray(image_rgb)
        try:
            with self._lock:
                shape = self._shape(img, self._rect(x, y, x + w, y + h))
                chip = self._chip(img, shape, size=150, padding=0.25)
                return np.asarray(self._net.compute_face_descriptor(chip), dtype=np.float32)
        except RuntimeError as exc:
            raise EngineUnavailable(f"dlib descriptor failed: {exc}") from exc

    def same_person(self, a, b):
        return float(np.linalg.norm(a - b)) <= self.max_distance
