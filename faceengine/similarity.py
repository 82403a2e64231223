"""Map a template distance to Tencent's similarity score ``Sim`` in [0, 100].

The score is defined by the false-accept rate (FAR) of real impostor pairs:
``sim = 40 - 10 * log10(FAR(distance))``, so 50 <-> FAR 1/10, 60 <-> 1/100, 70 <-> 1/1,000,
80 <-> 1/10,000, 90 <-> 1/100,000. Above 90 the score is graded, not a FAR: it rises linearly
to 100 at identical templates, so only near-identical images read 100. Below 43 (FAR 1/2) it
falls linearly to 0 at the distance where nearly every impostor pair lies. The map is stored as a monotone piecewise-linear
curve of (distance, sim) knots; how the knots were measured, on what data, and how the tail
beyond the data was estimated is in docs/calibration.md, recomputed by
bench/calibrate_similarity.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import FaceEngineError

MATCH_THRESHOLD = 70.0  # Sim >= 70 means "same person" (FAR about 1/1,000)


def _distance(metric: str, a: np.ndarray, b: np.ndarray) -> float:
    if metric == "euclidean":
        return float(np.linalg.norm(a - b))
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 2.0
    return float(1.0 - np.dot(a, b) / (na * nb))


@dataclass(frozen=True)
class ZFusion:
    """Score-level fusion of two embedders whose templates are concatenated ``[first | second]``
    (``split`` values of the first). Each part's distance is z-normalised by the mean and standard
    deviation of that embedder's impostor distances (``mean``, ``std``), and the fused distance is
    ``weight * z_first + (1 - weight) * z_second``: in impostor standard deviations, negative
    for pairs closer than the average impostor pair."""

    split: int
    metrics: tuple[str, str]
    mean: tuple[float, float]
    std: tuple[float, float]
    weight: float = 0.5

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        k = self.split
        z = [(_distance(m, x, y) - mu) / sd for m, x, y, mu, sd in
             zip(self.metrics, (a[:k], a[k:]), (b[:k], b[k:]), self.mean, self.std)]
        return float(self.weight * z[0] + (1.0 - self.weight) * z[1])


@dataclass(frozen=True)
class SimilarityCurve:
    """Knots of a decreasing map distance -> sim. ``metric`` is "euclidean" (raw vectors),
    "cosine" (1 - cosine similarity of the vectors) or "zfused" (``fusion`` gives the
    distance of two concatenated templates)."""

    distances: tuple[float, ...]
    sims: tuple[float, ...]
    metric: str = "euclidean"
    fusion: ZFusion | None = None

    def __post_init__(self):
        d, s = np.asarray(self.distances), np.asarray(self.sims)
        if d.size < 2 or d.size != s.size or np.any(np.diff(d) <= 0) or np.any(np.diff(s) > 0):
            raise FaceEngineError("similarity curve needs >= 2 knots, distances increasing, sims not increasing")
        if self.metric not in ("euclidean", "cosine", "zfused"):
            raise FaceEngineError(f"unknown metric {self.metric!r}")
        if (self.metric == "zfused") != (self.fusion is not None):
            raise FaceEngineError("the zfused metric needs its fusion parameters (and only it)")

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            raise FaceEngineError(f"template shapes differ: {a.shape} vs {b.shape}")
        if self.fusion is not None:
            return self.fusion.distance(a, b)
        return _distance(self.metric, a, b)

    def sim(self, distance: float) -> float:
        """Sim in [0, 100]; distances beyond the knots are clamped to the end sims."""
        return float(np.clip(np.interp(distance, self.distances, self.sims), 0.0, 100.0))


# Built-in embedders' curves, printed by bench/calibrate_similarity.py --embedder NAME on the East
# Asian identities of ../shared/facedata (32 people, 113 photos; ID-chip and photo protocols pooled:
# 18,504 impostor pairs, 480 genuine), the population where impostors score highest. FAR >= 1/100
# from empirical quantiles, below that from a normal fit of the lowest 5 % of impostor distances;
# above Sim 90 a graded top to 100 at identical templates. Counts, the check of the fit and both
# populations' accuracy: docs/calibration.md.

# dlib_resnet_v1 templates, Euclidean distance.
DLIB_CURVE = SimilarityCurve(
    distances=(0.0000, 0.3464, 0.3797, 0.4181, 0.4633, 0.5352, 0.6532, 0.9116),
    sims=(100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 43.0, 0.0),
    metric="euclidean")

# mobilefacenet_foamliu_v1 templates (faceengine/mobilefacenet.py), cosine distance.
MOBILEFACENET_CURVE = SimilarityCurve(
    distances=(0.0000, 0.4413, 0.5086, 0.5860, 0.6822, 0.8124, 0.9711, 1.3490),
    sims=(100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 43.0, 0.0),
    metric="cosine")

# mobilefacenet_foamliu_v1_one_pass descriptors (MobileFaceNet without the mirrored crop, half the
# cost: the liveness identity check's descriptor), cosine distance. The same pairs, printed by
# bench/calibrate_similarity.py --embedder onnx --onnx faceengine/models/MobileFaceNet.onnx
# --onnx-mean 123.675 116.28 103.53 --onnx-std 58.395 57.12 57.375 (no --onnx-flip).
MOBILEFACENET_ONE_PASS_CURVE = SimilarityCurve(
    distances=(0.0000, 0.4583, 0.5221, 0.5957, 0.6823, 0.8145, 0.9726, 1.3346),
    sims=(100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 43.0, 0.0),
    metric="cosine")

# fused_dlib_mobilefacenet_v1 templates (faceengine/fusion.py): z-normalised on these impostor
# pairs; dlib's weight 0.2 is the best (TAR at FAR 1/1,000 of these pairs) strictly between the two
# embedders alone.
FUSION = ZFusion(split=128, metrics=("euclidean", "cosine"), mean=(0.6526, 0.9702), std=(0.0889, 0.1214),
                 weight=0.2)
FUSED_CURVE = SimilarityCurve(
    distances=(-7.8631, -3.9500, -3.4543, -2.8834, -2.1942, -1.2081, 0.0266, 2.7777),
    sims=(100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 43.0, 0.0),
    metric="zfused", fusion=FUSION)
