"""Locate and list ../shared/facedata (real faces, never copied into the repo)."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FACEDATA = REPO_ROOT.parent / "shared" / "facedata"


@dataclass(frozen=True)
class IdentityPhoto:
    path: Path
    identity: str  # global_identity_key: the same person across source folders


def identity_photos(root: Path = FACEDATA) -> list[IdentityPhoto]:
    """Every photo of identities/identities.csv, or an empty list when the data is absent."""
    index = root / "identities" / "identities.csv"
    if not index.is_file():
        return []
    with index.open(newline="") as fh:
        return [IdentityPhoto(root / "identities" / row["path"], row["global_identity_key"])
                for row in csv.DictReader(fh)]


@dataclass(frozen=True)
class Embedded:
    photo: IdentityPhoto
    vector: "object"      # np.ndarray template vector
    quality_ok: bool
    codes: tuple


def embed_photos(engine, photos: list[IdentityPhoto]) -> list[Embedded]:
    """Template of the largest face of every photo (photos without a face are left out)."""
    from faceengine.intake import decode_image

    out = []
    for photo in photos:
        analysis = engine.analyse(decode_image(photo.path.read_bytes()))
        if analysis.template is not None:
            out.append(Embedded(photo, analysis.template.vector, analysis.quality.ok,
                                analysis.quality.codes))
    return out


def pair_distances(embedded: list[Embedded], curve) -> tuple[list[float], list[float]]:
    """(genuine, impostor) distances over all unordered pairs. Identity is the
    global_identity_key, so one person filed under two sources is never an impostor pair.
    Pairs of two files of one photo (facenet_pytorch: 1.jpg and its aligned crop) are skipped."""
    genuine, impostor = [], []
    for i in range(len(embedded)):
        a = embedded[i]
        for b in embedded[i + 1:]:
            d = curve.distance(a.vector, b.vector)
            if a.photo.identity != b.photo.identity:
                impostor.append(d)
            elif "facenet_pytorch" not in str(a.photo.path):
                genuine.append(d)
    return genuine, impostor


def add_engine_arguments(parser) -> None:
    """Options to bench an operator's ONNX embedder instead of dlib."""
    parser.add_argument("--dlib-backend", default="onnxruntime", choices=("onnxruntime", "dlib"),
                        help="run dlib's network converted (default) or natively")
    parser.add_argument("--onnx", help="ONNX embedder to use instead of dlib")
    parser.add_argument("--onnx-size", type=int, default=112)
    parser.add_argument("--onnx-colour", default="RGB", choices=("RGB", "BGR"))
    parser.add_argument("--onnx-mean", type=float, nargs=3, default=(127.5, 127.5, 127.5),
                        help="per channel, 0-255 units")
    parser.add_argument("--onnx-std", type=float, nargs=3, default=(128.0, 128.0, 128.0))
    parser.add_argument("--onnx-flip", action="store_true", help="average with the mirrored face")
    parser.add_argument("--onnx-knots", help="calibrated cosine curve 'dist:sim,dist:sim,...' "
                                             "(printed by calibrate_similarity.py --onnx)")


def engine_from_args(args):
    from faceengine.engine import EngineOptions, FaceEngine
    from faceengine.onnx_embed import OnnxEmbedderOptions
    from faceengine.similarity import SimilarityCurve

    if not args.onnx:
        return FaceEngine(EngineOptions(dlib_backend=args.dlib_backend)).load()
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
