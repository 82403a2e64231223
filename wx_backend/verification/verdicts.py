"""One attempt's evaluation: liveness on the capture, then the best frame against the reference.

    capture -> liveness (mode's check) -> best frame -> template -> reference (merchant photo or
    authority registry) -> similarity -> Verdict

"Not live", "not the same person", "name does not match" are verdicts. faceengine's exceptions
("could not evaluate") become ServiceErrors here, at this one boundary: undecodable media is bad
input (the attempt is voided, nothing charged), a model that cannot run is LivessSystemError.
"""
from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path

import cv2
import numpy as np

from faceengine.errors import EngineUnavailable, FaceEngineError, MediaError
from faceengine.liveness import challenge as fc
from faceengine.liveness.capture import Audio, read_video, read_video_audio
from faceengine.liveness.types import Frame, LivenessResult

from ..errors import BadRequest, ServiceError
from ..registry import REGISTRY
from ..registry import photo_verify
from ..registry.store import today
from ..result_codes import UnknownResultCode, lookup
from .attempts import Verdict

log = logging.getLogger(__name__)

# faceengine liveness codes without a row of their own in the result-code table.
_LIVENESS_CODES = {"LipDigitFail": "LipVoiceRecognize", "ReflectionTooShort": "ReflectionFail"}
BEST_FRAME_JPEG_QUALITY = 90


class EngineIdentity:
    """``faceengine.liveness.FaceIdentity`` on the face engine's own embedder.

    The liveness track's same-person check (start, best and end frame of a capture) then runs the
    network the comparison runs (dlib's ResNet through onnxruntime by default, ~25 ms a face here,
    against ~190 ms for dlib's own runtime) and decides at the product's operating point
    (Sim >= 70, FAR 1/1,000), so a splice of two people fails the same test a comparison would.
    """

    def __init__(self, engine):
        self._engine = engine

    def descriptor(self, image_rgb: np.ndarray, box_xywh: tuple[float, float, float, float]):
        from faceengine.detect import FaceBox

        x, y, w, h = box_xywh
        box = FaceBox(float(x), float(y), float(w), float(h), 1.0, np.zeros((6, 2), np.float32))
        return self._engine.template(image_rgb, box)

    def same_person(self, a, b) -> bool:
        return self._engine.compare(a, b) >= self._engine.match_threshold


class LivenessKit:
    """Per-process liveness resources: a tracking face mesher and the identity check.

    A capture is one tracking sequence on the mesher, so captures are serialised by a lock; a
    gunicorn worker process runs one verification at a time anyway (sync workers).
    """

    def __init__(self, engine, pad_model_path: str = ""):
        from faceengine.detect import FaceMesher

        self.mesher = FaceMesher(max_faces=1, static=False, refine_landmarks=False)
        self.identity = EngineIdentity(engine)
        self.pad_model = None
        if pad_model_path:      # the operator's presentation-attack model for the silent mode
            from faceengine.liveness.pad_model import PadModel, PadModelOptions
            self.pad_model = PadModel(PadModelOptions(Path(pad_model_path)))
        self.lock = threading.Lock()


def liveness_code(code: str) -> str:
    try:
        return lookup(_LIVENESS_CODES.get(code, code)).tencent
    except UnknownResultCode:
        log.error("liveness returned a code outside the table: %s", code)
        return lookup("LivessUnknownError").tencent


# Mode -> (faceengine.liveness module, verify function, challenge class or None).
_CHECKS = {
    "light": ("light", "verify_light", fc.LightChallenge),
    "lip": ("lip", "verify_lip", fc.LipChallenge),
    "action": ("action", "verify_action", fc.ActionChallenge),
    "silent": ("silent", "verify_silent", None),
}


def _checker(mode: str):
    module_name, func_name, _ = _CHECKS[mode]
    try:
        return getattr(importlib.import_module(f"faceengine.liveness.{module_name}"), func_name)
    except (ImportError, AttributeError):
        # A mode whose check is not in this build cannot be evaluated: never a made-up verdict.
        raise EngineUnavailable(f"liveness mode {mode} is not available in this build") from None


