"""1:1 comparison on real faces: the same photo survives re-crops, rescaling, rotation and
recompression with Sim >= 70; different people stay below 70."""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from faceengine.embed import FaceTemplate
from faceengine.errors import FaceEngineError
from faceengine.intake import decode_image
from faceengine.mobilefacenet import MODEL_ID as MOBILEFACENET_ID
from faceengine.similarity import DLIB_CURVE, FUSED_CURVE, MATCH_THRESHOLD, MOBILEFACENET_CURVE, SimilarityCurve

from .conftest import encode


def _recrop(img, face, margin, shift=(0.0, 0.0)):
    cx, cy = face.center
    cx += shift[0] * face.w
    cy += shift[1] * face.h
    half = (0.5 + margin) * max(face.w, face.h)
    h, w = img.shape[:2]
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(w, int(cx + half)), min(h, int(cy + half))
    return np.ascontiguousarray(img[y0:y1, x0:x1])


def _rotate(img, deg):
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def _scale(img, s):
    return cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


VARIANTS = {
    "tight_crop": lambda img, f: _recrop(img, f, 0.15),
    "loose_crop": lambda img, f: _recrop(img, f, 0.9),
    "shifted_crop": lambda img, f: _recrop(img, f, 0.5, (0.15, -0.1)),
    "half_size": lambda img, f: _scale(img, 0.5),
    "third_size": lambda img, f: _scale(img, 0.36),
    "upscaled": lambda img, f: _scale(img, 1.6),
    "rotated_+12": lambda img, f: _rotate(img, 12),
    "rotated_-12": lambda img, f: _rotate(img, -12),
    "jpeg_q25": lambda img, f: decode_image(encode(img, ".jpg", quality=25)),
    "webp_roundtrip": lambda img, f: decode_image(encode(img, ".webp")),
}


@pytest.fixture(scope="module")
def references(engine, grace_rgb, astronaut_rgb):
    return {"grace": (grace_rgb, engine.analyse(grace_rgb)),
            "astronaut": (astronaut_rgb, engine.analyse(astronaut_rgb))}


@pytest.mark.parametrize("person", ["grace", "astronaut"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_same_person_variants_match(engine, references, person, variant):
    img, ref = references[person]
    other = engine.analyse(VARIANTS[variant](img, ref.face))
    assert other.template is not None
    sim = engine.compare(ref.template, other.template)
    assert sim >= MATCH_THRESHOLD, f"{person}/{variant}: sim {sim:.1f}"


def test_different_people_do_not_match(engine, references):
    sim = engine.compare(references["grace"][1].template, references["astronaut"][1].template)
    assert sim < MATCH_THRESHOLD


def test_identical_template_scores_100_and_is_symmetric(engine, references):
    g, a = references["grace"][1].template, references["astronaut"][1].template
    assert engine.compare(g, g) == 100.0
    assert engine.compare(g, a) == engine.compare(a, g)


def test_template_bytes_round_trip(engine, references):
    t = references["grace"][1].template
    back = FaceTemplate.from_bytes(t.to_bytes())
    assert back.model == engine.model_id == MOBILEFACENET_ID and back.vector.dtype == np.float32
    assert np.array_equal(back.vector, t.vector) and back.vector.shape == (128,)
    with pytest.raises(FaceEngineError):
        FaceTemplate.from_bytes(b"")


def test_templates_of_another_model_are_refused(engine, references):
    t = references["grace"][1].template
    with pytest.raises(FaceEngineError):
        engine.compare(t, FaceTemplate(t.vector, "some_other_model"))


def test_engine_refuses_non_rgb_arrays(engine):
    with pytest.raises(FaceEngineError):
        engine.analyse(np.zeros((10, 10), np.uint8))
    with pytest.raises(FaceEngineError):
        engine.analyse(np.zeros((10, 10, 3), np.float32))


@pytest.mark.parametrize("curve", [DLIB_CURVE, MOBILEFACENET_CURVE, FUSED_CURVE], ids=["dlib", "mfn", "fused"])
def test_curve_is_monotone_anchored_and_graded(curve):
    """Sim falls strictly as distance grows, spans [0, 100], 70/80 sit at the calibrated knots, and
    only the distance of identical templates reads 100 (a graded top, not a plateau)."""
    lo, hi = curve.distances[0], curve.distances[-1]
    d = np.linspace(lo, hi, 401)
    s = np.array([curve.sim(x) for x in d])
    assert np.all(np.diff(s) < 0) and s[0] == 100.0 and s[-1] == 0.0
    k = dict(zip(curve.sims, curve.distances))
    assert curve.sim(k[70.0]) == pytest.approx(70.0) and curve.sim(k[80.0]) == pytest.approx(80.0)
    assert curve.sim(lo + 0.01 * (k[90.0] - lo)) < 100.0
    with pytest.raises(FaceEngineError):
        SimilarityCurve(distances=(0.5, 0.4), sims=(100.0, 0.0))


def test_identical_fused_templates_read_100():
    v = np.random.default_rng(0).normal(size=256).astype(np.float32)
    assert FUSED_CURVE.sim(FUSED_CURVE.distance(v, v)) >= 99.99   # knots rounded to 4 decimals


@pytest.mark.shared
def test_lfw_identities_separate(engine, facedata, facedata_index):
    """Ten LFW people, five photos each: genuine pairs mostly >= 70, impostors almost never.

    These photos were part of the calibration data, so this guards the pipeline (detector,
    alignment, descriptor, curve) against regressions rather than measuring accuracy; the
    bench does the measuring."""
    rows = [r for r in facedata_index if r["source_set"] == "lfw_krasserm"]
    by_person: dict[str, list[str]] = {}
    for r in rows:
        by_person.setdefault(r["global_identity_key"], []).append(r["path"])
    templates = []
    for person, paths in sorted(by_person.items()):
        for p in sorted(paths)[:5]:
            a = engine.analyse(decode_image((facedata / "identities" / p).read_bytes()))
            assert a.template is not None, p
            templates.append((person, a.template))
    genuine, impostor = [], []
    for (pa, ta), (pb, tb) in itertools.combinations(templates, 2):
        (genuine if pa == pb else impostor).append(engine.compare(ta, tb))
    genuine, impostor = np.array(genuine), np.array(impostor)
    assert len(genuine) == 100 and len(impostor) == 1125
    assert np.mean(genuine >= MATCH_THRESHOLD) >= 0.9
    assert np.median(genuine) >= 85
    assert np.sum(impostor >= MATCH_THRESHOLD) <= 5
