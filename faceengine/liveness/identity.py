"""Is the face at the start, the best frame and the end of a capture the same person?

The cheap per-frame appearance test in ``track`` only catches abrupt cuts between dissimilar
faces; telling two similar people apart needs a face-recognition descriptor. It is plugged in
through ``FaceIdentity``:

- ``EngineIdentity`` (what the service runs): the loaded face engine's own embedder
  (``FACE_EMBEDDER``; with the default MobileFaceNet, its one-pass descriptor: the aligned crop
  without the mirrored one, half a template's cost), aligned by the mesh the liveness track already
  has (no detection or mesh runs again), decided at a low-FAR point of that descriptor's own
  calibrated curve (:data:`IDENTITY_MIN_SIM`).
- ``DlibIdentity``: dlib's own network (face_recognition_models) at dlib's published distance, for
  a caller without an engine; ~7x slower than the same network through onnxruntime.
"""
from __future__ import annotations

import threading
from typing import Protocol

import numpy as np

from ..detect import FaceBox, FaceLandmarks
from ..errors import EngineUnavailable
from ..fusion import FUSED_MODEL_ID
from ..mobilefacenet import MODEL_ID as MOBILEFACENET_ID
from ..mobilefacenet import ONE_PASS_MODEL_ID


class FaceIdentity(Protocol):
    """A face-recognition descriptor and its same-person decision."""

    def descriptor(self, image_rgb: np.ndarray, box_xywh: tuple[float, float, float, float],
                   landmarks: np.ndarray | None = None) -> np.ndarray:
        """Descriptor of the face inside ``box_xywh`` (pixels) of an RGB image. ``landmarks``: the
        face's mesh points (N, 3), pixels of the same image, when the caller has them (an embedder
        that aligns by the mesh then need not mesh the face again)."""

    def same_person(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Do two descriptors belong to one person, at the model's own operating point?"""


# The descriptor the identity check takes, by the engine's embedder: MobileFaceNet's one pass (the
# crop without its mirror), half a template's cost with its own calibrated curve; other embedders'
# own templates.
IDENTITY_MODEL = {MOBILEFACENET_ID: ONE_PASS_MODEL_ID}

# The identity check's operating point, by descriptor, as a Sim of that descriptor's calibrated curve
# (Sim = 40 - 10 log10 FAR on the East Asian impostor pairs, docs/calibration.md): Sim 80, FAR
# 1/10,000, for MobileFaceNet's one pass (cosine distance 0.5221; below 1/100 the curve is a fitted
# tail: 2 of the 18,504 calibration impostor pairs lie beyond it) and the fused templates. Ten times
# stricter than the comparison's Sim 70, because the pairs here are frames of one capture seconds
# apart, not two photos years apart: on the 34 three-second windows of the 23 real clips of
# ../shared/facedata (GRID, LivePortrait; either track mesh) the one pass read Sim >= 90.8 between
# the best frame and the first and the last face, and <= 54.1 on 21 splices of two of those people
# (bench/liveness.py; the fused templates >= 90.8 and <= 62.0 on 40 windows of the same clips).
# Other descriptors keep the product's Sim 70: under dlib's East Asian curve expressive genuine
# captures (winks, grimaces) already read 50-62 against their best frame, and an operator's ONNX
# model is not measured here.
IDENTITY_MIN_SIM = {ONE_PASS_MODEL_ID: 80.0, FUSED_MODEL_ID: 80.0}


def identity_model(engine_model_id: str) -> str:
    """The model id of the identity check's descriptors when the engine embeds with ``engine_model_id``."""
    return IDENTITY_MODEL.get(engine_model_id, engine_model_id)


def identity_min_sim(model_id: str, default: float) -> float:
    """Sim at which two descriptors of one capture are the same person, for ``model_id``'s
    descriptors; ``default`` (the product's match threshold) for one without its own point."""
    return IDENTITY_MIN_SIM.get(model_id, default)


class EngineIdentity:
    """``FaceIdentity`` on a loaded ``FaceEngine``'s own embedder (what the service runs).

    Descriptors are made by the engine (``engine.template`` with :func:`identity_model`'s model,
    loaded here, at the kit's construction, not during a check), aligned by the landmarks the track
    passes (its own mesh), so nothing is detected or meshed again. ``same_person``: Sim through the
    descriptors' calibrated curve at ``min_sim`` (default: :func:`identity_min_sim`).
    """

    def __init__(self, engine, min_sim: float | None = None):
        self._engine = engine
        self.model_id = identity_model(engine.model_id)
        engine.curve_for(self.model_id)   # loads the descriptor's embedder now
        self.min_sim = identity_min_sim(self.model_id, engine.match_threshold) if min_sim is None \
            else float(min_sim)

    def descriptor(self, image_rgb: np.ndarray, box_xywh: tuple[float, float, float, float],
                   landmarks: np.ndarray | None = None):
        # The track knows the face's box and mesh, not the detector's keypoints (none are passed).
        x, y, w, h = box_xywh
        box = FaceBox(float(x), float(y), float(w), float(h), 1.0, np.zeros((6, 2), np.float32))
        mesh = FaceLandmarks(np.asarray(landmarks, np.float32)) if landmarks is not None else None
        return self._engine.template(image_rgb, box, mesh, model=self.model_id)

    def sim(self, a, b) -> float:
        """Sim in [0, 100] of two descriptors, through their embedder's calibrated curve."""
        return self._engine.compare(a, b)

    def same_person(self, a, b) -> bool:
        return self.sim(a, b) >= self.min_sim


class DlibIdentity:
    """dlib's ResNet descriptor run by dlib itself (face_recognition_models). Load once per process.

    Distance threshold 0.6 is dlib's published operating point (99.38% on LFW; on the East Asian
    calibration pairs it is about Sim 46, FAR ~1/4: docs/calibration.md). 80-150 ms per descriptor
    on one slow core, 3 per check: not the service's check (``EngineIdentity``).
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
