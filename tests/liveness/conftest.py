"""Real face photos (matplotlib's Grace Hopper, scikit-image's astronaut) framed as captures,
and meshers shared by the module's tests (mesh models load once per session)."""
from __future__ import annotations

import random

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image
from skimage import data

from bench.liveness_synth import Portrait
from faceengine.detect import FaceMesher
from faceengine.liveness import tracking_mesher


@pytest.fixture(scope="session")
def photo_mesher():
    m = FaceMesher(max_faces=1, static=True)
    yield m
    m.close()


@pytest.fixture(scope="session")
def mesher():
    """Light and silent mode's mesher."""
    m = tracking_mesher("light")
    yield m
    m.close()


@pytest.fixture(scope="session")
def fine_mesher():
    """Lip and action mode's mesher (refined eyelids and lips)."""
    m = tracking_mesher("lip")
    yield m
    m.close()


@pytest.fixture(scope="session")
def hopper(photo_mesher) -> Portrait:
    img = np.array(Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"))
    return Portrait.from_photo(img, photo_mesher)


@pytest.fixture(scope="session")
def astronaut(photo_mesher) -> Portrait:
    return Portrait.from_photo(data.astronaut(), photo_mesher)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261128)
