"""Photo verification on ../shared/facedata: score distributions, TAR/FAR at 70 and 80, and
the median time of one verification of a 640x480 photo on one core.

One verification = decode the JPEG bytes + detect + mesh + quality + embed + compare with a
reference template computed beforehand (as the registry holds it). The process is pinned to
one CPU and every library's thread pool is set to one thread.
Run: .venv/bin/python bench/face_verification.py [--quality-only] [--timing-only]
         [--dlib-backend dlib] [--onnx MODEL.onnx --onnx-knots ... (see bench/facedata.py)]
"""
from __future__ import annotations

import os

# Before numpy/cv2/mediapipe load: their thread pools size themselves at import.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.facedata import (add_engine_arguments, embed_photos, engine_from_args,  # noqa: E402
                            identity_photos, pair_distances)
from faceengine.engine import FaceEngine  # noqa: E402
from faceengine.intake import decode_image  # noqa: E402


def histogram(scores: np.ndarray, title: str, width: int = 50) -> None:
    edges = np.arange(0, 101, 10)
    counts, _ = np.histogram(np.clip(scores, 0, 100), bins=edges)
    top = max(counts.max(), 1)
    print(f"{title} (n={scores.size})")
    for lo, c in zip(edges[:-1], counts):
        print(f"  {lo:3.0f}-{lo + 10:<3.0f} {c:6d} {'#' * int(round(width * c / top))}")


def rates(genuine: np.ndarray, impostor: np.ndarray) -> None:
    for t in (70.0, 80.0):
        tar = float(np.mean(genuine >= t))
        fa = int(np.sum(impostor >= t))
        print(f"threshold {t:.0f}: TAR {tar:.4f} ({int(np.sum(genuine >= t))}/{genuine.size}), "
              f"FAR {fa / impostor.size:.2e} ({fa}/{impostor.size})")


def photo_640x480(path: Path) -> bytes:
    """The photo scaled to cover 640x480 and centre-cropped, as a JPEG (quality 90)."""
    rgb = decode_image(path.read_bytes())
    h, w = rgb.shape[:2]
    s = max(640 / w, 480 / h)
    rgb = cv2.resize(rgb, (max(640, round(w * s)), max(480, round(h * s))), interpolation=cv2.INTER_AREA)
    y0, x0 = (rgb.shape[0] - 480) // 2, (rgb.shape[1] - 640) // 2
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb[y0:y0 + 480, x0:x0 + 640], cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 90])
    return buf.tobytes()


def timing(engine: FaceEngine, photos, n_photos: int, repeats: int) -> None:
    # Photos whose face is large enough to survive the 640x480 crop; portraits (not the
    # 150-250 px crops) so that the resize is a real 640x480 photo, not an upscaled thumbnail.
    chosen = [p for p in photos if p.path.suffix.lower() in (".jpg", ".jpeg")
              and "lfw" not in str(p.path) and "bbt" not in str(p.path)][:n_photos]
    jpegs = [photo_640x480(p.path) for p in chosen]
    reference = None
    for data in jpegs:
        reference = engine.analyse(decode_image(data)).template
        if reference is not None:
            break
    times, stages = [], {"decode": [], "analyse": [], "compare": []}
    for _ in range(repeats):
        for data in jpegs:
            t0 = time.perf_counter()
            rgb = decode_image(data)
            t1 = time.perf_counter()
            a = engine.analyse(rgb)
            t2 = time.perf_counter()
            if a.template is not None:
                engine.compare(reference, a.template)
            t3 = time.perf_counter()
            times.append(t3 - t0)
            for k, v in zip(stages, (t1 - t0, t2 - t1, t3 - t2)):
                stages[k].append(v)
    print(f"\none 640x480 photo verification, one core: median {1000 * statistics.median(times):.1f} ms "
          f"(p90 {1000 * np.percentile(times, 90):.1f} ms; {len(jpegs)} photos x {repeats})")
    print("  stage medians: " + ", ".join(f"{k} {1000 * statistics.median(v):.1f} ms" for k, v in stages.items()))
    rgb = decode_image(jpegs[0])
    face = engine.detect(rgb)[0]
    t_embed = []
    for _ in range(10):
        t0 = time.perf_counter()
        engine.template(rgb, face)
        t_embed.append(time.perf_counter() - t0)
    print(f"  of which the embedder alone: median {1000 * statistics.median(t_embed):.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality-only", action="store_true",
                        help="score only photos that pass every quality check")
    parser.add_argument("--timing-photos", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timing-only", action="store_true", help="skip the score distributions")
    add_engine_arguments(parser)
    args = parser.parse_args()
    photos = identity_photos()
    if not photos:
        print("../shared/facedata absent: skipping the face-verification bench")
        return 0
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)
    engine = engine_from_args(args)

    if args.timing_only:
        timing(engine, photos, args.timing_photos, args.repeats)
        return 0
    embedded = embed_photos(engine, photos)
    passed = [e for e in embedded if e.quality_ok]
    print(f"photos {len(photos)}; with a face {len(embedded)}; passing quality {len(passed)}")
    failed_codes: dict[str, int] = {}
    for e in embedded:
        for c in e.codes:
            failed_codes[c] = failed_codes.get(c, 0) + 1
    print(f"quality failures by code: {failed_codes}")
    for label, subset in (("all photos with a face", embedded), ("photos passing quality", passed)):
        if args.quality_only and subset is embedded:
            continue
        g, i = pair_distances(subset, engine.curve)
        genuine = np.array([engine.curve.sim(d) for d in g])
        impostor = np.array([engine.curve.sim(d) for d in i])
        print(f"\n== {label} ==")
        histogram(genuine, "genuine Sim")
        histogram(impostor, "impostor Sim")
        rates(genuine, impostor)
    print("\nnote: the Sim curve was calibrated on these same impostor pairs, so the FAR here "
          "checks the fit, it is not an independent test (see docs/calibration.md)")
    timing(engine, photos, args.timing_photos, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
