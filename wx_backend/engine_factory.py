"""Build this process's face engine from the settings (called once per worker, after the fork).

``FACE_EMBEDDER`` picks the embedder, each with its own calibrated Sim curve (docs/calibration.md):

- ``mobilefacenet`` (default): MobileFaceNet, shipped in ``faceengine/models/`` with its licence
  and provenance (trained on MS1M: see the caveat there);
- ``dlib``: dlib's ResNet (``face_recognition_models``), the earlier default;
- ``fused``: both, score-level fusion (costs both);
- ``onnx``: the operator's own model, below.

An operator's ONNX embedder:

``ONNX_EMBEDDER_PATH``  the model file;
``ONNX_EMBEDDER_SPEC``  JSON describing its input and its calibration, for example::

    {"input_size": 112, "colour_order": "RGB", "mean": [127.5, 127.5, 127.5],
     "std": [128, 128, 128], "flip_average": false,
     "knots": [[0.20, 100], [0.55, 80], [0.62, 70], [1.0, 0]]}

``knots`` (cosine distance -> Sim) must come from ``bench/calibrate_similarity.py --onnx`` on real
pairs, so that Sim 70 keeps meaning a false-accept rate of about 1/1,000. Without knots the model is
refused: an uncalibrated Sim would silently change what every merchant's threshold means.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from faceengine import EngineOptions, FaceEngine, OnnxEmbedderOptions, SimilarityCurve, load_engine

from .settings import ConfigError, Settings

SPEC_KEYS = {"input_size", "colour_order", "mean", "std", "flip_average", "knots", "model_id"}


def engine_options(settings: Settings) -> EngineOptions:
    """The engine options the settings describe; ConfigError names what is wrong."""
    if settings.face_embedder != "onnx" and not settings.onnx_embedder_path:
        return EngineOptions(embedder=settings.face_embedder)
    if not settings.onnx_embedder_path:
        raise ConfigError("FACE_EMBEDDER=onnx needs ONNX_EMBEDDER_PATH")
    return EngineOptions(embedder="onnx", onnx_embedder=_onnx_options(settings.onnx_embedder_path,
                                                                      settings.onnx_embedder_spec))


def engine_loader(settings: Settings) -> Callable[[], FaceEngine]:
    """Checks the configuration now (ConfigError stops start-up) and returns what loads the models
    later, once per worker process; loading raises EngineUnavailable for a missing or broken model."""
    options = engine_options(settings)
    return lambda: load_engine(options)


def _onnx_options(path: str, raw_spec: str) -> OnnxEmbedderOptions:
    spec = _parse_spec(raw_spec)
    knots = spec.get("knots")
    if not knots:
        raise ConfigError("ONNX_EMBEDDER_SPEC needs calibrated \"knots\" [[cosine_distance, sim], ...] "
                          "(bench/calibrate_similarity.py --onnx prints them)")
    try:
        curve = SimilarityCurve(tuple(float(d) for d, _ in knots), tuple(float(s) for _, s in knots),
                                metric="cosine")
        kwargs: dict[str, Any] = {"path": path, "curve": curve,
                                  "model_id": str(spec.get("model_id", "onnx"))}
        if "input_size" in spec:
            kwargs["input_size"] = int(spec["input_size"])
        if "colour_order" in spec:
            kwargs["colour_order"] = str(spec["colour_order"])
        for key in ("mean", "std"):
            if key in spec:
                values = tuple(float(v) for v in spec[key])
                if len(values) != 3:
                    raise ValueError(f"{key} needs 3 values")
                kwargs[key] = values
        if "flip_average" in spec:
            kwargs["flip_average"] = bool(spec["flip_average"])
        return OnnxEmbedderOptions(**kwargs)
    except ConfigError:
        raise
    except Exception as exc:  # malformed numbers, bad knots: say so at start-up
        raise ConfigError(f"ONNX_EMBEDDER_SPEC: {exc}") from None


def _parse_spec(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        spec = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"ONNX_EMBEDDER_SPEC is not JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise ConfigError("ONNX_EMBEDDER_SPEC must be a JSON object")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ConfigError(f"ONNX_EMBEDDER_SPEC: unknown keys {sorted(unknown)}; known: {sorted(SPEC_KEYS)}")
    return spec
