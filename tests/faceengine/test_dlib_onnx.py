"""dlib's descriptor network converted to ONNX gives dlib's own numbers on real faces."""
from __future__ import annotations

import face_recognition_models as frm
import numpy as np
import pytest

from faceengine.dlib_onnx import DlibOnnxNet
from faceengine.embed import DlibEmbedder
from faceengine.engine import EngineOptions, FaceEngine
from faceengine.errors import EngineUnavailable


@pytest.fixture(scope="module")
def dlib_native():
    return DlibEmbedder(backend="dlib")


@pytest.fixture(scope="module")
def dlib_engine():
    """The engine with FACE_EMBEDDER=dlib (the default engine runs MobileFaceNet)."""
    engine = FaceEngine(EngineOptions(embedder="dlib")).load()
    yield engine
    engine.close()


def test_converted_network_matches_dlib_on_real_faces(dlib_engine, dlib_native, grace_rgb, astronaut_rgb):
    engine = dlib_engine
    onnx_embedder = engine._embedder
    assert onnx_embedder.backend == "onnxruntime"
    for img in (grace_rgb, astronaut_rgb):
        face = engine.detect(img)[0]
        chip = dlib_native.chip(img, face)
        want = dlib_native.embed_chip(chip).vector
        got = onnx_embedder.embed_chip(chip).vector
        assert got.shape == want.shape == (128,)
        np.testing.assert_allclose(got, want, atol=1e-5)
        # and through the whole engine: the template is dlib's
        np.testing.assert_allclose(engine.analyse(img).template.vector, want, atol=1e-5)


def test_converted_network_matches_dlib_off_distribution(dlib_native):
    """A non-face chip exercises every activation range, not only faces'."""
    chip = np.random.default_rng(7).integers(0, 256, (150, 150, 3), dtype=np.uint8)
    net = DlibOnnxNet(frm.face_recognition_model_location())
    np.testing.assert_allclose(net.descriptor(chip), dlib_native.embed_chip(chip).vector, atol=1e-5)


def test_unreadable_model_file_is_engine_unavailable(tmp_path):
    bad = tmp_path / "model.dat"
    good = open(frm.face_recognition_model_location(), "rb").read()
    bad.write_bytes(good[: len(good) // 3])
    with pytest.raises(EngineUnavailable):
        DlibOnnxNet(str(bad))
    with pytest.raises(EngineUnavailable):
        DlibOnnxNet(str(tmp_path / "missing.dat"))
