"""MobileFaceNet, the default embedder: the ONNX file shipped in ``faceengine/models/``.

Where it comes from, its licence and the caveat on its training data (MS1M):
``faceengine/models/MobileFaceNet.PROVENANCE.md``. Preprocessing follows its repository's
evaluation code: the face aligned by 5 points onto the 112 x 112 ArcFace template, RGB, ImageNet
mean/std on 0-1 pixels, and the embedding averaged with the mirrored crop's. The file's sha256
is checked at load, because the calibrated curve (``MOBILEFACENET_CURVE``) belongs to these
weights and no others.
"""
from __future__ import annotations

from pathlib import Path

from .embed import FaceTemplate
from .onnx_embed import ARCFACE_112, OnnxEmbedderOptions
from .similarity import MOBILEFACENET_CURVE

MODEL_PATH = Path(__file__).resolve().parent / "models" / "MobileFaceNet.onnx"
MODEL_SHA256 = "b7120c095d60094f28a4a54ba6a8bf51b297a6273fb40ef6350dfec1f63d9507"
MODEL_ID = "mobilefacenet_foamliu_v1"
ONE_PASS_MODEL_ID = "mobilefacenet_foamliu_v1_one_pass"

# ImageNet statistics (0-1 units) in 0-255 pixel units, RGB.
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)


def mobilefacenet_options(threads: int = 1, path: Path = MODEL_PATH) -> OnnxEmbedderOptions:
    """Options of the shipped MobileFaceNet with its calibrated curve."""
    return OnnxEmbedderOptions(path=str(path), curve=MOBILEFACENET_CURVE, model_id=MODEL_ID,
                               input_size=112, colour_order="RGB", mean=IMAGENET_MEAN,
                               std=IMAGENET_STD, reference_points=ARCFACE_112, flip_average=True,
                               threads=threads, sha256=MODEL_SHA256)


class OnePass:
    """MobileFaceNet's descriptor of the aligned crop alone, without the mirrored crop's: half the
    cost of a template, under its own model id and calibrated curve (``MOBILEFACENET_ONE_PASS_CURVE``).
    The liveness identity check describes the frames of a capture with it; comparisons with a
    reference keep the full template. Shares the loaded embedder's onnxruntime session."""

    model_id = ONE_PASS_MODEL_ID
    needs_landmarks = True

    def __init__(self, embedder):
        self._embedder = embedder

    def embed(self, image_rgb, box, landmarks=None) -> FaceTemplate:
        vector = self._embedder.embed(image_rgb, box, landmarks, flip_average=False).vector
        return FaceTemplate(vector, self.model_id)
