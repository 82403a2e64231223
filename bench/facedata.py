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
