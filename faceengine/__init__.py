"""Pure computer-vision core: decode, detect, landmarks, quality, embed, compare, liveness.

Images are RGB uint8 (H, W, 3) unless a name says otherwise; coordinates are pixels (x, y);
time is ``timestamp_ms`` supplied by the caller. This package never imports flask, peewee,
wechatpy or wx_backend, and loads no model at import time.

This module is the public API; the service imports nothing else from the package:

- load and analyse: ``load_engine(EngineOptions(embedder=...)) -> FaceEngine`` (``EMBEDDERS``:
  mobilefacenet, dlib, fused, onnx); ``engine.analyse(rgb, reference=False) -> FaceAnalysis``
  (faces, quality by the selfie or reference rules, ``template``); ``engine.template(rgb, face,
  landmarks, model=...)``; ``engine.compare(a, b)`` -> Sim in [0, 100], same person when
  ``>= MATCH_THRESHOLD``; ``FaceTemplate`` (bytes round trip for storage);
- intake: ``decode_image`` / ``decode_base64_image`` (photos), ``decode_jpeg_frame`` (camera
  frames), ``encode_jpeg``, ``check_image`` / ``probe_image`` (documents, headers), ``video_container`` (sniffing),
  ``probe_video``, ``read_video`` / ``read_video_audio`` / ``read_wav`` (from a path, bytes or a
  stream; ``VideoLimits`` bounds an untrusted recording while it is decoded);
- liveness by mode: ``LivenessKit(engine, pad_model_path)`` once per process,
  ``verify_liveness(kit, mode, challenge_json, frames, audio) -> LivenessResult``,
  ``new_challenge(mode)``; ``EngineIdentity`` (the same-person check on the engine's embedder, at
  the embedder's calibrated ``identity_min_sim``);
- errors: ``FaceEngineError`` > ``EngineUnavailable`` | ``MediaError`` (``code`` names the reason).
"""
from .embed import FaceTemplate
from .engine import EMBEDDERS, EngineOptions, FaceAnalysis, FaceEngine
from .errors import EngineUnavailable, FaceEngineError, MediaError
from .intake import (ImageInfo, IntakeLimits, check_image, decode_base64_image, decode_image,
                     decode_jpeg_frame, encode_jpeg, probe_image, video_container)
from .liveness.capture import Audio, VideoLimits, probe_video, read_video, read_video_audio, read_wav
from .liveness.kit import MODES as LIVENESS_MODES
from .liveness.identity import EngineIdentity
from .liveness.kit import LivenessKit, new_challenge, verify_liveness
from .liveness.lip import LipOptions
from .liveness.types import Frame, LivenessResult
from .onnx_embed import OnnxEmbedderOptions
from .similarity import MATCH_THRESHOLD, SimilarityCurve


def load_engine(options: EngineOptions | None = None) -> FaceEngine:
    """A FaceEngine with every model loaded (once per worker process, after the fork).
    Raises EngineUnavailable when a model cannot load."""
    return FaceEngine(options).load()


__all__ = [
    "EMBEDDERS", "Audio", "EngineIdentity", "EngineOptions", "EngineUnavailable", "FaceAnalysis", "FaceEngine",
    "FaceEngineError", "FaceTemplate", "Frame", "ImageInfo", "IntakeLimits", "LIVENESS_MODES",
    "LipOptions", "LivenessKit", "LivenessResult", "MATCH_THRESHOLD", "MediaError", "OnnxEmbedderOptions",
    "SimilarityCurve", "VideoLimits", "check_image", "decode_base64_image", "decode_image", "decode_jpeg_frame", "encode_jpeg",
    "load_engine", "new_challenge", "probe_image", "probe_video", "read_video", "read_video_audio", "read_wav",
    "verify_liveness", "video_container",
]
