"""The service's one door to faceengine.liveness for recorded videos (LivenessRecognition, LivenessCompare).

``VideoLiveness.check(mode, video_path, challenge)`` decodes the video (PyAV, via faceengine.liveness.capture),
runs the mode's check and returns ``(LivenessResult, frames)``. faceengine exceptions are NOT translated
here: the caller's boundary (liveness_actions) does that. The MediaPipe mesh graph, the identity
descriptor and the optional PAD model are created once per process and used under a lock (graphs are
not thread-safe); a mode whose checker is not present in this
build raises EngineUnavailable (-> LivessSystemError), never a fake verdict.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import threading
from pathlib import Path

from faceengine.errors import EngineUnavailable

log = logging.getLogger(__name__)

# Cloud LivenessType -> (faceengine.liveness module, verify function, challenge JSON key)
MODES = {
    "LIP": ("lip", "verify_lip", "code"),
    "ACTION": ("action", "verify_action", "sequence"),
    "SILENT": ("silent", "verify_silent", None),
}
MAX_FPS = 15.0
MAX_FRAMES = 600


class VideoLiveness:
    """``pad_model_path``: the operator's optional presentation-attack ONNX (settings.onnx_pad_model_path)."""

    def __init__(self, pad_model_path: str = ""):
        self._lock = threading.Lock()
        self._pad_model_path = pad_model_path
        self._loaded = False

    def warm(self) -> None:
        """Load the per-process models now (gunicorn post_worker_init), not on the first video."""
        with self._lock:
            self._load()

    def _load(self) -> None:
        """Per-process models, on first use (after gunicorn's fork): mesh graph, identity, PAD model."""
        if self._loaded:
            return
        from faceengine.detect import FaceMesher
        from faceengine.liveness.identity import DlibIdentity
        # Tracking mode over one capture, one face, no iris refinement: the liveness API's documented setup.
        self._mesher = FaceMesher(max_faces=1, static=False, refine_landmarks=False)
        self._identity = DlibIdentity()
        self._pad_model = None
        if self._pad_model_path:
            from faceengine.liveness.pad_model import PadModel, PadModelOptions
            self._pad_model = PadModel(PadModelOptions(path=Path(self._pad_model_path)))
        self._loaded = True

    @staticmethod
    def _checker(mode: str):
        module_name, func_name, _ = MODES[mode]
        try:
            module = importlib.import_module(f"faceengine.liveness.{module_name}")
            return getattr(module, func_name)
        except (ImportError, AttributeError):
            raise EngineUnavailable(f"liveness mode {mode} is not available in this build") from None

    @staticmethod
    def _challenge(mode: str, value: str):
        from faceengine.liveness.challenge import ActionChallenge, LipChallenge
        if mode == "LIP":
            return LipChallenge.from_json({"code": value})
        if mode == "ACTION":
            return ActionChallenge.from_json({"sequence": value})
        return None

    def check(self, mode: str, video_path: Path, challenge: str):
        from faceengine.liveness.capture import read_video, read_video_audio

        verify = self._checker(mode)
        frames = read_video(video_path, max_fps=MAX_FPS, max_frames=MAX_FRAMES)
        kwargs = {}
        accepted = inspect.signature(verify).parameters
        if "audio" in accepted and mode == "LIP":
            kwargs["audio"] = read_video_audio(video_path)
        args = [frames]
        spec = self._challenge(mode, challenge)
        if spec is not None:
            args.append(spec)
        with self._lock:
            self._load()
            self._mesher.reset()          # tracking state must not leak from the previous capture
            kwargs["mesher"] = self._mesher
            if "identity" in accepted:
                kwargs["identity"] = self._identity
            if "pad_model" in accepted and self._pad_model is not None:
                kwargs["pad_model"] = self._pad_model
            result = verify(*args, **kwargs)
        return result, frames
