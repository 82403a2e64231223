"""Recompute an embedder's distance -> Sim curve (faceengine/similarity.py) on a population.

Sim = 40 - 10*log10(FAR): 70 <-> FAR 1/1,000, 80 <-> 1/10,000, 90 <-> 1/100,000. FAR(distance)
is the share of real impostor pairs closer than that distance, measured with the protocol of
bench/verification_protocol.py (ID-chip references against other photos, and photo against
photo, pooled), scored by the same code as ``python -m faceengine compare --pairs``.
Down to FAR 1/100 the knots are empirical quantiles (tens to hundreds of pairs beyond each);
below that a few thousand impostor pairs cannot measure the rate, so the lower tail of the
impostor distances is fitted with a normal distribution (quantile regression on the lowest 5 %)
and extrapolated; the script prints the fit against the data where both exist, and how far the
fitted knots move when the people are resampled (bootstrap over identities, since pairs of the
same people are not independent).

Graded top: above Sim 90 (fitted FAR 1/100,000) Sim rises linearly to 100 at distance 0, so
only near-identical images read 100 and genuine pairs spread over the upper range.
Below Sim 43 (FAR 1/2) Sim falls linearly to 0 at the distance 99.9 % of impostors are below.

Run (default population: ../shared/facedata East Asian identities, where impostors score highest):
    .venv/bin/python bench/calibrate_similarity.py --embedder mobilefacenet
    .venv/bin/python bench/calibrate_similarity.py --embedder dlib
    .venv/bin/python bench/calibrate_similarity.py --embedder fused      # also fits the z-normalisation
    .venv/bin/python bench/calibrate_similarity.py --embedder onnx --onnx MODEL.onnx --onnx-mean ...
An operator's own population: --photos PEOPLE.csv (columns path,identity; 2+ photos per person).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

from bench.facedata import POPULATIONS, photo_list, population  # noqa: E402
from bench.verification_protocol import (PROTOCOLS, add_engine_arguments, engine_for,  # noqa: E402
                                         make_chips, score_protocol)

TAIL_FRACTION = 0.05
EMPIRICAL_DOWN_TO = 1e-2
FAR_LEVELS = (0.5, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5)
BOOTSTRAP = 200


def sim_for_far(far: float) -> float:
    return 40.0 - 10.0 * float(np.log10(far))


def fit_tail(impostor: np.ndarray) -> tuple[float, float]:
    """(mu, sigma) of the normal whose quantiles best match the lowest TAIL_FRACTION of impostors."""
    d = np.sort(impostor)
    p = (np.arange(d.size) + 0.5) / d.size
    keep = p <= TAIL_FRACTION
    sigma, mu = np.polyfit(norm.ppf(p[keep]), d[keep], 1)
    return float(mu), float(sigma)


def far_distance(impostor: np.ndarray, far: float, mu: float, sigma: float) -> float:
    if far >= EMPIRICAL_DOWN_TO:
        return float(np.quantile(impostor, far))
    return mu + sigma * float(norm.ppf(far))


def knots(impostor: np.ndarray, identical: float = 0.0) -> list[tuple[float, float]]:
    """(distance, sim) knots, distances increasing: graded top (100 at ``identical``, the distance
    of two identical templates), FAR knots, linear bottom."""
    mu, sigma = fit_tail(impostor)
    out = [(identical, 100.0)]
    for far in sorted(FAR_LEVELS):
        out.append((far_distance(impostor, far, mu, sigma), sim_for_far(far)))
    out.append((float(np.quantile(impostor, 0.999)), 0.0))
    d = [k[0] for k in out]
    if any(b <= a for a, b in zip(d, d[1:])):
        raise SystemExit(f"knots are not increasing ({d}): too few impostor pairs for this fit")
    return [(round(x, 4), round(s, 2)) for x, s in out]


def identity_bootstrap(impostor: np.ndarray, people: list[tuple[str, str]], rng: np.random.Generator,
                       fars=(1e-3, 1e-4)) -> dict[float, tuple[float, float]]:
    """5th and 95th percentile of the fitted knot distance when the people are resampled."""
    ids = sorted({p for pair in people for p in pair})
    index = {p: i for i, p in enumerate(ids)}
    a = np.array([index[x] for x, _ in people])
    b = np.array([index[y] for _, y in people])
    found: dict[float, list[float]] = {f: [] for f in fars}
    for _ in range(BOOTSTRAP):
        weight = np.bincount(rng.integers(0, len(ids), len(ids)), minlength=len(ids))
        w = weight[a] * weight[b]          # a pair counts once per drawn copy of each of its people
        sample = np.repeat(impostor, w)
        if sample.size < 100:
            continue
        mu, sigma = fit_tail(sample)
        for f in fars:
            found[f].append(mu + sigma * float(norm.ppf(f)))
    return {f: (float(np.percentile(v, 5)), float(np.percentile(v, 95))) for f, v in found.items() if v}


def collect(engine, photos, name: str, chip_dir: Path):
    """Pooled (distance, genuine, (ref identity, probe identity)) of both protocols, pairs with faces."""
    from faceengine.cli.compare import PairScorer

    scorer = PairScorer(engine)
    chips = make_chips(scorer, photos, chip_dir)
    by_path = {str(p.path): p.identity for p in photos}
    by_path.update({str(c): by_path[str(p)] for p, c in chips.items()})
    parts = []
    for protocol in PROTOCOLS:
        s = score_protocol(scorer, name, photos, protocol, chips).scored()
        print(f"  {protocol}: {int(s.genuine.sum())} genuine, {int((~s.genuine).sum())} impostor pairs")
        parts.append(s)
    return parts, by_path


def report(impostor: np.ndarray, genuine: np.ndarray, people, rng,
           identical: float = 0.0) -> list[tuple[float, float]]:
    print(f"impostor pairs {impostor.size}, genuine pairs {genuine.size}")
    print(f"impostor distance: mean {impostor.mean():.4f} sd {impostor.std():.4f} min {impostor.min():.4f}; "
          f"genuine: mean {genuine.mean():.4f} max {genuine.max():.4f}")
    mu, sigma = fit_tail(impostor)
    print(f"lower-tail normal fit (lowest {TAIL_FRACTION:.0%} of impostors): mu {mu:.4f} sigma {sigma:.4f}")
    boot = identity_bootstrap(impostor, people, rng)
    print("\n| FAR | Sim | empirical distance | fitted distance | impostor pairs below the fitted distance | "
          "fitted distance, people resampled (5-95 %) |")
    print("|---|---|---|---|---|---|")
    for far in FAR_LEVELS:
        emp = float(np.quantile(impostor, far)) if far * impostor.size >= 1 else float("nan")
        fit = mu + sigma * float(norm.ppf(far))
        below = int(np.sum(impostor < fit))
        ci = boot.get(far)
        ci_text = f"{ci[0]:.4f}-{ci[1]:.4f}" if ci else ""
        print(f"| {far:g} | {sim_for_far(far):.0f} | {emp:.4f} | {fit:.4f} | {below} ({below / impostor.size:.1e}) "
              f"| {ci_text} |")
    k = knots(impostor, identical)
    sims = np.interp(genuine, [d for d, _ in k], [s for _, s in k])
    print(f"\ngenuine Sim on the calibration pairs: median {np.median(sims):.1f}, "
          f"p10 {np.percentile(sims, 10):.1f}, p90 {np.percentile(sims, 90):.1f}, at 100: {int(np.sum(sims >= 100))}")
    return k


def print_curve(name: str, k, metric: str, extra: str = "") -> None:
    print(f"\n{name} = SimilarityCurve(")
    print("    distances=(" + ", ".join(f"{d:.4f}" for d, _ in k) + "),")
    print("    sims=(" + ", ".join(f"{s:.1f}" for _, s in k) + "),")
    print(f"    metric=\"{metric}\"{extra})")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", default="mobilefacenet", choices=("mobilefacenet", "dlib", "fused", "onnx"))
    parser.add_argument("--population", default="east_asian", choices=POPULATIONS)
    parser.add_argument("--photos", type=Path, help="your own population: CSV path,identity")
    parser.add_argument("--seed", type=int, default=12)
    add_engine_arguments(parser)
    args = parser.parse_args()
    photos = photo_list(args.photos) if args.photos else population(args.population)
    name = str(args.photos) if args.photos else args.population
    if not photos:
        print("../shared/facedata absent (or the photo list is empty): nothing to calibrate")
        return 0
    rng = np.random.default_rng(args.seed)
    print(f"calibration population: {name}: {len(photos)} photos, {len({p.identity for p in photos})} people")
    parts_by_model, paths = {}, {}
    models = ("dlib", "mobilefacenet") if args.embedder == "fused" else (args.embedder,)
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            print(f"scoring with {model} ...")
            parts_by_model[model], paths[model] = collect(engine_for(model, args), photos, name, Path(tmp) / model)
    pooled = {m: (np.concatenate([p.distance for p in parts]), np.concatenate([p.genuine for p in parts]))
              for m, parts in parts_by_model.items()}
    first, by_path = parts_by_model[models[0]], paths[models[0]]
    people = [(by_path[r], by_path[q]) for part in first for r, q, g in zip(part.refs, part.probes, part.genuine)
              if not g]
    if args.embedder == "fused":
        (dd, g1), (dm, g2) = pooled["dlib"], pooled["mobilefacenet"]
        if len(dd) != len(dm) or not np.array_equal(g1, g2):
            raise SystemExit("the two embedders scored different pairs (a face found by one run only)")
        stats = [(float(d[~g1].mean()), float(d[~g1].std())) for d in (dd, dm)]
        zd, zm = ((d - mu) / sd for d, (mu, sd) in zip((dd, dm), stats))
        print("\nweight of dlib in the fusion: TAR at the empirical FAR 1/1,000 of these pairs")
        best = None
        for w in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
            f = w * zd + (1 - w) * zm
            tar = float(np.mean(f[g1] < np.quantile(f[~g1], 1e-3)))
            print(f"  weight {w:.1f}: TAR {tar:.4f}")
            if 0.0 < w < 1.0 and (best is None or tar > best[1] + 1e-9):
                best = (w, tar)     # a weight of 0 or 1 would be one embedder alone, not a fusion
        w = best[0]
        print(f"chosen weight {w:.1f} (the best strictly between the two embedders alone)")
        distance, genuine = w * zd + (1 - w) * zm, g1
        identical = -(w * stats[0][0] / stats[0][1] + (1 - w) * stats[1][0] / stats[1][1])
        k = report(distance[~genuine], distance[genuine], people, rng, identical)
        print(f"\nFUSION = ZFusion(split=128, metrics=(\"euclidean\", \"cosine\"), "
              f"mean=({stats[0][0]:.4f}, {stats[1][0]:.4f}), std=({stats[0][1]:.4f}, {stats[1][1]:.4f}), weight={w:.1f})")
        print_curve("FUSED_CURVE", k, "zfused", ", fusion=FUSION")
        return 0
    distance, genuine = pooled[args.embedder]
    k = report(distance[~genuine], distance[genuine], people, rng)
    metric = "euclidean" if args.embedder == "dlib" else "cosine"
    curve_name = {"dlib": "DLIB_CURVE", "mobilefacenet": "MOBILEFACENET_CURVE"}.get(args.embedder, "curve")
    print_curve(curve_name, k, metric)
    if args.embedder == "onnx":
        print("as ONNX_EMBEDDER_SPEC knots: [" + ", ".join(f"[{d:.4f}, {s:.1f}]" for d, s in k) + "]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
