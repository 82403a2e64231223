"""The one place faceengine's exceptions and liveness codes become result codes.

    MediaError         what could not be read decides: a video -> LipVideoInvalid (LipSizeError when its
                       frame size or declared length is past the limits); a WAV ->
                       InvalidParameterValue; an image or frame -> ImageSizeTooLarge (too many bytes
                       or pixels) or ImageDecodeFailed
    EngineUnavailable  a model is missing or did not load -> LivessSystemError (capture work) or
    other failures     CompareSystemError (photos, templates, similarity); MediaPipe reports a failed
                       graph run as RuntimeError, which enters our code here too

Every step calls ``rejected(exc, stage)`` (or ``loaded(holder, stage)`` for the per-process models)
and raises what it returns; nothing else in the service looks at an engine exception.
"""
from __future__ import annotations

import enum
import logging

from faceengine import EngineUnavailable, FaceEngineError, MediaError

from ..errors import Rejected
from ..result_codes import ResultCode, UnknownResultCode, lookup

log = logging.getLogger(__name__)


class Stage(enum.Enum):
    PHOTO = "photo"          # a photo: a reference, a probe, an enrolment
    FRAMES = "frames"        # camera frames of a live capture
    VIDEO = "video"          # a recorded video
    AUDIO = "audio"          # a WAV upload
    LIVENESS = "liveness"    # the liveness check and the best frame's analysis
    COMPARE = "compare"      # stored templates and their similarity


_TOO_LARGE = {"ImageSizeTooLarge", "ImageDecompressionBomb"}
_VIDEO_TOO_LARGE = {"VideoTooLarge", "VideoTooLong"}
_CAPTURE_STAGES = {Stage.FRAMES, Stage.VIDEO, Stage.AUDIO, Stage.LIVENESS}
# faceengine liveness codes without a row of their own in the result-code table.
_LIVENESS_ALIASES = {"LipDigitFail": "LipVoiceRecognize", "ReflectionTooShort": "ReflectionFail"}


def _system(stage: Stage) -> str:
    return "FailedOperation.LivessSystemError" if stage in _CAPTURE_STAGES \
        else "FailedOperation.CompareSystemError"


def rejected(exc: BaseException, stage: Stage) -> Rejected:
    """The outcome of an engine exception raised while doing ``stage``."""
    if isinstance(exc, MediaError):
        log.info("%s could not be used: %s", stage.value, exc.code)
        if stage is Stage.VIDEO:
            if exc.code in _VIDEO_TOO_LARGE:
                return Rejected("FailedOperation.LipSizeError")
            return Rejected("FailedOperation.LipVideoInvalid")
        if stage is Stage.AUDIO:
            return Rejected("InvalidParameterValue", "音频须为 16 位 PCM WAV")
        if exc.code in _TOO_LARGE:
            return Rejected("FailedOperation.ImageSizeTooLarge")
        return Rejected("FailedOperation.ImageDecodeFailed")
    if isinstance(exc, EngineUnavailable):
        log.error("face engine unavailable (%s): %s", stage.value, exc)
    else:
        log.error("face engine could not evaluate (%s): %s", stage.value, type(exc).__name__)
    return Rejected(_system(stage))


# What the engine raises when it cannot evaluate: its own errors, and MediaPipe's RuntimeError.
ENGINE_ERRORS = (FaceEngineError, RuntimeError)


def loaded(holder, stage: Stage):
    """This process's engine (or liveness kit) from its holder; Rejected(system code) when it cannot
    load. The holder has logged why; any loader failure is the same outcome."""
    try:
        return holder.get()
    except Exception:  # noqa: BLE001 -- a loader can fail in any way; the holder logged it
        raise Rejected(_system(stage)) from None


def liveness_result(code: str) -> ResultCode:
    """The result-code row of a faceengine liveness code; an unknown one is LivessUnknownError."""
    try:
        return lookup(_LIVENESS_ALIASES.get(code, code))
    except UnknownResultCode:
        log.error("liveness returned a code outside the table: %s", code)
        return lookup("LivessUnknownError")
