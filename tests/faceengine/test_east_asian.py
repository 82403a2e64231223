"""East Asian faces: different people must not match (the failure that let one man verify as another).

These people are in the calibration data of the Sim curve (docs/calibration.md), so the tests guard
the pipeline against the regression rather than measure accuracy; bench/face_verification.py
measures. With dlib's earlier curve (calibrated on Western faces), 22 % of East Asian impostor pairs
read Sim >= 70 and the LivePortrait men d12 and d13 read 98.
"""
from __future__ import annotations

import csv
import itertools

import cv2
import numpy as np
import pytest

from faceengine.intake import decode_image
from faceengine.similarity import MATCH_THRESHOLD

pytestmark = pytest.mark.shared

CLIPS = ("d0", "d3", "d6", "d9", "d10", "d11", "d12", "d13", "d14", "d18", "d19", "d20")


@pytest.fixture(scope="module")
def east_asian(facedata):
    index = facedata / "identities_east_asian" / "identities.csv"
    if not index.is_file():
        pytest.skip(f"{index} is absent (shared test material)")
    with index.open(newline="") as fh:
        return [(row["identity"], index.parent / row["path"]) for row in csv.DictReader(fh)]


def test_different_east_asian_people_do_not_match(engine, east_asian):
    """Every pair of photos of two different people of the East Asian set (32 people, 6,000+ pairs)."""
    templates = []
    for identity, path in east_asian:
        a = engine.analyse(decode_image(path.read_bytes()))
        assert a.template is not None, path
        templates.append((identity, a.template))
    genuine, impostor = [], []
    for (ia, ta), (ib, tb) in itertools.combinations(templates, 2):
        (genuine if ia == ib else impostor).append(engine.compare(ta, tb))
    genuine, impostor = np.array(genuine), np.array(impostor)
    assert impostor.size > 6000
    accepted = int(np.sum(impostor >= MATCH_THRESHOLD))
    assert accepted <= 2e-3 * impostor.size, f"{accepted} of {impostor.size} impostor pairs at Sim >= 70"
    assert impostor.max() < 85
    assert np.mean(genuine >= MATCH_THRESHOLD) >= 0.95 and np.median(genuine) < 100


def _frames(facedata, clip: str, at_ms=(1000, 2500)):
    cap = cv2.VideoCapture(str(facedata / "videos" / "liveportrait_driving" / f"{clip}.mp4"))
    out = []
    try:
        for t in at_ms:
            cap.set(cv2.CAP_PROP_POS_MSEC, t)
            ok, frame = cap.read()
            assert ok, clip
            out.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    return out


def test_liveportrait_people_are_told_apart(engine, facedata):
    """The 12 LivePortrait driving clips are 12 people: no two frames of two clips match (66 pairs of
    people, 4 frame pairs each); two frames of one clip do."""
    templates = {c: [engine.analyse(f).template for f in _frames(facedata, c)] for c in CLIPS}
    for clip, (a, b) in templates.items():
        assert engine.compare(a, b) >= MATCH_THRESHOLD, clip
    for x, y in itertools.combinations(CLIPS, 2):
        best = max(engine.compare(a, b) for a in templates[x] for b in templates[y])
        assert best < MATCH_THRESHOLD, f"{x} vs {y}: Sim {best:.1f}"
