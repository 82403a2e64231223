"""The liveness identity check the service runs: the engine's embedder (MobileFaceNet's one pass)
at its calibrated low-FAR point, aligned by the track's own mesh."""
from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from capture_synth.liveness import animated_capture, genuine_light_params, light_capture, none
from faceengine.embed import FaceTemplate
from faceengine.liveness import EngineIdentity, Frame, new_light_challenge
from faceengine.liveness.track import TrackOptions, check_continuity, track_face
from faceengine.mobilefacenet import MODEL_ID, ONE_PASS_MODEL_ID
from faceengine.similarity import MATCH_THRESHOLD, MOBILEFACENET_ONE_PASS_CURVE
from wx_backend.engine_holder import EngineHolder
from wx_backend.engine_factory import engine_options
from wx_backend.services import EXTENSION_KEY

# The appearance-cut and jump checks off: whatever is caught is caught by the identity check.
IDENTITY_ONLY = TrackOptions(min_consecutive_ncc=-1.0, max_jump_iod=1e9)


@pytest.fixture(scope="module")
def identity(face_engine):
    return EngineIdentity(face_engine)


def mildly_changed(rgb: np.ndarray) -> np.ndarray:
    """The same photo turned 4 degrees, scaled by 0.9, 10 % brighter and re-encoded at JPEG 75."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 4.0, 0.9)
    out = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out = np.clip(out.astype(np.float32) * 1.1, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def describe(face_engine, identity, rgb, plain_mesh: bool):
    """The descriptor as the track asks for it: the face's box and mesh points, the light and silent
    modes' plain 468-point mesh or the lip and action modes' refined one."""
    a = face_engine.analyse(rgb, embed=False)
    points = a.landmarks.points[:468] if plain_mesh else a.landmarks.points
    return identity.descriptor(rgb, (a.face.x, a.face.y, a.face.w, a.face.h), points)


def test_the_default_engine_describes_with_mobilefacenets_one_pass_at_far_1_in_10000(face_engine, identity):
    assert face_engine.model_id == MODEL_ID
    assert identity.model_id == ONE_PASS_MODEL_ID and identity.min_sim == 80.0
    assert identity.min_sim > MATCH_THRESHOLD


@pytest.mark.parametrize("plain_mesh", [True, False], ids=["plain mesh", "refined mesh"])
def test_one_person_is_the_same_and_two_people_are_not(face_engine, identity, grace_rgb, astronaut_rgb,
                                                      plain_mesh):
    grace = describe(face_engine, identity, grace_rgb, plain_mesh)
    changed = describe(face_engine, identity, mildly_changed(grace_rgb), plain_mesh)
    astronaut = describe(face_engine, identity, astronaut_rgb, plain_mesh)
    assert grace.model == ONE_PASS_MODEL_ID
    assert identity.same_person(grace, changed)
    assert not identity.same_person(grace, astronaut)
    assert not identity.same_person(changed, astronaut)


def test_descriptor_without_landmarks_meshes_the_face_itself(face_engine, identity, grace_rgb):
    box = face_engine.detect(grace_rgb)[0]
    alone = identity.descriptor(grace_rgb, (box.x, box.y, box.w, box.h))
    tracked = describe(face_engine, identity, grace_rgb, plain_mesh=False)
    assert identity.same_person(alone, tracked)


def test_the_decision_is_the_one_pass_curves_sim_80_not_the_comparisons_70(identity):
    """Two unit vectors at a chosen cosine distance, either side of the curve's Sim-80 knot."""
    knot = MOBILEFACENET_ONE_PASS_CURVE.distances[MOBILEFACENET_ONE_PASS_CURVE.sims.index(80.0)]

    def pair(distance):
        angle = np.arccos(1.0 - distance)
        a = np.zeros(128, np.float32)
        b = np.zeros(128, np.float32)
        a[0], b[0], b[1] = 1.0, np.cos(angle), np.sin(angle)
        return FaceTemplate(a, ONE_PASS_MODEL_ID), FaceTemplate(b, ONE_PASS_MODEL_ID)

    assert identity.same_person(*pair(knot - 0.01))
    between = pair(knot + 0.03)          # Sim between 70 and 80: a comparison would accept it
    assert MATCH_THRESHOLD <= identity.sim(*between) < 80.0
    assert not identity.same_person(*between)


def test_the_identity_check_alone_catches_a_splice_of_two_people(hopper, astronaut, mesher, fine_mesher,
                                                                identity):
    a = animated_capture(hopper, none, none, 1000, random.Random(3))
    b = animated_capture(astronaut.aligned_to(hopper), none, none, 1000, random.Random(4))
    spliced = a + [Frame(f.image_rgb, f.timestamp_ms + 1067) for f in b]
    for m in (mesher, fine_mesher):
        track = track_face(spliced, m)
        assert check_continuity(track, spliced, IDENTITY_ONLY).ok          # nothing else catches it
        found = check_continuity(track, spliced, IDENTITY_ONLY, identity)
        assert not found.ok and found.reason == "identity_changed"


def test_a_genuine_capture_under_the_screens_colours_passes(hopper, mesher, identity):
    rng = random.Random(11)
    ch = new_light_challenge(rng)
    frames = light_capture([hopper], ch, genuine_light_params(rng), rng)
    assert check_continuity(track_face(frames, mesher), frames, IDENTITY_ONLY, identity).ok


@pytest.fixture
def overrides(overrides, face_engine):
    """The session's engine; the liveness kit is the service's default, built from it."""
    return {**overrides, "engine": EngineHolder(lambda: face_engine)}


def test_the_service_runs_the_fast_identity_check_by_default(app, settings, face_engine):
    assert engine_options(settings).embedder_name == "mobilefacenet"
    kit = app.extensions[EXTENSION_KEY].liveness.get()
    assert isinstance(kit.identity, EngineIdentity)
    assert kit.identity.model_id == ONE_PASS_MODEL_ID and kit.identity.min_sim == 80.0
