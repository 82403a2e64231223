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
