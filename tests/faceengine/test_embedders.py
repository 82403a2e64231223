"""The built-in embedders: MobileFaceNet shipped in the package, dlib, their fusion; model ids keep
templates of one from being compared with another's; another built-in embedder can embed a probe for
a reference it made (a registry enrolled under an earlier default)."""
from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from faceengine.detect import FaceLandmarks
from faceengine.embed import DLIB_MODEL_ID, FaceTemplate
from faceengine.engine import EngineOptions, FaceEngine
from faceengine.errors import EngineUnavailable, FaceEngineError
from faceengine.fusion import FUSED_MODEL_ID
from faceengine.mobilefacenet import MODEL_ID, MODEL_PATH, MODEL_SHA256, mobilefacenet_options
from faceengine.onnx_embed import OnnxEmbedder
from faceengine.similarity import DLIB_CURVE


def test_mobilefacenet_ships_inside_the_package_with_licence_and_provenance():
    assert MODEL_PATH.parent.parent.name == "faceengine" and MODEL_PATH.is_file()
    assert hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest() == MODEL_SHA256
    provenance = (MODEL_PATH.parent / "MobileFaceNet.PROVENANCE.md").read_text()
    assert MODEL_SHA256 in provenance and "MS1M" in provenance
    assert "Apache License" in (MODEL_PATH.parent / "MobileFaceNet.LICENSE").read_text()


def test_the_default_engine_runs_mobilefacenet(engine, grace_analysis):
    assert engine.model_id == MODEL_ID == grace_analysis.template.model
    assert grace_analysis.template.vector.shape == (128,)


def test_a_changed_model_file_is_refused(tmp_path):
    copy = tmp_path / "MobileFaceNet.onnx"
    shutil.copy(MODEL_PATH, copy)
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(EngineUnavailable, match="calibration"):
        OnnxEmbedder(mobilefacenet_options(path=copy))


def test_other_builtin_embedders_make_their_own_templates(engine, grace_rgb, astronaut_rgb, grace_analysis):
    """A dlib template from the MobileFaceNet engine is dlib's own (the dlib engine's) and is compared
    through dlib's curve; fused templates are dlib's and MobileFaceNet's side by side."""
    dlib_engine = FaceEngine(EngineOptions(embedder="dlib")).load()
    try:
        g = grace_analysis
        mine = engine.template(grace_rgb, g.face, g.landmarks, model=DLIB_MODEL_ID)
        theirs = dlib_engine.analyse(grace_rgb).template
        assert mine.model == theirs.model == DLIB_MODEL_ID
        np.testing.assert_allclose(mine.vector, theirs.vector, atol=1e-5)
        a = dlib_engine.analyse(astronaut_rgb).template
        assert engine.compare(mine, a) == pytest.approx(DLIB_CURVE.sim(DLIB_CURVE.distance(mine.vector, a.vector)))
        fused = engine.template(grace_rgb, g.face, g.landmarks, model=FUSED_MODEL_ID)
        assert fused.model == FUSED_MODEL_ID
        np.testing.assert_allclose(fused.vector, np.concatenate([theirs.vector, g.template.vector]), atol=1e-5)
        with pytest.raises(FaceEngineError):     # never across models
            engine.compare(mine, g.template)
        with pytest.raises(FaceEngineError):     # nor a model nobody here can run
            engine.template(grace_rgb, g.face, model="someone_elses_model")
        assert not engine.supports("someone_elses_model") and engine.supports(DLIB_MODEL_ID)
    finally:
        dlib_engine.close()


def test_template_without_landmarks_meshes_the_face(engine, grace_rgb, grace_analysis):
    """Given a box only, MobileFaceNet still aligns by the mesh (made here); given the plain 468-point
    mesh the liveness track keeps (no iris points), by the eye contours' centroids."""
    t = engine.template(grace_rgb, grace_analysis.face)
    assert engine.compare(t, grace_analysis.template) > 99
    plain = FaceLandmarks(grace_analysis.landmarks.points[:468])
    assert engine.compare(engine.template(grace_rgb, grace_analysis.face, plain), grace_analysis.template) > 95


@pytest.mark.parametrize("kwargs", [{"embedder": "arcface"}, {"embedder": "onnx"}])
def test_bad_engine_options_are_refused(kwargs):
    with pytest.raises(EngineUnavailable):
        EngineOptions(**kwargs)


def test_fused_template_round_trips(engine, grace_rgb, grace_analysis):
    fused = engine.template(grace_rgb, grace_analysis.face, grace_analysis.landmarks, model=FUSED_MODEL_ID)
    back = FaceTemplate.from_bytes(fused.to_bytes())
    assert back.model == FUSED_MODEL_ID and back.vector.shape == (256,)
    assert engine.compare(back, fused) >= 99.99
