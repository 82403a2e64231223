"""Verify: one capture's verdict, the same for the Cloud API and the sessions.

    verify_capture(engine, kit, mode, challenge, capture, reference) -> Verdict

    liveness (the mode's check on the capture) -> best frame -> its template -> the reference
    (the authority registry's ID photo or the merchant's photo) -> similarity

"Not live", "not the same person", "name does not match" are verdicts. An engine that cannot
evaluate is a Rejected with a system code (``engine_errors``); the reference's own refusals
(``Rejected``) are the verdict, with the best frame kept. Front doors render a Verdict by its
result's kind: the Cloud API puts every code in ``Result``; a session records a verdict and voids
the attempt for anything else.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from faceengine import FaceTemplate, LipOptions, encode_jpeg, verify_liveness

from ..errors import Rejected
from ..registry import photo_verify
from ..result_codes import ResultCode, lookup
from .engine_errors import ENGINE_ERRORS, Stage, liveness_result, rejected
from .intake import Capture

log = logging.getLogger(__name__)

BEST_FRAME_JPEG_QUALITY = 90
# The voice is the digit mode's evidence against lips moved by something else: a capture without
# it would skip that check, so it fails (the pages always send it).
LIP_OPTIONS = LipOptions(require_audio=True)

# The reference's template, or raises Rejected with the verdict (IdNoExistSystem, ImageBlur, ...).
Reference = Callable[[], FaceTemplate]


@dataclass(frozen=True)
class Verdict:
    """What one capture (or a check before it) found."""

    result: ResultCode                    # the overall outcome
    live: ResultCode | None = None        # the liveness check's own outcome (None: it did not run)
    compare: ResultCode | None = None     # the comparison's outcome (None: not compared)
    sim: float | None = None              # [0, 100] when compared
    liveness_score: float | None = None
    best_frames_jpeg: tuple[bytes, ...] = ()   # best first; set once liveness passed

    @property
    def success(self) -> bool:
        return self.result.is_success

    @property
    def best_frame_jpeg(self) -> bytes | None:
        return self.best_frames_jpeg[0] if self.best_frames_jpeg else None


def verify_capture(engine, kit, mode: str, challenge: dict, capture: Capture, reference: Reference,
                   *, best_frames: int = 1) -> Verdict:
    """``engine``/``kit``: this process's loaded FaceEngine and LivenessKit; ``challenge``: the issued
    challenge's JSON ({} for silent); ``best_frames``: how many best frames to return as JPEG.
    Raises Rejected (a system code) when the engine cannot evaluate."""
    frames = capture.frames
    try:
        live = verify_liveness(kit, mode, challenge, frames, capture.audio, lip_options=LIP_OPTIONS)
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.LIVENESS) from None
    live_code = liveness_result(live.code)
    if not live.passed:
        return Verdict(live_code, live=live_code, liveness_score=live.score)
    best = [frames[b.index].image_rgb for b in live.best_frames if 0 <= b.index < len(frames)]
    no_face = lookup("LivessBestFrameError")
    if not best:
        return Verdict(no_face, live=no_face, liveness_score=live.score)
    try:
        analysis = engine.analyse(best[0])
        jpegs = tuple(encode_jpeg(img, BEST_FRAME_JPEG_QUALITY) for img in best[:max(1, best_frames)])
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.LIVENESS) from None
    if analysis.template is None:
        return Verdict(no_face, live=no_face, liveness_score=live.score, best_frames_jpeg=jpegs)
    try:
        template = reference()
    except Rejected as refused:
        return Verdict(refused.result, live=live_code, compare=refused.result, liveness_score=live.score,
                       best_frames_jpeg=jpegs)
    # A Probe: the best frame can be embedded again for a registry template of another embedder.
    compared = photo_verify.compare(engine, photo_verify.Probe(best[0], analysis), template)
    return Verdict(compared.result, live=live_code, compare=compared.result, sim=compared.sim,
                   liveness_score=live.score, best_frames_jpeg=jpegs)
