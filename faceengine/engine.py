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

Embedders (``EngineOptions.embedder``): "mobilefacenet" (default, shipped in
faceengine/models/), "dlib", "fused" (both, score-level fusion), or an operator's ONNX model
(``onnx_embedder``). Each has its own model id and calibrated curve; templates of one are never
compared with another's. :meth:`template` can also embed with another built-in embedder than
the configured one (``model=``), so that a reference enrolled under an earlier default can
still be compared with a probe embedded the same way; such an embedder is loaded on first use.
MobileFaceNet's one-pass descriptor (``mobilefacenet_foamliu_v1_one_pass``, the crop without its
mirror, own curve) is such a built-in too: the liveness identity check's (liveness/identity.py).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .detect import FaceBox, FaceDetector, FaceLandmarks, FaceMesher
from .embed import DLIB_MODEL_ID, DlibEmbedder, FaceTemplate
from .errors import EngineUnavailable, FaceEngineError
from .quality import REFERENCE_QUALITY, QualityOptions, QualityReport, assess
from .similarity import (DLIB_CURVE, FUSED_CURVE, MATCH_THRESHOLD, MOBILEFACENET_CURVE,
                         MOBILEFACENET_ONE_PASS_CURVE, SimilarityCurve)

if TYPE_CHECKING:  # onnxruntime is imported only when an ONNX embedder is configured
    from .onnx_embed import OnnxEmbedderOptions

log = logging.getLogger(__name__)


EMBEDDERS = ("mobilefacenet", "dlib", "fused", "onnx")


