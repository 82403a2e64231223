"""The face-verification protocol shared by bench/face_verification.py and bench/calibrate_similarity.py.

Pairs are scored exactly as ``python -m faceengine compare --pairs`` scores them (the same
``PairScorer``: the first image judged by the reference rules, the second by the selfie rules).
Two protocols, on each population of bench/facedata.py:

- ``id_chip``: the reference is a 102 x 126 ID-chip portrait made from one photo of a person
  (capture_synth/id_photo.py: ~1.9 face widths, crown to chin, JPEG quality 60), the probe ("selfie")
  is every *other* photo of every person: ordered pairs (chip of photo i, photo j), i != j.
- ``photo``: the reference is a photo as it is (LivenessCompare's merchant photo), unordered
  pairs of two different photos.

Genuine = same identity; the two files of one photo in facenet_pytorch (a photo and its aligned
crop) are never a genuine pair. ``quality_ok`` says whether production would have compared the
pair at all (reference passes the reference rules, probe the selfie rules).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.facedata import IdentityPhoto
from capture_synth.id_photo import chip_portrait
from faceengine.cli.compare import PairError, read_image

PROTOCOLS = ("id_chip", "photo")


@dataclass(frozen=True)
class PairScores:
    """Every pair of one population under one protocol, as arrays of equal length."""

    population: str
    protocol: str
    model: str
    distance: np.ndarray     # float64, NaN when an image had no face
    genuine: np.ndarray      # bool
    quality_ok: np.ndarray   # bool: both images pass their rules
    both_male: np.ndarray    # bool: both people are listed as men
    refs: tuple[str, ...]
    probes: tuple[str, ...]

    def subset(self, keep: np.ndarray) -> "PairScores":
        return PairScores(self.population, self.protocol, self.model, self.distance[keep], self.genuine[keep],
                          self.quality_ok[keep], self.both_male[keep],
                          tuple(r for r, k in zip(self.refs, keep) if k),
                          tuple(p for p, k in zip(self.probes, keep) if k))

    def scored(self) -> "PairScores":
        """Pairs where both images had a face."""
        return self.subset(~np.isnan(self.distance))


def make_chips(scorer, photos: list[IdentityPhoto], folder: Path) -> dict[Path, Path]:
    """photo path -> its ID-chip portrait file (photos without a meshed face get none)."""
    folder.mkdir(parents=True, exist_ok=True)
    chips = {}
    for n, photo in enumerate(photos):
        try:
            landmarks = scorer.analysis(photo.path, reference=False).landmarks
        except PairError:  # an unreadable photo has no chip
            continue
        if landmarks is None:
            continue
        chip = folder / f"{n:04d}.jpg"
        chip.write_bytes(chip_portrait(read_image(photo.path, scorer.limits), landmarks))
        chips[photo.path] = chip
    return chips


def pair_list(photos: list[IdentityPhoto], protocol: str, chips: dict[Path, Path]):
    """[(ref file, probe file, ref photo, probe photo)] of a protocol."""
    out = []
    for i, a in enumerate(photos):
        for j, b in enumerate(photos):
            if i == j or (protocol == "photo" and j < i):
                continue
            if a.identity == b.identity and "facenet_pytorch" in str(a.path) and "facenet_pytorch" in str(b.path):
                continue   # a photo and its own aligned crop
            if protocol == "id_chip":
                if a.path not in chips:
                    continue
                out.append((chips[a.path], b.path, a, b))
            else:
                out.append((a.path, b.path, a, b))
    return out


def score_protocol(scorer, population: str, photos: list[IdentityPhoto], protocol: str,
                   chips: dict[Path, Path]) -> PairScores:
    pairs = pair_list(photos, protocol, chips)
    dist, gen, ok, male = [], [], [], []
    for ref, probe, a, b in pairs:
        try:
            s = scorer.score(ref, probe)
        except PairError:
            s = None
        dist.append(np.nan if s is None or s.distance is None else s.distance)
        gen.append(a.identity == b.identity)
        ok.append(s is not None and not s.quality[0] and not s.quality[1])
        male.append(a.sex == "M" and b.sex == "M")
    return PairScores(population, protocol, scorer.engine.model_id, np.asarray(dist, np.float64),
                      np.asarray(gen, bool), np.asarray(ok, bool), np.asarray(male, bool),
                      tuple(str(p[0]) for p in pairs), tuple(str(p[1]) for p in pairs))


# -- engines ---------------------------------------------------------------------------------
def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Which embedder to measure: a built-in one, or an operator's ONNX model."""
    parser.add_argument("--dlib-backend", default="onnxruntime", choices=("onnxruntime", "dlib"),
                        help="run dlib's network converted (default) or natively")
    parser.add_argument("--onnx", help="an operator's ONNX embedder (instead of the built-in ones)")
    parser.add_argument("--onnx-size", type=int, default=112)
    parser.add_argument("--onnx-colour", default="RGB", choices=("RGB", "BGR"))
    parser.add_argument("--onnx-mean", type=float, nargs=3, default=(127.5, 127.5, 127.5),
                        help="per channel, 0-255 units")
    parser.add_argument("--onnx-std", type=float, nargs=3, default=(128.0, 128.0, 128.0))
    parser.add_argument("--onnx-flip", action="store_true", help="average with the mirrored face")
    parser.add_argument("--onnx-knots", help="calibrated cosine curve 'dist:sim,dist:sim,...' "
                                             "(printed by calibrate_similarity.py --onnx)")


def engine_for(embedder: str, args):
    """A loaded FaceEngine for a built-in embedder name, or "onnx" from the --onnx options."""
    from faceengine.engine import EngineOptions, FaceEngine
    from faceengine.onnx_embed import OnnxEmbedderOptions
    from faceengine.similarity import SimilarityCurve

    if embedder != "onnx":
        return FaceEngine(EngineOptions(embedder=embedder, dlib_backend=args.dlib_backend)).load()
    if args.onnx_knots:
        pairs = [tuple(float(v) for v in k.split(":")) for k in args.onnx_knots.split(",")]
        curve = SimilarityCurve(tuple(d for d, _ in pairs), tuple(s for _, s in pairs), metric="cosine")
    else:  # uncalibrated: fine for measuring distances, meaningless as Sim
        curve = SimilarityCurve((0.0, 2.0), (100.0, 0.0), metric="cosine")
    opts = OnnxEmbedderOptions(path=args.onnx, curve=curve, model_id="onnx_bench",
                               input_size=args.onnx_size, colour_order=args.onnx_colour,
                               mean=tuple(args.onnx_mean), std=tuple(args.onnx_std),
                               flip_average=args.onnx_flip)
    return FaceEngine(EngineOptions(onnx_embedder=opts)).load()