def run_liveness(kit: LivenessKit, mode: str, payload: dict, frames: list[Frame],
                 audio: Audio | None) -> LivenessResult:
    """The mode's check on one capture (``payload``: the issued challenge's JSON)."""
    if mode not in _CHECKS:
        raise ValueError(f"unknown liveness mode {mode!r}")
    verify = _checker(mode)
    challenge_cls = _CHECKS[mode][2]
    args = [frames] if challenge_cls is None else [frames, challenge_cls.from_json(payload)]
    kwargs = {"mesher": kit.mesher, "identity": kit.identity}
    if mode == "lip":
        kwargs["audio"] = audio
    if mode == "silent":
        kwargs["pad_model"] = kit.pad_model
    with kit.lock:
        return verify(*args, **kwargs)


def _jpeg(image_rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, BEST_FRAME_JPEG_QUALITY])
    if not ok:
        raise FaceEngineError("cannot encode the best frame")
    return buf.tobytes()


def _reference(svc, session, engine):
    """The reference template, or raises photo_verify.Rejected with the verdict."""
    sealer = svc.sealer
    if session.ref_image_sealed is not None:
        return photo_verify.file_template(engine, sealer.open(session.ref_image_sealed),
                                          svc.settings.max_image_bytes)
    registry = svc.extras[REGISTRY]
    return photo_verify.identity_reference(engine, registry, sealer.open_text(session.id_card_sealed),
                                           sealer.open_text(session.name_sealed), today(svc.clock))


def evaluate(svc, session, payload: dict, frames: list[Frame], audio: Audio | None) -> Verdict:
    try:
        engine = svc.engine.get()
        kit = svc.liveness_kit.get()
        live = run_liveness(kit, session.liveness_mode, payload, frames, audio)
        live_code = liveness_code(live.code)
        if not live.passed:
            return Verdict(code=live_code, live_code=live_code, liveness_score=live.score)
        if not live.best_frames:
            code = lookup("LivessBestFrameError").tencent
            return Verdict(code=code, live_code=code, liveness_score=live.score)
        best = frames[live.best_frames[0].index].image_rgb
        analysis = engine.analyse(best)
        if analysis.template is None:
            code = lookup("LivessBestFrameError").tencent
            return Verdict(code=code, live_code=code, liveness_score=live.score)
        best_jpeg = _jpeg(best)
        try:
            reference = _reference(svc, session, engine)
        except photo_verify.Rejected as verdict:
            if verdict.result.http_status >= 500:
                raise ServiceError(verdict.result) from None
            return Verdict(code=verdict.result.tencent, live_code=live_code,
                           compare_code=verdict.result.tencent, liveness_score=live.score,
                           best_frame_jpeg=best_jpeg)
        compared = photo_verify.compare(engine, analysis.template, reference)
    except MediaError as exc:
        log.info("capture could not be used: %s", exc.code)
        raise BadRequest("ImageDecodeFailed") from None
    # MediaPipe reports a failed graph run as RuntimeError; it enters our code here.
    except (EngineUnavailable, FaceEngineError, RuntimeError) as exc:
        log.error("liveness/compare could not evaluate: %s", type(exc).__name__)
        raise ServiceError("LivessSystemError") from None
    if compared.result.http_status >= 500:
        raise ServiceError(compared.result)
    return Verdict(code=compared.result.tencent, live_code=live_code,
                   compare_code=compared.result.tencent, sim=compared.sim,
                   liveness_score=live.score, best_frame_jpeg=best_jpeg)


def evaluate_frames(svc, session, payload: dict, frames: list[Frame], audio: Audio | None) -> Verdict:
    return evaluate(svc, session, payload, frames, audio)


def evaluate_video(svc, session, payload: dict, path: Path) -> Verdict:
    try:
        frames = read_video(path)
        audio = read_video_audio(path) if session.liveness_mode == "lip" else None
    except MediaError as exc:
        log.info("video could not be decoded: %s", exc.code)
        raise BadRequest("LipVideoInvalid") from None
    return evaluate(svc, session, payload, frames, audio)
