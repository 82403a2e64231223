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
def engine() -> FaceEngine:
    eng = FaceEngine().load()
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def grace_rgb() -> np.ndarray:
    """Grace Hopper, 512x600 RGB (matplotlib sample data)."""
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        data = np.frombuffer(fh.read(), np.uint8)
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    """Eileen Collins, 512x512 RGB (scikit-image sample data)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


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
