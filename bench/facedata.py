"""Locate and list ../shared/facedata (real faces, never copied into the repo).

Two populations, each person counted once:

- ``east_asian``: ``identities_east_asian/identities.csv`` (32 people, 113 photos; ``identity``);
- ``other``: ``identities/identities.csv`` by ``global_identity_key``, less the two Azure
  "Family2" stock models, who are East Asian and listed in both sets (MANIFEST section E).

An operator measures their own population with a CSV of ``path,identity`` (``photo_list``).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FACEDATA = REPO_ROOT.parent / "shared" / "facedata"
POPULATIONS = ("east_asian", "other")

# global_identity_key of section A's people who are section E's stock_azure_family2_* people.
_EAST_ASIAN_IN_SECTION_A = {"azure_stock_model_family2-lady", "azure_stock_model_family2-man"}


@dataclass(frozen=True)
class IdentityPhoto:
    path: Path
    identity: str   # the same person across source folders
    sex: str = ""   # "M" / "F" where the index says


def population(name: str, root: Path = FACEDATA) -> list[IdentityPhoto]:
    """The photos of one population, or an empty list when the data is absent."""
    if name == "east_asian":
        index = root / "identities_east_asian" / "identities.csv"
        if not index.is_file():
            return []
        with index.open(newline="") as fh:
            return [IdentityPhoto(index.parent / row["path"], row["identity"], row.get("sex", ""))
                    for row in csv.DictReader(fh)]
    if name == "other":
        index = root / "identities" / "identities.csv"
        if not index.is_file():
            return []
        with index.open(newline="") as fh:
            return [IdentityPhoto(index.parent / row["path"], row["global_identity_key"])
                    for row in csv.DictReader(fh) if row["global_identity_key"] not in _EAST_ASIAN_IN_SECTION_A]
    raise ValueError(f"unknown population {name!r}; one of {POPULATIONS}")


def identity_photos(root: Path = FACEDATA) -> list[IdentityPhoto]:
    """Every photo of section A (identities/identities.csv), both populations' people included."""
    index = root / "identities" / "identities.csv"
    if not index.is_file():
        return []
    with index.open(newline="") as fh:
        return [IdentityPhoto(root / "identities" / row["path"], row["global_identity_key"])
                for row in csv.DictReader(fh)]


def photo_list(path: Path) -> list[IdentityPhoto]:
    """An operator's own population: a CSV with columns path,identity (paths relative to the CSV)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"path", "identity"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: lacks columns {', '.join(sorted(missing))}")
        return [IdentityPhoto(Path(path).resolve().parent / row["path"], row["identity"].strip(),
                              (row.get("sex") or "").strip()) for row in reader]
