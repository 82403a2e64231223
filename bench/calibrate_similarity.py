"""Recompute the distance -> Sim curve of faceengine/similarity.py (DLIB_CURVE).

Sim is defined as 40 - 10*log10(FAR): 70 <-> FAR 1/1,000, 80 <-> 1/10,000. FAR(distance) is
the share of real impostor pairs of ../shared/facedata closer than that distance. Down to
FAR 1/100 the empirical quantiles are used (hundreds of pairs beyond each); below that the
data are too few, so the lower tail of the impostor distances is fitted with a normal
distribution by quantile regression on the lowest 5% of pairs and extrapolated.
Prints the data counts, the fit, the empirical-vs-fitted check and the knots to paste.
Run: .venv/bin/python bench/calibrate_similarity.py
     .venv/bin/python bench/calibrate_similarity.py --onnx MODEL.onnx [--onnx-mean ...]  (an ONNX embedder)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

from bench.facedata import (add_engine_arguments, embed_photos, engine_from_args,  # noqa: E402
                            identity_photos, pair_distances)

TAIL_FRACTION = 0.05
EMPIRICAL_DOWN_TO = 1e-2
FAR_LEVELS = (0.5, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


def sim_for_far(far: float) -> float:
    return 40.0 - 10.0 * np.log10(far)


def fit_tail(impostor: np.ndarray) -> tuple[float, float]:
    d = np.sort(impostor)
    p = (np.arange(d.size) + 0.5) / d.size
    keep = p <= TAIL_FRACTION
    sigma, mu = np.polyfit(norm.ppf(p[keep]), d[keep], 1)
    return float(mu), float(sigma)


def knots(impostor: np.ndarray, mu: float, sigma: float) -> list[tuple[float, float]]:
    out = [(0.0, 100.0)]
    for far in sorted(FAR_LEVELS):
        if far >= EMPIRICAL_DOWN_TO:
            d = float(np.quantile(impostor, far))
        else:
            d = mu + sigma * float(norm.ppf(far))
        out.append((round(d, 4), round(float(sim_for_far(far)), 2)))
    out.append((round(float(np.quantile(impostor, 0.999)), 4), 0.0))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    args = parser.parse_args()
    photos = identity_photos()
    if not photos:
        print("../shared/facedata absent: nothing to calibrate")
        return 0
    engine = engine_from_args(args)
    embedded = embed_photos(engine, photos)
    genuine, impostor = (np.array(x) for x in pair_distances(embedded, engine.curve))
    people = len({e.photo.identity for e in embedded})
    print(f"photos {len(photos)}, with a face {len(embedded)}, people {people}")
    print(f"genuine pairs {genuine.size}, impostor pairs {impostor.size}")
    print(f"impostor distance: mean {impostor.mean():.4f} sd {impostor.std():.4f} "
          f"min {impostor.min():.4f}; genuine: mean {genuine.mean():.4f} max {genuine.max():.4f}")
    mu, sigma = fit_tail(impostor)
    print(f"lower-tail normal fit (lowest {TAIL_FRACTION:.0%}): mu {mu:.4f} sigma {sigma:.4f}")
    print("\n| FAR | sim | empirical distance | fitted distance | impostor pairs below fitted |")
    print("|---|---|---|---|---|")
    for far in FAR_LEVELS:
        emp = float(np.quantile(impostor, far)) if far * impostor.size >= 1 else float("nan")
        fit = mu + sigma * float(norm.ppf(far))
        below = int(np.sum(impostor < fit))
        print(f"| {far:g} | {sim_for_far(far):.0f} | {emp:.4f} | {fit:.4f} | {below} |")
    k = knots(impostor, mu, sigma)
    print(f"\n{engine.model_id} curve knots (distance, sim; metric {engine.curve.metric}):")
    print("    distances=(" + ", ".join(f"{d:.4f}" for d, _ in k) + "),")
    print("    sims=(" + ", ".join(f"{s:.1f}" for _, s in k) + "),")
    if args.onnx:
        print("    as --onnx-knots: " + ",".join(f"{d:.4f}:{s:.1f}" for d, s in k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
