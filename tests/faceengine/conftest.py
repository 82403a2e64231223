"""Fixtures for the face engine: one engine per test session, real face photos."""
from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceengine.engine import FaceEngine

ROOT = Path(__file__).resolve().parents[2]
FACEDATA = ROOT.parent / "shared" / "facedata"


@pytest.fixture(scope="session")
def engine(face_engine) -> FaceEngine:
    return face_engine


@pytest.fixture(scope="session")
def grace_analysis(engine, grace_rgb):
    return engine.analyse(grace_rgb)


@pytest.fixture(scope="session")
def facedata() -> Path:
    if not (FACEDATA / "identities" / "identities.csv").is_file():
        pytest.skip(f"{FACEDATA} is absent (shared test material)")
    return FACEDATA


@pytest.fixture(scope="session")
def facedata_index(facedata) -> list[dict]:
    with (facedata / "identities" / "identities.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def encode(rgb: np.ndarray, ext: str = ".jpg", **params) -> bytes:
    flags = []
    if "quality" in params:
        flags = [cv2.IMWRITE_JPEG_QUALITY, params["quality"]]
    ok, buf = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), flags)
    assert ok
    return buf.tobytes()
