"""Face templates with dlib's ResNet face descriptor (dlib_face_recognition_resnet_model_v1).

Input images are RGB uint8 (H, W, 3). The face is located by MediaPipe; dlib's HOG detector
is never run. The MediaPipe box is turned into a rectangle shaped like the HOG boxes the
5-point shape predictor was trained on, the predictor finds eye corners and nose base inside
it, and dlib aligns a 150x150 chip (padding 0.25, the same as ``get_face_chip``) before the
128-d descriptor. Model files come from the installed ``face_recognition_models`` package.
By default the descriptor network runs through onnxruntime (faceengine/dlib_onnx.py converts
dlib's weights in memory); the numbers are dlib's, so templates keep one model id.
"""
from __future__ import annotations

import struct
import threading
from dataclasses import dataclass

import numpy as np

from .detect import FaceBox
from .errors import EngineUnavailable, FaceEngineError

DLIB_MODEL_ID = "dlib_resnet_v1"

# MediaPipe box -> HOG-like box, measured by bench/fit_dlib_box.py on ../shared/facedata
# (213 paired boxes): the HOG box centre sits -0.019 w, -0.005 h from the MediaPipe centre
# and its side is 0.92 of the MediaPipe width (IQR of the side ratio 0.11).
_BOX_DX, _BOX_DY, _BOX_SIDE = -0.0185, -0.0055, 0.92

CHIP_SIZE = 150
CHIP_PADDING = 0.25


@dataclass(frozen=True, eq=False)
class FaceTemplate:
    """A face descriptor. ``vector`` is float32 (D,); ``model`` names the embedder that made it,
    so templates of different embedders are never compared."""

    vector: np.ndarray
    model: str

    def to_bytes(self) -> bytes:
        """Compact serialisation: u8 name length, name (ASCII), float32 little-endian values."""
        name = self.model.encode("ascii")
        return struct.pack("<B", len(name)) + name + self.vector.astype("<f4").tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "FaceTemplate":
        try:
            n = blob[0]
            model = blob[1:1 + n].decode("ascii")
            vector = np.frombuffer(blob[1 + n:], dtype="<f4").astype(np.float32)
        except (IndexError, UnicodeDecodeError, ValueError) as exc:
            raise FaceEngineError(f"not a face template: {exc}") from None
        if vector.size == 0:
            raise FaceEngineError("not a face template: no values")
        return cls(vector, model)


def dlib_rect_for(box: FaceBox) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the HOG-like square the shape predictor expects."""
    cx, cy = box.center
    cx += _BOX_DX * box.w
    cy += _BOX_DY * box.h
    half = _BOX_SIDE * box.w / 2.0
    return (int(round(cx - half)), int(round(cy - half)),
            int(round(cx + half)), int(round(cy + half)))


class DlibEmbedder:
    """5-point alignment + ResNet descriptor. Construct once per process (loads ~30 MB)."""

    model_id = DLIB_MODEL_ID
    needs_landmarks = False  # dlib's own 5-point predictor aligns inside the box

    def __init__(self, predictor_path: str | None = None, model_path: str | None = None,
                 backend: str = "onnxruntime"):
        """``backend``: "onnxruntime" runs dlib's network converted in memory (same numbers,
        ~25 ms instead of ~180 ms per face here: see faceengine/dlib_onnx.py); "dlib" runs
        dlib's own implementation."""
        if backend not in ("onnxruntime", "dlib"):
            raise EngineUnavailable(f"unknown dlib backend {backend!r}")
        try:
            import dlib
            import face_recognition_models as frm
        except ImportError as exc:
            raise EngineUnavailable(f"dlib or face_recognition_models missing: {exc}") from exc
        predictor_path = predictor_path or frm.pose_predictor_five_point_model_location()
        model_path = model_path or frm.face_recognition_model_location()
        try:
            self._predictor = dlib.shape_predictor(predictor_path)
            self._net = dlib.face_recognition_model_v1(model_path) if backend == "dlib" else None
        except RuntimeError as exc:
            raise EngineUnavailable(f"cannot load dlib models: {exc}") from exc
        self._onnx = None
        if backend == "onnxruntime":
            from .dlib_onnx import DlibOnnxNet
            self._onnx = DlibOnnxNet(model_path)
        self.backend = backend
        self._dlib = dlib
        # dlib's network object keeps scratch tensors between calls; serialise them.
        self._lock = threading.Lock()

    def shape(self, image_rgb: np.ndarray, box: FaceBox):
        """dlib full_object_detection with 5 points (eye corners, nose base), pixels (x, y)."""
        rect = self._dlib.rectangle(*dlib_rect_for(box))
        try:
            return self._predictor(_contiguous(image_rgb), rect)
        except RuntimeError as exc:
            raise FaceEngineError(f"dlib shape predictor failed: {exc}") from exc

    def chip(self, image_rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        """Aligned 150x150 RGB face chip, the network's input."""
        img = _contiguous(image_rgb)
        try:
            return self._dlib.get_face_chip(img, self.shape(img, box), CHIP_SIZE, CHIP_PADDING)
        except RuntimeError as exc:
            raise FaceEngineError(f"dlib alignment failed: {exc}") from exc

    def embed_chip(self, chip_rgb: np.ndarray) -> FaceTemplate:
        chip_rgb = _contiguous(chip_rgb)
        if self._onnx is not None:
            return FaceTemplate(self._onnx.descriptor(chip_rgb), self.model_id)
        try:
            with self._lock:
                vec = self._net.compute_face_descriptor(chip_rgb)
        except RuntimeError as exc:
            raise FaceEngineError(f"dlib descriptor failed: {exc}") from exc
        return FaceTemplate(np.asarray(vec, dtype=np.float32), self.model_id)

    def embed(self, image_rgb: np.ndarray, box: FaceBox, landmarks=None) -> FaceTemplate:
        """128-d template of the face in ``box`` (unit-free; compare with Euclidean distance).
        ``landmarks`` is accepted for interface parity with the ONNX embedder and unused:
        dlib's own 5-point predictor gives the alignment its network was trained with."""
        return self.embed_chip(self.chip(image_rgb, box))


def _contiguous(image_rgb: np.ndarray) -> np.ndarray:
    if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise FaceEngineError("expected an RGB uint8 image of shape (H, W, 3)")
    return np.ascontiguousarray(image_rgb)
