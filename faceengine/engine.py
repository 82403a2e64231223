"""FaceEngine: detector + mesher + embedder behind one object, loaded once per process.

    engine = FaceEngine(EngineOptions()).load()      # after fork, once per worker
    a = engine.analyse(rgb_a)                         # RGB uint8 (H, W, 3)
    if a.quality.ok and b.template is not None:
        sim = engine.compare(a.template, b.template)  # 0..100, same person when >= 70

One call of :meth:`analyse` runs the face detector once on a copy downscaled to at most
``detect_max_side`` (BlazeFace works at 192x192 anyway), the close-range detector only when
the full-range one found nothing (tight crops), the face mesh once on a small crop around
the chosen face, and the embedder once. Calls are serialised by a lock because MediaPipe
graphs are not thread-safe.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .detect import FaceBox, FaceDetector, FaceLandmarks, FaceMesher
from .embed import DlibEmbedder, FaceTemplate
from .errors import EngineUnavailable, FaceEngineError
from .quality import QualityOptions, QualityReport, assess
from .similarity import DLIB_CURVE, MATCH_THRESHOLD, SimilarityCurve

if TYPE_CHECKING:  # onnxruntime is imported only when an ONNX embedder is configured
    from .onnx_embed import OnnxEmbedderOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineOptions:
    """``onnx_embedder``: an :class:`faceengine.onnx_embed.OnnxEmbedderOptions`; when set,
    templates come from that model instead of dlib."""

    min_detection_confidence: float = 0.5
    detect_max_side: int = 640
    mesh_crop_scale: float = 1.8   # side of the mesh crop, in face-box widths
    mesh_max_side: int = 256       # the mesh model itself runs at 192x192
    quality: QualityOptions = field(default_factory=QualityOptions)
    dlib_backend: str = "onnxruntime"  # or "dlib": same templates, ~7x slower here
    onnx_embedder: "OnnxEmbedderOptions | None" = None


@dataclass(frozen=True)
class FaceAnalysis:
    """What the engine found in one image. Coordinates are pixels of the image passed in.

    ``faces``: every detected face, largest first. ``face``: the chosen one (largest) or None.
    ``template`` is None when no face was chosen or embedding was not asked for.
    """

    image_size: tuple[int, int]  # (width, height)
    faces: list[FaceBox]
    face: FaceBox | None
    landmarks: FaceLandmarks | None
    quality: QualityReport
    template: FaceTemplate | None


class FaceEngine:
    def __init__(self, options: EngineOptions | None = None):
        self.options = options or EngineOptions()
        self._lock = threading.Lock()
        self._loaded = False

    # -- lifecycle ---------------------------------------------------------------------
    def load(self) -> "FaceEngine":
        """Load every model (idempotent). Raises EngineUnavailable when one cannot load."""
        with self._lock:
            if self._loaded:
                return self
            opts = self.options
            self._far = FaceDetector(opts.min_detection_confidence, model_selection=1)
            self._near = FaceDetector(opts.min_detection_confidence, model_selection=0)
            self._mesher = FaceMesher(max_faces=2, static=True)
            if opts.onnx_embedder is not None:
                from .onnx_embed import OnnxEmbedder
                self._embedder = OnnxEmbedder(opts.onnx_embedder)
                self._curve = opts.onnx_embedder.curve
            else:
                self._embedder = DlibEmbedder(backend=opts.dlib_backend)
                self._curve = DLIB_CURVE
            self._loaded = True
            log.info("face engine loaded (embedder %s)", self._embedder.model_id)
        return self

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def model_id(self) -> str:
        """Identifier of the embedder whose templates :meth:`compare` accepts."""
        self._require()
        return self._embedder.model_id

    def close(self) -> None:
        with self._lock:
            if self._loaded:
                for graph in (self._far, self._near, self._mesher):
                    graph.close()
                self._loaded = False

    # -- per image -----------------------------------------------------------------------
    def analyse(self, image_rgb: np.ndarray, embed: bool = True) -> FaceAnalysis:
        """Detect, choose the largest face, mesh it, check quality, embed it (if ``embed``)."""
        self._require()
        image_rgb = _check_image(image_rgb)
        with self._lock:
            faces = self._detect(image_rgb)
            face = faces[0] if faces else None
            landmarks = self._mesh(image_rgb, face) if face is not None else None
            quality = assess(image_rgb, faces, face, landmarks, self.options.quality)
            template = self._embedder.embed(image_rgb, face, landmarks) \
                if (embed and face is not None) else None
        h, w = image_rgb.shape[:2]
        return FaceAnalysis((w, h), faces, face, landmarks, quality, template)

    def detect(self, image_rgb: np.ndarray) -> list[FaceBox]:
        """Faces in the image, largest first (pixels of the image passed in)."""
        self._require()
        image_rgb = _check_image(image_rgb)
        with self._lock:
            return self._detect(image_rgb)

    def template(self, image_rgb: np.ndarray, face: FaceBox,
                 landmarks: FaceLandmarks | None = None) -> FaceTemplate:
        """Template of a given face (e.g. the best frame of a liveness capture)."""
        self._require()
        image_rgb = _check_image(image_rgb)
        with self._lock:
            return self._embedder.embed(image_rgb, face, landmarks)

    def compare(self, a: FaceTemplate, b: FaceTemplate) -> float:
        """Similarity in [0, 100] (same person when >= :data:`MATCH_THRESHOLD`)."""
        self._require()
        for t in (a, b):
            if t.model != self._embedder.model_id:
                raise FaceEngineError(f"template from {t.model!r}, engine uses {self._embedder.model_id!r}")
        return self._curve.sim(self._curve.distance(a.vector, b.vector))

    @property
    def curve(self) -> SimilarityCurve:
        self._require()
        return self._curve

    match_threshold = MATCH_THRESHOLD

    # -- internals ---------------------------------------------------------------------
    def _require(self) -> None:
        if not self._loaded:
            raise EngineUnavailable("FaceEngine.load() has not been called")

    def _detect(self, image_rgb: np.ndarray) -> list[FaceBox]:
        h, w = image_rgb.shape[:2]
        scale = min(1.0, self.options.detect_max_side / max(h, w))
        small = image_rgb if scale == 1.0 else cv2.resize(
            image_rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        faces = self._far.detect(small)
        if not faces:
            # The full-range model misses faces that fill the frame (tight crops, close
            # selfies); the short-range model is made for those.
            faces = self._near.detect(small)
        if scale != 1.0:
            faces = [FaceBox(f.x / scale, f.y / scale, f.w / scale, f.h / scale, f.score,
                             f.keypoints / scale) for f in faces]
        faces.sort(key=lambda f: f.w * f.h, reverse=True)
        return faces

    def _mesh(self, image_rgb: np.ndarray, face: FaceBox) -> FaceLandmarks | None:
        """Mesh of ``face`` from a square crop around it; the crop is padded with black where
        it leaves the image so a face cut by the frame edge shows up as points outside it."""
        h, w = image_rgb.shape[:2]
        cx, cy = face.center
        side = max(face.w, face.h) * self.options.mesh_crop_scale
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        s = max(8, int(round(side)))
        crop = np.zeros((s, s, 3), dtype=np.uint8)
        sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + s), min(h, y0 + s)
        if sx1 <= sx0 or sy1 <= sy0:
            return None
        crop[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image_rgb[sy0:sy1, sx0:sx1]
        k = min(1.0, self.options.mesh_max_side / s)
        if k < 1.0:
            crop = cv2.resize(crop, (round(s * k), round(s * k)), interpolation=cv2.INTER_AREA)
        meshes = self._mesher.landmarks(crop)
        if not meshes:
            return None
        # A neighbour's face can enter the crop; keep the mesh nearest the crop centre.
        c = crop.shape[1] / 2.0
        best = min(meshes, key=lambda m: float(np.linalg.norm(m.xy.mean(axis=0) - c)))
        pts = best.points.copy()
        pts /= k  # x, y and z all scale with the crop
        pts[:, 0] += x0
        pts[:, 1] += y0
        return FaceLandmarks(pts)


def _check_image(image_rgb: np.ndarray) -> np.ndarray:
    if not isinstance(image_rgb, np.ndarray) or image_rgb.dtype != np.uint8 \
            or image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or min(image_rgb.shape[:2]) < 1:
        raise FaceEngineError("expected an RGB uint8 image of shape (H, W, 3)")
    return image_rgb
