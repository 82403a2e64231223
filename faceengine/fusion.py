"""Score-level fusion of dlib's ResNet descriptor and MobileFaceNet (``FACE_EMBEDDER=fused``).

A fused template is the two templates concatenated, ``[dlib (128) | MobileFaceNet (128)]``, under
its own model id; two fused templates are compared by :class:`~faceengine.similarity.ZFusion`
(each part's distance z-normalised on its impostor distances, then averaged with
``FUSION.weight``) through its own calibrated curve, ``FUSED_CURVE``. It costs both embedders'
time; docs/calibration.md has whether it pays on each population.
"""
from __future__ import annotations

import numpy as np

from .detect import FaceBox, FaceLandmarks
from .embed import DlibEmbedder, FaceTemplate

FUSED_MODEL_ID = "fused_dlib_mobilefacenet_v1"


class FusedEmbedder:
    model_id = FUSED_MODEL_ID
    needs_landmarks = True

    def __init__(self, dlib: DlibEmbedder, mobilefacenet):
        self._parts = (dlib, mobilefacenet)

    def embed(self, image_rgb: np.ndarray, box: FaceBox,
              landmarks: FaceLandmarks | None = None) -> FaceTemplate:
        vectors = [part.embed(image_rgb, box, landmarks).vector for part in self._parts]
        return FaceTemplate(np.concatenate(vectors).astype(np.float32), self.model_id)
