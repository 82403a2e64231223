"""The service's one door to faceengine.liveness, shared by verification sessions (frames and H5
videos) and the Cloud API's LivenessRecognition / LivenessCompare.

``LivenessKit`` holds this process's liveness resources (a tracking face mesher, the identity check on
the face engine's embedder, the operator's optional PAD model); ``kit_holder(svc)`` is the one per
process, loaded on first use or by gunicorn's post_worker_init. ``run_liveness`` runs a mode's check on
one capture; ``result_for`` turns faceengine's code into a row of the result-code table.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from faceengine.liveness import challenge as fc
from faceengine.liveness.action import verify_action
from faceengine.liveness.capture import Audio, read_video, read_video_audio
from faceengine.liveness.light import verify_light
from faceengine.liveness.lip import LipOptions, verify_lip
from faceengine.liveness.silent import verify_silent
from faceengine.liveness.types import Frame, LivenessResult

from .engine_holder import EngineHolder
from .result_codes import ResultCode, UnknownResultCode, lookup

log = logging.getLogger(__name__)

KIT_KEY = "liveness_kit"
MODES = ("light", "lip", "action", "silent")
# The checks are designed for ~15 fps; a longer or denser video only costs time.
VIDEO_MAX_FPS = 15.0
VIDEO_MAX_FRAMES = 600
# The voice is the digit mode's evidence against lips moved by something else: a capture without
# it would skip that check, so it fails (the pages always send it).
LIP_OPTIONS = LipOptions(require_audio=True)
# faceengine liveness codes without a row of their own in the result-code table.
_CODE_ALIASES = {"LipDigitFail": "LipVoiceRecognize", "ReflectionTooShort": "ReflectionFail"}


class EngineIdentity:
    """``faceengine.liveness.FaceIdentity`` on the face engine's own embedder.

    The liveness track's same-person check (start, best and end frame of a capture) then runs the
    network the comparison runs (FACE_EMBEDDER: MobileFaceNet by default, aligned by the track's own
    mesh; bench/face_verification.py prints the cost per capture) and decides at the product's operating point (Sim >= 70, FAR 1/1,000), so a splice of two people
    fails the same test a comparison would.
    """

    def __init__(self, engine):
        self._engine = engine

    def descriptor(self, image_rgb: np.ndarray, box_xywh: tuple[float, float, float, float],
                   landmarks: np.ndarray | None = None):
        from faceengine.detect import FaceBox, FaceLandmarks

        x, y, w, h = box_xywh
        box = FaceBox(float(x), float(y), float(w), float(h), 1.0, np.zeros((6, 2), np.float32))
        mesh = FaceLandmarks(np.asarray(landmarks, np.float32)) if landmarks is not None else None
        return self._engine.template(image_rgb, box, mesh)

    def same_person(self, a, b) -> bool:
        return self._engine.compare(a, b) >= self._engine.match_threshold


class LivenessKit:
    """Per-process liveness resources. A capture is one tracking sequence on a mesher, so captures
    are serialised by a lock (a sync gunicorn worker runs one verification at a time anyway).

    Each mode gets the mesher faceengine configures for it: lip and action read eyelids and inner
    lips, which only the refined mesh places well (with the plain mesh a genuine blink is missed);
    light and silent take the cheaper plain mesh.
    """

    def __init__(self, engine, pad_model_path: str = ""):
        from faceengine.liveness.meshers import REFINED_MODES, tracking_mesher

        by_refinement: dict[bool, object] = {}   # one mesher per configuration, shared by its modes
        self.meshers = {}
        for mode in MODES:
            refined = mode in REFINED_MODES
            if refined not in by_refinement:
                by_refinement[refined] = tracking_mesher(mode)
            self.meshers[mode] = by_refinement[refined]
        self.identity = EngineIdentity(engine)
        self.pad_model = None
        if pad_model_path:      # the operator's presentation-attack model for the silent mode
            from faceengine.liveness.pad_model import PadModel, PadModelOptions
            self.pad_model = PadModel(PadModelOptions(Path(pad_model_path)))
        self.lock = threading.Lock()


def read_capture(path: Path, mode: str) -> tuple[list[Frame], Audio | None]:
    """A recorded video's frames (thinned to VIDEO_MAX_FPS, at most VIDEO_MAX_FRAMES) and, for the
    digit mode, its audio track. Raises MediaError when it cannot be decoded."""
    frames = read_video(path, max_fps=VIDEO_MAX_FPS, max_frames=VIDEO_MAX_FRAMES)
    return frames, (read_video_audio(path) if mode == "lip" else None)


def kit_holder(svc) -> EngineHolder:
    """This process's LivenessKit (built on first use, after gunicorn's fork)."""
    return svc.extras.setdefault(KIT_KEY, EngineHolder(
        lambda: LivenessKit(svc.engine.get(), svc.settings.onnx_pad_model_path)))


def run_liveness(kit: LivenessKit, mode: str, payload: dict, frames: list[Frame],
                 audio: Audio | None = None) -> LivenessResult:
    """The mode's check on one capture. ``payload``: the issued challenge's JSON ({} for silent)."""
    if mode not in MODES:
        raise ValueError(f"unknown liveness mode {mode!r}")
    mesher = kit.meshers[mode]
    with kit.lock:
        if mode == "light":
            return verify_light(frames, fc.LightChallenge.from_json(payload), mesher=mesher,
                                identity=kit.identity)
        if mode == "lip":
            return verify_lip(frames, fc.LipChallenge.from_json(payload), mesher=mesher,
                              audio=audio, identity=kit.identity, options=LIP_OPTIONS)
        if mode == "action":
            return verify_action(frames, fc.ActionChallenge.from_json(payload), mesher=mesher,
                                 identity=kit.identity)
        return verify_silent(frames, mesher=mesher, pad_model=kit.pad_model, identity=kit.identity)


def result_for(code: str) -> ResultCode:
    """The result-code row of a faceengine liveness code; an unknown one is LivessUnknownError."""
    try:
        return lookup(_CODE_ALIASES.get(code, code))
    except UnknownResultCode:
        log.error("liveness returned a code outside the table: %s", code)
        return lookup("LivessUnknownError")
