"""One attempt's evaluation: liveness on the capture, then the best frame against the reference.

    capture -> liveness (mode's check) -> best frame -> template -> reference (merchant photo or
    authority registry) -> similarity -> Verdict

"Not live", "not the same person", "name does not match" are verdicts. faceengine's exceptions
("could not evaluate") become ServiceErrors here, at this one boundary: undecodable media is bad
input (the attempt is voided, nothing charged), a model that cannot run is LivessSystemError.
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from faceengine.errors import EngineUnavailable, FaceEngineError, MediaError
from faceengine.liveness.capture import Audio
from faceengine.liveness.types import Frame

from ..errors import BadRequest, ServiceError
from ..liveness import read_capture, result_for, run_liveness
from ..registry import REGISTRY
from ..registry import photo_verify
from ..registry.store import today
from ..result_codes import lookup
from .attempts import MAX_BEST_FRAMES, Verdict

log = logging.getLogger(__name__)

BEST_FRAME_JPEG_QUALITY = 90


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
        live_code = result_for(live.code).tencent
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
        more_jpegs = tuple(_jpeg(frames[b.index].image_rgb) for b in live.best_frames[1:MAX_BEST_FRAMES])
        try:
            reference = _reference(svc, session, engine)
        except photo_verify.Rejected as verdict:
            if verdict.result.is_system:
                raise ServiceError(verdict.result) from None
            return Verdict(code=verdict.result.tencent, live_code=live_code,
                           compare_code=verdict.result.tencent, liveness_score=live.score,
                           best_frame_jpeg=best_jpeg, more_frames_jpeg=more_jpegs)
        compared = photo_verify.compare(engine, photo_verify.Probe(best, analysis), reference)
    except MediaError as exc:
        log.info("capture could not be used: %s", exc.code)
        raise BadRequest("ImageDecodeFailed") from None
    # MediaPipe reports a failed graph run as RuntimeError; it enters our code here.
    except (EngineUnavailable, FaceEngineError, RuntimeError) as exc:
        log.error("liveness/compare could not evaluate: %s", type(exc).__name__)
        raise ServiceError("LivessSystemError") from None
    if compared.result.is_system:
        raise ServiceError(compared.result)
    return Verdict(code=compared.result.tencent, live_code=live_code,
                   compare_code=compared.result.tencent, sim=compared.sim,
                   liveness_score=live.score, best_frame_jpeg=best_jpeg, more_frames_jpeg=more_jpegs)


def evaluate_frames(svc, session, payload: dict, frames: list[Frame], audio: Audio | None) -> Verdict:
    return evaluate(svc, session, payload, frames, audio)


def evaluate_video(svc, session, payload: dict, path: Path) -> Verdict:
    try:
        frames, audio = read_capture(path, session.liveness_mode)
    except MediaError as exc:
        log.info("video could not be decoded: %s", exc.code)
        raise BadRequest("LipVideoInvalid") from None
    return evaluate(svc, session, payload, frames, audio)
