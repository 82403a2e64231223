"""Real face photos (matplotlib's Grace Hopper, scikit-image's astronaut) framed as captures,
and meshers shared by the module's tests (mesh models load once per session)."""
from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image
from skimage import data

from capture_synth.liveness import Portrait
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


FACEDATA = Path(__file__).resolve().parents[2].parent / "shared" / "facedata"


def facedata_portrait(relpath: str, photo_mesher) -> Portrait:
    bgr = cv2.imread(str(FACEDATA / "identities" / relpath))
    return Portrait.from_photo(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), photo_mesher)


@pytest.fixture(scope="session")
def jittery_mouth(photo_mesher) -> Portrait:
    """A soft LFW photo on which the mesh's closed lips jitter by up to ~0.13 mouth widths,
    with single-frame snaps (tests marked ``shared`` only)."""
    return facedata_portrait("lfw_krasserm/Donald_Rumsfeld/Donald_Rumsfeld_0001.jpg", photo_mesher)


@pytest.fixture(scope="session")
def narrow_eyes(photo_mesher) -> Portrait:
    """Heavy eye make-up: the mesh reads the open eyes at EAR ~0.13 and jitters ~10% (``shared``)."""
    return facedata_portrait("deepface/deepface_id02/img26.jpg", photo_mesher)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261128)