@dataclass(frozen=True)
class EngineOptions:
    """``embedder``: one of :data:`EMBEDDERS`; "onnx" needs ``onnx_embedder`` (an
    :class:`faceengine.onnx_embed.OnnxEmbedderOptions` with its own calibrated curve), and
    ``onnx_embedder`` implies "onnx". ``quality`` applies to selfies and probes,
    ``reference_quality`` to reference photos (ID photos, a merchant's photo): see quality.py."""

    min_detection_confidence: float = 0.5
    detect_max_side: int = 640
    mesh_crop_scale: float = 1.8   # side of the mesh crop, in face-box widths
    mesh_max_side: int = 256       # the mesh model itself runs at 192x192
    quality: QualityOptions = field(default_factory=QualityOptions)
    reference_quality: QualityOptions = REFERENCE_QUALITY
    embedder: str = "mobilefacenet"
    dlib_backend: str = "onnxruntime"  # or "dlib": same templates, ~7x slower here
    onnx_embedder: "OnnxEmbedderOptions | None" = None
    threads: int = 1               # onnxruntime threads of the built-in embedders

    def __post_init__(self):
        if self.embedder not in EMBEDDERS:
            raise EngineUnavailable(f"unknown embedder {self.embedder!r}; one of {', '.join(EMBEDDERS)}")
        if self.embedder == "onnx" and self.onnx_embedder is None:
            raise EngineUnavailable("the onnx embedder needs its onnx_embedder options")

    @property
    def embedder_name(self) -> str:
        """The embedder actually used: "onnx" whenever ``onnx_embedder`` is set."""
        return "onnx" if self.onnx_embedder is not None else self.embedder


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
            self._embedders: dict[str, object] = {}
            self._curves: dict[str, SimilarityCurve] = {}
            name = opts.embedder_name
            if name == "onnx":
                from .onnx_embed import OnnxEmbedder
                self._embedder = OnnxEmbedder(opts.onnx_embedder)
                self._curve = opts.onnx_embedder.curve
            else:
                self._embedder, self._curve = self._builtin(name)
            self._embedders[self._embedder.model_id] = self._embedder
            self._curves[self._embedder.model_id] = self._curve
            self._loaded = True
            log.info("face engine loaded (embedder %s)", self._embedder.model_id)
        return self

    def _builtin(self, name: str):
        """(embedder, curve) of a built-in embedder, reusing the parts already loaded."""
        if name == "dlib":
            part = self._embedders.get(DLIB_MODEL_ID) or DlibEmbedder(backend=self.options.dlib_backend)
            return part, DLIB_CURVE
        from .mobilefacenet import MODEL_ID, OnePass, mobilefacenet_options
        if name == "mobilefacenet":
            from .onnx_embed import OnnxEmbedder
            part = self._embedders.get(MODEL_ID) or OnnxEmbedder(mobilefacenet_options(self.options.threads))
            return part, MOBILEFACENET_CURVE
        if name == "mobilefacenet_one_pass":   # the liveness identity check's descriptor
            return OnePass(self._builtin("mobilefacenet")[0]), MOBILEFACENET_ONE_PASS_CURVE
        from .fusion import FusedEmbedder
        return FusedEmbedder(self._builtin("dlib")[0], self._builtin("mobilefacenet")[0]), FUSED_CURVE

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
    def analyse(self, image_rgb: np.ndarray, embed: bool = True, *, reference: bool = False) -> FaceAnalysis:
        """Detect, choose the largest face, mesh it, check quality, embed it (if ``embed``).

        ``reference``: judge the photo by the reference rules (an ID photo or a merchant's photo:
        small frontal portraits allowed) instead of the selfie rules."""
        self._require()
        image_rgb = _check_image(image_rgb)
        rules = self.options.reference_quality if reference else self.options.quality
        with self._lock:
            faces = self._detect(image_rgb)
            face = faces[0] if faces else None
            landmarks = self._mesh(image_rgb, face) if face is not None else None
            quality = assess(image_rgb, faces, face, landmarks, rules)
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
                 landmarks: FaceLandmarks | None = None, model: str | None = None) -> FaceTemplate:
        """Template of a given face (e.g. the best frame of a liveness capture). Without
        ``landmarks`` the face is meshed here when the embedder aligns by the mesh.

        ``model``: the model id to embed with (default: the configured embedder's); another
        built-in embedder is loaded on first use (see :meth:`supports`)."""
        self._require()
        image_rgb = _check_image(image_rgb)
        with self._lock:
            embedder = self._embedder_for(model or self._embedder.model_id)
            if landmarks is None and getattr(embedder, "needs_landmarks", False):
                landmarks = self._mesh(image_rgb, face)
            return embedder.embed(image_rgb, face, landmarks)

    def supports(self, model: str) -> bool:
        """Can this engine embed with ``model`` and compare its templates?"""
        self._require()
        return model in self._embedders or model in _builtin_names()

    def compare(self, a: FaceTemplate, b: FaceTemplate) -> float:
        """Similarity in [0, 100] (same person when >= :data:`MATCH_THRESHOLD`), through the
        calibrated curve of the templates' model. Templates of two different models, or of a
        model this engine cannot run, are refused (FaceEngineError)."""
        self._require()
        if a.model != b.model:
            raise FaceEngineError(f"templates of two models: {a.model!r} and {b.model!r}")
        curve = self._curves.get(a.model)
        if curve is None:
            with self._lock:
                self._embedder_for(a.model)
            curve = self._curves[a.model]
        return curve.sim(curve.distance(a.vector, b.vector))

    def curve_for(self, model: str) -> SimilarityCurve:
        """The calibrated curve of a model's templates (loading that embedder if needed)."""
        self._require()
        with self._lock:
            self._embedder_for(model)
        return self._curves[model]

    @property
    def curve(self) -> SimilarityCurve:
        self._require()
        return self._curve

    match_threshold = MATCH_THRESHOLD

    # -- internals ---------------------------------------------------------------------
    def _embedder_for(self, model: str):
        """The loaded embedder of ``model``, loading a built-in one on first use (caller holds the lock)."""
        embedder = self._embedders.get(model)
        if embedder is None:
            name = _builtin_names().get(model)
            if name is None:
                raise FaceEngineError(f"template from {model!r}, which this engine cannot embed "
                                      f"(configured: {self._embedder.model_id!r})")
            log.info("loading embedder %s for templates made with it", model)
            embedder, curve = self._builtin(name)
            self._embedders[model] = embedder
            self._curves[model] = curve
        return embedder

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


def _builtin_names() -> dict[str, str]:
    """model id -> built-in embedder name."""
    from .fusion import FUSED_MODEL_ID
    from .mobilefacenet import MODEL_ID, ONE_PASS_MODEL_ID
    return {DLIB_MODEL_ID: "dlib", MODEL_ID: "mobilefacenet", FUSED_MODEL_ID: "fused",
            ONE_PASS_MODEL_ID: "mobilefacenet_one_pass"}


def _check_image(image_rgb: np.ndarray) -> np.ndarray:
    if not isinstance(image_rgb, np.ndarray) or image_rgb.dtype != np.uint8 \
            or image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or min(image_rgb.shape[:2]) < 1:
        raise FaceEngineError("expected an RGB uint8 image of shape (H, W, 3)")
    return image_rgb
