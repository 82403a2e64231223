"""Map a template distance to Tencent's similarity score ``Sim`` in [0, 100].

The score is defined by the false-accept rate (FAR) of real impostor pairs:
``sim = 40 - 10 * log10(FAR(distance))``, so 50 <-> FAR 1/10, 60 <-> 1/100, 70 <-> 1/1,000,
80 <-> 1/10,000, 90 <-> 1/100,000. Below 50 the score falls linearly to 0 at the distance
where nearly every impostor pair lies. The map is stored as a monotone piecewise-linear
curve of (distance, sim) knots; how the knots were measured, on what data, and how the tail
beyond the data was estimated is in docs/calibration.md, recomputed by
bench/calibrate_similarity.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import FaceEngineError

MATCH_THRESHOLD = 70.0  # Sim >= 70 means "same person" (FAR about 1/1,000)


@dataclass(frozen=True)
class SimilarityCurve:
    """Knots of a decreasing map distance -> sim. ``metric`` is "euclidean" (raw vectors)
    or "cosine" (1 - cosine similarity of the vectors)."""

    distances: tuple[float, ...]
    sims: tuple[float, ...]
    metric: str = "euclidean"

    def __post_init__(self):
        d, s = np.asarray(self.distances), np.asarray(self.sims)
        if d.size < 2 or d.size != s.size or np.any(np.diff(d) <= 0) or np.any(np.diff(s) > 0):
            raise FaceEngineError("similarity curve needs >= 2 knots, distances increasing, sims not increasing")
        if self.metric not in ("euclidean", "cosine"):
            raise FaceEngineError(f"unknown metric {self.metric!r}")

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            raise FaceEngineError(f"template shapes differ: {a.shape} vs {b.shape}")
        if self.metric == "euclidean":
            return float(np.linalg.norm(a - b))
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        if na == 0 or nb == 0:
            return 2.0
        return float(1.0 - np.dot(a, b) / (na * nb))

    def sim(self, distance: float) -> float:
        """Sim in [0, 100]; distances beyond the knots are clamped to the end sims."""
        return float(np.clip(np.interp(distance, self.distances, self.sims), 0.0, 100.0))


# dlib_resnet_v1 templates, Euclidean distance. Knots printed by
# bench/calibrate_similarity.py on ../shared/facedata (255 photos, 51 people, 31,640 impostor
# pairs): FAR >= 1/100 from empirical quantiles, below that from a normal fit of the lowest 5%
# of impostor distances. Data, counts and the check of the fit: docs/calibration.md.
DLIB_CURVE = SimilarityCurve(
    distances=(0.0000, 0.4541, 0.4922, 0.5347, 0.5836, 0.6431, 0.7253, 0.8436, 1.1337),
    sims=(100.0, 100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 43.0, 0.0),
)
