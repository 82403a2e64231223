"""The optional ONNX embedder: loading, preprocessing spec, alignment and use by the engine,
with a tiny model built here with onnx.helper (nothing downloaded)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from faceengine.engine import EngineOptions, FaceEngine
from faceengine.errors import EngineUnavailable
from faceengine.onnx_embed import ARCFACE_112, OnnxEmbedder, OnnxEmbedderOptions
from faceengine.similarity import SimilarityCurve

# Channel means (after normalisation) times W plus b: every channel weighs differently, so a
# swapped colour order or a wrong mean/std changes the output.
W = np.array([[1.0, 0.0, 0.5, 0.2], [0.0, 2.0, 0.5, -0.3], [0.0, 0.0, 3.0, 0.7]], np.float32)
B = np.array([0.1, -0.2, 0.3, 0.05], np.float32)
COSINE = SimilarityCurve(distances=(0.0, 0.2, 0.4, 1.0), sims=(100.0, 80.0, 70.0, 0.0), metric="cosine")


def _tiny_model(path, size: int = 112, channels: int = 3) -> str:
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "W"], ["mm"]),
         helper.make_node("Add", ["mm", "B"], ["embedding"])],
        "tiny_embedder",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, channels, size, size])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 4])],
        initializer=[numpy_helper.from_array(W[:channels], "W"), numpy_helper.from_array(B, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return _tiny_model(tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def _expected(crop_rgb, order, mean, std):
    img = crop_rgb if order == "RGB" else crop_rgb[..., ::-1]
    m = (img.reshape(-1, 3).astype(np.float64).mean(axis=0) - np.array(mean)) / np.array(std)
    v = m @ W + B
    return v / np.linalg.norm(v)


@pytest.mark.parametrize("order,mean,std", [
    ("RGB", (127.5, 127.5, 127.5), (128.0, 128.0, 128.0)),
    ("BGR", (104.0, 117.0, 123.0), (58.0, 57.0, 57.5)),
])
def test_preprocessing_follows_the_options(model_path, grace_rgb, grace_analysis, order, mean, std):
    emb = OnnxEmbedder(OnnxEmbedderOptions(path=model_path, curve=COSINE, model_id="tiny",
                                           colour_order=order, mean=mean, std=std))
    a = grace_analysis
    crop = emb.align(grace_rgb, a.face, a.landmarks)
    t = emb.embed(grace_rgb, a.face, a.landmarks)
    assert t.model == "tiny" and t.vector.shape == (4,) and t.vector.dtype == np.float32
    np.testing.assert_allclose(t.vector, _expected(crop, order, mean, std), atol=1e-4)


def test_alignment_puts_the_eyes_on_the_reference(model_path, engine, grace_rgb, grace_analysis):
    emb = OnnxEmbedder(OnnxEmbedderOptions(path=model_path, curve=COSINE))
    a = grace_analysis
    for landmarks, tolerance in ((a.landmarks, 4.0), (None, 8.0)):  # mesh, then detector keypoints
        crop = emb.align(grace_rgb, a.face, landmarks)
        assert crop.shape == (112, 112, 3)
        # find the irises again in the crop (upscaled so the detector sees a normal-sized face)
        big = np.ascontiguousarray(np.kron(crop, np.ones((3, 3, 1), np.uint8)))
        found = engine.analyse(big, embed=False).landmarks
        assert found is not None
        eyes = sorted(map(tuple, found.xy[[468, 473]] / 3.0))
        for (fx, fy), (rx, ry) in zip(eyes, ARCFACE_112[:2]):
            assert np.hypot(fx - rx, fy - ry) < tolerance


def test_flip_average_is_mean_of_both(model_path, grace_rgb, grace_analysis):
    emb = OnnxEmbedder(OnnxEmbedderOptions(path=model_path, curve=COSINE, flip_average=True))
    a = grace_analysis
    crop = emb.align(grace_rgb, a.face, a.landmarks)
    spec = ("RGB", (127.5,) * 3, (128.0,) * 3)
    want = (_expected(crop, *spec) + _expected(crop[:, ::-1], *spec)) / 2
    np.testing.assert_allclose(emb.embed(grace_rgb, a.face, a.landmarks).vector, want, atol=1e-4)


def test_engine_uses_the_onnx_embedder(model_path, grace_rgb, astronaut_rgb):
    eng = FaceEngine(EngineOptions(onnx_embedder=OnnxEmbedderOptions(
        path=model_path, curve=COSINE, model_id="tiny"))).load()
    try:
        a, b = eng.analyse(grace_rgb), eng.analyse(astronaut_rgb)
        assert eng.model_id == "tiny" and a.template.model == "tiny"
        assert eng.compare(a.template, a.template) == 100.0
        expected = COSINE.sim(COSINE.distance(a.template.vector, b.template.vector))
        assert eng.compare(a.template, b.template) == pytest.approx(expected)
    finally:
        eng.close()


def test_load_failures_are_engine_unavailable(tmp_path, model_path):
    with pytest.raises(EngineUnavailable):
        OnnxEmbedder(OnnxEmbedderOptions(path=str(tmp_path / "missing.onnx"), curve=COSINE))
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(b"not a protobuf")
    with pytest.raises(EngineUnavailable):
        OnnxEmbedder(OnnxEmbedderOptions(path=str(bad), curve=COSINE))
    with pytest.raises(EngineUnavailable):  # the model wants 64x64, the options say 112
        OnnxEmbedder(OnnxEmbedderOptions(path=_tiny_model(tmp_path / "s64.onnx", size=64), curve=COSINE))
    with pytest.raises(EngineUnavailable):  # an uncalibrated Euclidean curve is refused
        OnnxEmbedder(OnnxEmbedderOptions(path=model_path, curve=SimilarityCurve((0.0, 1.0), (100.0, 0.0))))
    with pytest.raises(EngineUnavailable):
        OnnxEmbedder(OnnxEmbedderOptions(path=model_path, curve=COSINE, colour_order="RGBA"))
