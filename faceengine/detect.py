"""Face detection and dense landmarks with MediaPipe's legacy solutions.

Colour order: every image passed in is RGB, uint8, shape (H, W, 3).
Coordinates: pixels, x to the right, y down, origin at the top-left corner.

Models come from the ``mediapipe==0.10.21`` wheel; nothing is downloaded.
A detector or mesher owns a MediaPipe graph, which is not thread-safe: use
one per thread (the engine keeps one per worker process and serialises calls).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .errors import EngineUnavailable

# MediaPipe's six detector keypoints, in its order.
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear")


@dataclass(frozen=True)
class FaceBox:
    """One detected face. ``x, y, w, h`` in pixels; ``keypoints`` (6, 2) in pixels (x, y)."""

    x: float
    y: float
    w: float
    h: float
    score: float
    keypoints: np.ndarray

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2.0, self.y + self.h / 2.0)

    def as_int_rect(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) rounded to ints, not clipped."""
        return (int(round(self.x)), int(round(self.y)),
                int(round(self.x + self.w)), int(round(self.y + self.h)))


@dataclass(frozen=True)
class FaceLandmarks:
    """The 478-point face mesh of one face (468 + 10 iris points; 468 without iris refinement).

    ``points`` is (478, 3) (or (468, 3)) float32: x, y in pixels; z in pixels at the same scale as x
    (MediaPipe's relative depth times the image width; smaller is closer to the camera).
    """

    points: np.ndarray

    @property
    def xy(self) -> np.ndarray:
        return self.points[:, :2]

    def bbox(self) -> tuple[float, float, float, float]:
        """Tight (x, y, w, h) around the mesh, in pixels."""
        mn = self.points[:, :2].min(axis=0)
        mx = self.points[:, :2].max(axis=0)
        return (float(mn[0]), float(mn[1]), float(mx[0] - mn[0]), float(mx[1] - mn[1]))


def _solutions():
    try:
        from mediapipe.python.solutions import face_detection, face_mesh
    except Exception as exc:  # ImportError, or a broken native library
        raise EngineUnavailable(f"mediapipe face solutions unavailable: {exc}") from exc
    return face_detection, face_mesh


class FaceDetector:
    """BlazeFace (full-range model) face boxes. Load once per process."""

    def __init__(self, min_confidence: float = 0.5, model_selection: int = 1):
        face_detection, _ = _solutions()
        self._graph = face_detection.FaceDetection(
            model_selection=model_selection, min_detection_confidence=min_confidence)
        self._lock = threading.Lock()

    def detect(self, image_rgb: np.ndarray) -> list[FaceBox]:
        """Faces in an RGB image, highest score first. Empty list when none."""
        h, w = image_rgb.shape[:2]
        with self._lock:
            result = self._graph.process(np.ascontiguousarray(image_rgb))
        faces: list[FaceBox] = []
        for det in result.detections or ():
            rel = det.location_data.relative_bounding_box
            kps = np.array([[k.x * w, k.y * h] for k in det.location_data.relative_keypoints],
                           dtype=np.float32)
            faces.append(FaceBox(rel.xmin * w, rel.ymin * h, rel.width * w, rel.height * h,
                                 float(det.score[0]), kps))
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces

    def close(self) -> None:
        self._graph.close()


class FaceMesher:
    """478-point face mesh.

    ``static=True`` treats every image independently (photos). ``static=False`` tracks
    across consecutive frames of one capture and is faster; make one per capture
    (or call :meth:`reset` between captures).
    """

    def __init__(self, max_faces: int = 2, static: bool = True,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 refine_landmarks: bool = True):
        # refine_landmarks=False skips the iris model: 468 points instead of 478, and about half
        # the time per frame, which the liveness checks (no iris needed) rely on for latency.
        _, face_mesh = _solutions()
        self._args = dict(static_image_mode=static, max_num_faces=max_faces,
                          refine_landmarks=refine_landmarks,
                          min_detection_confidence=min_detection_confidence,
                          min_tracking_confidence=min_tracking_confidence)
        self._face_mesh = face_mesh
        self._graph = face_mesh.FaceMesh(**self._args)
        self._lock = threading.Lock()

    def landmarks(self, image_rgb: np.ndarray) -> list[FaceLandmarks]:
        """Meshes of the faces in an RGB image; empty list when none."""
        h, w = image_rgb.shape[:2]
        with self._lock:
            result = self._graph.process(np.ascontiguousarray(image_rgb))
        out: list[FaceLandmarks] = []
        for lm in result.multi_face_landmarks or ():
            pts = np.array([[p.x * w, p.y * h, p.z * w] for p in lm.landmark], dtype=np.float32)
            out.append(FaceLandmarks(pts))
        return out

    def reset(self) -> None:
        """Forget tracking state (start of a new capture)."""
        with self._lock:
            self._graph.close()
            self._graph = self._face_mesh.FaceMesh(**self._args)

    def close(self) -> None:
        self._graph.close()
