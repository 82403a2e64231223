"""Optional ONNX face embedder run through onnxruntime (a model the operator supplies).

The model takes one NCHW float32 image of an aligned face and returns one embedding. What
the model expects is stated in :class:`OnnxEmbedderOptions`: input size, colour order,
mean/std (in 0-255 pixel units), and the 5 reference points the face is aligned to. Its
templates are compared with cosine distance through the operator's calibrated
:class:`~faceengine.similarity.SimilarityCurve` (bench/calibrate_similarity.py --onnx).

Alignment: a similarity transform (rotation, uniform scale, shift), the least-squares fit of
the face's eye centres (iris centres of the refined mesh; the centroid of each eye's contour on
a plain 468-point mesh), nose tip and mouth corners onto the reference points (Umeyama, as
InsightFace aligns its training crops). Without a mesh, the detector's keypoints (eyes, nose,
mouth centre) are used.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from .detect import FaceBox, FaceLandmarks
from .embed import FaceTemplate
from .errors import EngineUnavailable, FaceEngineError
from .similarity import SimilarityCurve

# InsightFace/ArcFace reference for a 112x112 crop, image-left first: eyes, nose tip, mouth corners.
ARCFACE_112 = ((38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366),
               (41.5493, 92.3655), (70.7299, 92.2041))

# Mesh indices: image-left (subject's right) iris centre, image-right iris centre, nose tip,
# image-left mouth corner, image-right mouth corner.
_MESH_FIVE = (468, 473, 1, 61, 291)
# Without the iris points (plain mesh, e.g. the liveness track's): the eye contours' centroids.
_RIGHT_EYE_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
_LEFT_EYE_RING = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)


@dataclass(frozen=True)
class OnnxEmbedderOptions:
    """``mean``/``std`` are per channel, in the model's colour order, in 0-255 units:
    the input is ``(pixel - mean) / std``. ``reference_points`` are in pixels of the
    ``input_size`` square. ``curve`` maps cosine distance to Sim and must come from a
    calibration of this model."""

    path: str
    curve: SimilarityCurve
    model_id: str = "onnx"
    input_size: int = 112
    colour_order: str = "RGB"
    mean: tuple[float, float, float] = (127.5, 127.5, 127.5)
    std: tuple[float, float, float] = (128.0, 128.0, 128.0)
    reference_points: tuple[tuple[float, float], ...] = ARCFACE_112
    flip_average: bool = False
    threads: int = 1
    sha256: str = ""   # when set, the file must have this digest (its calibration belongs to it)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 matrix of the rotation + uniform scale + shift that maps ``src`` (N, 2) onto ``dst``
    (N, 2) with the least squared error (Umeyama 1991). Raises FaceEngineError when the points
    are degenerate (all in one place)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    var = float((s ** 2).sum()) / len(src)
    if not np.isfinite(var) or var < 1e-6:
        raise FaceEngineError("cannot align the face: its landmarks coincide")
    u, sv, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(sv) @ sign)) / var
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def _check_digest(path: str, expected: str) -> None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise EngineUnavailable(f"cannot read ONNX embedder {path}: {exc.strerror or exc}") from exc
    if digest.hexdigest() != expected.lower():
        raise EngineUnavailable(f"ONNX embedder {path} is not the file its calibration was made for "
                                f"(sha256 {digest.hexdigest()[:12]}..., expected {expected[:12]}...)")


def _ort_errors() -> tuple[type[BaseException], ...]:
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    names = ("Fail", "InvalidArgument", "NoSuchFile", "NoModel", "EngineError", "RuntimeException",
             "InvalidProtobuf", "ModelLoaded", "NotImplemented", "InvalidGraph", "EPFail")
    return tuple(getattr(state, n) for n in names if hasattr(state, n)) + (RuntimeError, ValueError, OSError)


class OnnxEmbedder:
    needs_landmarks = True   # aligns by the mesh; the detector's keypoints are only a fallback

    def __init__(self, options: OnnxEmbedderOptions):
        if options.colour_order not in ("RGB", "BGR"):
            raise EngineUnavailable(f"colour_order must be RGB or BGR, not {options.colour_order!r}")
        if options.curve.metric != "cosine":
            raise EngineUnavailable("an ONNX embedder's similarity curve must use the cosine metric")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EngineUnavailable(f"onnxruntime missing: {exc}") from exc
        self._errors = _ort_errors()
        if options.sha256:
            _check_digest(options.path, options.sha256)
        so = ort.SessionOptions()
        so.intra_op_num_threads = options.threads
        so.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(options.path, sess_options=so,
                                                 providers=["CPUExecutionProvider"])
        except self._errors as exc:
            raise EngineUnavailable(f"cannot load ONNX embedder {options.path}: {exc}") from exc
        inp = self._session.get_inputs()[0]
        shape = list(inp.shape)
        if len(shape) != 4 or shape[1] not in (3, "3") or any(
                isinstance(d, int) and d != options.input_size for d in shape[2:]):
            raise EngineUnavailable(f"ONNX embedder input {inp.name} has shape {shape}; "
                                    f"expected [N, 3, {options.input_size}, {options.input_size}]")
        self._input = inp.name
        self._output = self._session.get_outputs()[0].name
        self.options = options
        self.model_id = options.model_id
        ref = np.asarray(options.reference_points, dtype=np.float32)
        if ref.shape != (5, 2):
            raise EngineUnavailable("reference_points must be 5 (x, y) pairs")
        self._ref5 = ref
        # eyes, nose, mouth centre: for faces that only have detector keypoints
        self._ref4 = np.vstack([ref[:3], ref[3:].mean(axis=0, keepdims=True)])
        self._mean = np.asarray(options.mean, dtype=np.float32).reshape(3, 1, 1)
        self._std = np.asarray(options.std, dtype=np.float32).reshape(3, 1, 1)
        self._lock = threading.Lock()

    def align(self, image_rgb: np.ndarray, box: FaceBox,
              landmarks: FaceLandmarks | None = None) -> np.ndarray:
        """Aligned RGB uint8 crop of ``input_size`` squared."""
        if landmarks is not None and landmarks.points.shape[0] > max(_MESH_FIVE):
            src, dst = landmarks.xy[list(_MESH_FIVE)], self._ref5
        elif landmarks is not None and landmarks.points.shape[0] >= 468:
            xy = landmarks.xy
            src = np.vstack([xy[list(_RIGHT_EYE_RING)].mean(axis=0), xy[list(_LEFT_EYE_RING)].mean(axis=0),
                             xy[[1, 61, 291]]])
            dst = self._ref5
        else:
            kp = box.keypoints  # right_eye, left_eye, nose_tip, mouth_center (subject's sides)
            eyes = sorted((tuple(kp[0]), tuple(kp[1])))  # image-left first
            src = np.array([eyes[0], eyes[1], kp[2], kp[3]], dtype=np.float32)
            dst = self._ref4
        matrix = similarity_transform(np.asarray(src, np.float64), np.asarray(dst, np.float64))
        s = self.options.input_size
        return cv2.warpAffine(image_rgb, matrix, (s, s), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    def tensor(self, crop_rgb: np.ndarray) -> np.ndarray:
        """The model input (1, 3, S, S) float32 for an aligned RGB crop."""
        img = crop_rgb if self.options.colour_order == "RGB" else crop_rgb[..., ::-1]
        chw = img.transpose(2, 0, 1).astype(np.float32)
        return ((chw - self._mean) / self._std)[None]

    def embed(self, image_rgb: np.ndarray, box: FaceBox, landmarks: FaceLandmarks | None = None, *,
              flip_average: bool | None = None) -> FaceTemplate:
        """``flip_average``: override the options' (False: the crop alone, half the cost; such a
        vector belongs to another calibration than the model's templates)."""
        crop = self.align(image_rgb, box, landmarks)
        batch = [self.tensor(crop)]
        if self.options.flip_average if flip_average is None else flip_average:
            batch.append(self.tensor(np.ascontiguousarray(crop[:, ::-1])))
        try:
            with self._lock:
                outs = [self._session.run([self._output], {self._input: x})[0] for x in batch]
        except self._errors as exc:
            raise FaceEngineError(f"ONNX embedder failed: {exc}") from exc
        vecs = [np.asarray(o, dtype=np.float32).reshape(-1) for o in outs]
        vecs = [v / (np.linalg.norm(v) + 1e-12) for v in vecs]
        return FaceTemplate(np.mean(vecs, axis=0).astype(np.float32), self.model_id)
