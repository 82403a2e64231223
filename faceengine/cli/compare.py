"""Compare the faces of two image files: prints {"sim", "match", "faces"} as JSON.

Exit 0 with the comparison (sim 0 and match false when an image has no face); exit 2 with
{"error": CODE, "message": ...} when an image cannot be read or decoded.
"""
from __future__ import annotations

import argparse
import json

from ..engine import FaceEngine
from ..errors import FaceEngineError, MediaError
from ..intake import DEFAULT_LIMITS, IntakeLimits, decode_image
from ..similarity import MATCH_THRESHOLD


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image1", help="JPEG, PNG or WebP file")
    parser.add_argument("image2", help="JPEG, PNG or WebP file")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_LIMITS.max_bytes,
                        help="refuse larger files (default: 3 MB)")


def run(args: argparse.Namespace) -> int:
    limits = IntakeLimits(max_bytes=args.max_bytes, max_pixels=DEFAULT_LIMITS.max_pixels)
    images = []
    for path in (args.image1, args.image2):
        try:
            with open(path, "rb") as fh:
                data = fh.read(limits.max_bytes + 1)
            images.append(decode_image(data, limits))
        except OSError as exc:
            return _fail("ImageReadFailed", f"{path}: {exc.strerror or exc}")
        except MediaError as exc:
            return _fail(exc.code, f"{path}: {exc}")
    try:
        engine = FaceEngine().load()
        a, b = (engine.analyse(img) for img in images)
        sim = 0.0
        if a.template is not None and b.template is not None:
            sim = engine.compare(a.template, b.template)
    except FaceEngineError as exc:
        return _fail(exc.code, str(exc), status=1)
    out = {"sim": round(sim, 2), "match": sim >= MATCH_THRESHOLD,
           "faces": [len(a.faces), len(b.faces)],
           "quality": [list(a.quality.codes), list(b.quality.codes)]}
    print(json.dumps(out))
    return 0


def _fail(code: str, message: str, status: int = 2) -> int:
    print(json.dumps({"error": code, "message": message}))
    return status
