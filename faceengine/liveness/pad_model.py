"""Optional presentation-attack model (MiniFASNet-style ONNX) run with onnxruntime.

Preprocessing is part of the options because it belongs to the weights: the MiniFASNet exports
in shared/facedata/models take a face box scaled about its centre (2.7 for V2, 4.0 for V1SE),
shifted back inside the image, resized to 80x80, BGR, raw 0..255 floats, NCHW; output logits,
class 1 = real.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import EngineUnavailable


@dataclass(frozen=True)
class PadModelOptions:
    path: Path
    box_scale: float = 2.7
    input_size: int = 80
    bgr: bool = True
    scale_01: bool = False       # divide by 255 before the network
    real_class: int = 1
    min_real_probability: float = 0.5


class PadModel:
    """One ONNX session per process; ``real_probability`` is thread-safe."""

    def __init__(self, options: PadModelOptions):
        try:
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            self._session = ort.InferenceSession(str(options.path), so,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/NoSuchFile types
            raise EngineUnavailable(f"PAD model {Path(options.path).name} unavailable: {exc}") from exc
        self._input = self._session.get_inputs()[0].name
        self.options = options
        self._lock = threading.Lock()

    def _crop(self, image_rgb: np.ndarray, box_xywh) -> np.ndarray:
        h, w = image_rgb.shape[:2]
        x, y, bw, bh = box_xywh
        s = min(self.options.box_scale, (h - 1) / max(bh, 1), (w - 1) / max(bw, 1))
        cw, ch = bw * s, bh * s
        cx, cy = x + bw / 2, y + bh / 2
        x0 = min(max(0.0, cx - cw / 2), w - 1 - cw)
        y0 = min(max(0.0, cy - ch / 2), h - 1 - ch)
        crop = image_rgb[int(y0):int(y0 + ch) + 1, int(x0):int(x0 + cw) + 1]
        n = self.options.input_size
        crop = cv2.resize(crop, (n, n), interpolation=cv2.INTER_LINEAR)
        if self.options.bgr:
            crop = crop[:, :, ::-1]
        x = crop.astype(np.float32).transpose(2, 0, 1)[None]
        return x / 255.0 if self.options.scale_01 else x

    def real_probability(self, image_rgb: np.ndarray, box_xywh) -> float:
        x = self._crop(image_rgb, box_xywh)
        try:
            with self._lock:
                logits = self._session.run(None, {self._input: np.ascontiguousarray(x)})[0][0]
        except Exception as exc:  # onnxruntime's runtime errors
            raise EngineUnavailable(f"PAD model failed: {exc}") from exc
        p = np.exp(logits - logits.max())
        return float(p[self.options.real_class] / p.sum())
