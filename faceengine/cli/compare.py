"""Compare faces of image files: prints {"sim", "match", "faces", "quality", "distance", "model"} as JSON.

    python -m faceengine compare REF PROBE
    python -m faceengine compare --pairs PAIRS.csv      # one "ref,probe" per line; one model load

The first image of a pair is the reference (judged by the reference-photo rules: an ID photo or a
merchant's photo, faces down to 40 px), the second the probe (the selfie rules). ``quality`` lists
each image's failed-rule codes; ``distance`` is the embedder's raw template distance (what
bench/calibrate_similarity.py fits a curve to); ``model`` the embedder's id.

Two images: exit 0 with the comparison (sim 0 and match false when an image has no face); exit 2
with {"error": CODE, "message": ...} when an image cannot be read or decoded.
Pairs: one JSON line per pair, in the file's order, each as above (an unreadable image makes that
line an error line); relative paths are taken from the CSV's folder; blank lines and a
"ref,probe" header are skipped. Each distinct file is decoded and analysed once. Exit 0 when
every pair was compared, 2 when some line is an error, 1 when the engine failed.
"""
from __future__ import annotations

import argparse
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from ..engine import EMBEDDERS, EngineOptions, FaceAnalysis, FaceEngine
from ..errors import FaceEngineError, MediaError
from ..intake import DEFAULT_LIMITS, IntakeLimits, decode_image
from ..similarity import MATCH_THRESHOLD


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="REF PROBE: JPEG, PNG or WebP files")
    parser.add_argument("--pairs", metavar="PAIRS.csv", help="compare every ref,probe line of this file")
    parser.add_argument("--embedder", default=EngineOptions.embedder,
                        choices=[e for e in EMBEDDERS if e != "onnx"],
                        help="built-in embedder (default: %(default)s, the service's default)")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_LIMITS.max_bytes,
                        help="refuse larger files (default: 3 MB)")


class PairError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Scored:
    """One compared pair. ``distance`` is None (and ``sim`` 0) when an image has no face."""

    sim: float
    distance: float | None
    faces: tuple[int, int]
    quality: tuple[tuple[str, ...], tuple[str, ...]]
    model: str

    @property
    def match(self) -> bool:
        return self.sim >= MATCH_THRESHOLD

    def as_json(self) -> dict:
        return {"sim": round(self.sim, 2), "match": self.match, "faces": list(self.faces),
                "quality": [list(q) for q in self.quality],
                "distance": None if self.distance is None else round(self.distance, 6), "model": self.model}


class PairScorer:
    """Scores (reference, probe) file pairs with one engine; each file is analysed once per role."""

    def __init__(self, engine: FaceEngine, limits: IntakeLimits = DEFAULT_LIMITS):
        self.engine = engine
        self.limits = limits
        self._seen: dict[tuple[str, bool], FaceAnalysis | PairError] = {}

    def analysis(self, path: str | Path, reference: bool) -> FaceAnalysis:
        key = (str(path), reference)
        if key not in self._seen:
            try:
                self._seen[key] = self.engine.analyse(read_image(path, self.limits), reference=reference)
            except PairError as exc:
                self._seen[key] = exc
        found = self._seen[key]
        if isinstance(found, PairError):
            raise found
        return found

    def score(self, ref: str | Path, probe: str | Path) -> Scored:
        """Raises PairError when a file cannot be read or decoded, FaceEngineError when the engine fails."""
        a, b = self.analysis(ref, True), self.analysis(probe, False)
        distance = None
        sim = 0.0
        if a.template is not None and b.template is not None:
            curve = self.engine.curve
            distance = curve.distance(a.template.vector, b.template.vector)
            sim = curve.sim(distance)
        return Scored(sim, distance, (len(a.faces), len(b.faces)), (a.quality.codes, b.quality.codes),
                      self.engine.model_id)

    def score_all(self, pairs: Iterable[tuple[str, str]]) -> Iterator[Scored | PairError]:
        for ref, probe in pairs:
            try:
                yield self.score(ref, probe)
            except PairError as exc:
                yield exc


def read_pairs(path: str | Path) -> list[tuple[str, str]]:
    """The (ref, probe) paths of a pairs CSV, relative ones taken from the CSV's folder."""
    base = Path(path).resolve().parent
    out = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for n, row in enumerate(csv.reader(fh), start=1):
            cells = [c.strip() for c in row]
            if not any(cells) or (n == 1 and [c.lower() for c in cells] == ["ref", "probe"]):
                continue
            if len(cells) != 2 or not all(cells):
                raise ValueError(f"{path}:{n}: expected ref,probe")
            out.append(tuple(str(base / c) for c in cells))
    return out


def run(args: argparse.Namespace) -> int:
    limits = IntakeLimits(max_bytes=args.max_bytes, max_pixels=DEFAULT_LIMITS.max_pixels)
    if args.pairs:
        if args.images:
            return _fail("Usage", "give either two images or --pairs, not both")
        try:
            pairs = read_pairs(args.pairs)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            return _fail("PairsReadFailed", str(exc))
    elif len(args.images) == 2:
        pairs = [tuple(args.images)]
        # Two images: an unreadable one fails the command before the models load.
        for path in args.images:
            try:
                read_image(path, limits)
            except PairError as exc:
                return _fail(exc.code, str(exc))
    else:
        return _fail("Usage", "give two images (REF PROBE) or --pairs PAIRS.csv")
    errors = 0
    try:
        scorer = PairScorer(FaceEngine(EngineOptions(embedder=args.embedder)).load(), limits)
        for result in scorer.score_all(pairs):
            if isinstance(result, PairError):
                errors += 1
                line = {"error": result.code, "message": str(result)}
            else:
                line = result.as_json()
            print(json.dumps(line), flush=True)
    except FaceEngineError as exc:
        return _fail(exc.code, str(exc), status=1)
    return 2 if errors else 0


def read_image(path: str | Path, limits: IntakeLimits):
    try:
        with open(path, "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise PairError("ImageReadFailed", f"{path}: {exc.strerror or exc}") from None
    try:
        return decode_image(data, limits)
    except MediaError as exc:
        raise PairError(exc.code, f"{path}: {exc}") from None


def _fail(code: str, message: str, status: int = 2) -> int:
    print(json.dumps({"error": code, "message": message}))
    return status
