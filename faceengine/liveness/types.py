"""Values in and out of the liveness checks: frames, result codes, results.

Images are RGB uint8 (H, W, 3). ``timestamp_ms`` is the time since the challenge started
(the client starts showing colours / the prompt at 0), supplied by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One captured video frame: RGB uint8 (H, W, 3) and its capture time in ms."""

    image_rgb: np.ndarray
    timestamp_ms: float


class Code:
    """Result codes, spelled as Tencent's 人脸核身 spells them where it has one."""

    SUCCESS = "Success"
    BEST_FRAME_ERROR = "LivessBestFrameError"  # no usable face in (enough of) the capture
    DETECT_FAIL = "LivessDetectFail"           # the face left the picture during the capture
    DETECT_FAKE = "LivessDetectFake"           # not one live face: splice, wrong reflection, PAD model
    LIP_MOVE_SMALL = "LipMoveSmall"            # not enough syllable-like mouth openings
    LIP_VOICE_FAIL = "LipVoiceFail"            # no speech, or speech that does not follow the lips
    LIP_DIGIT_FAIL = "LipDigitFail"            # the optional recogniser heard other digits
    ACTION_OPEN_MOUTH = "ActionOpenMouth"      # the open-mouth action is missing
    ACTION_CLOSE_EYE = "ActionCloseEye"        # the blink is missing
    ACTION_ORDER = "ActionOrderError"          # both actions seen, not in the issued order
    SILENT_TOO_SHORT = "SilentTooShort"
    SILENT_DETECT_FAIL = "SilentDetectFail"    # passive cues say presentation attack
    LIGHT_TOO_SHORT = "ReflectionTooShort"     # the capture does not cover the colour sequence

    ALL = (SUCCESS, BEST_FRAME_ERROR, DETECT_FAIL, DETECT_FAKE, LIP_MOVE_SMALL, LIP_VOICE_FAIL,
           LIP_DIGIT_FAIL, ACTION_OPEN_MOUTH, ACTION_CLOSE_EYE, ACTION_ORDER, SILENT_TOO_SHORT,
           SILENT_DETECT_FAIL, LIGHT_TOO_SHORT)


@dataclass(frozen=True)
class BestFrame:
    """A frame worth keeping as the capture's photo: its index in the input, time and quality 0..1."""

    index: int
    timestamp_ms: float
    quality: float


@dataclass(frozen=True)
class LivenessResult:
    """Verdict of one liveness check.

    ``score`` is the mode's evidence in 0..1 (higher = more live); ``best_frames`` are ranked by
    quality, best first (empty when no face was found). ``detail`` is for logs only: never show it
    to the end user, it would help an attacker tune a replay.
    """

    passed: bool
    code: str
    score: float
    best_frames: tuple[BestFrame, ...] = ()
    detail: str = ""
    metrics: dict = field(default_factory=dict, compare=False)

    @property
    def best_frame_ms(self) -> float | None:
        return self.best_frames[0].timestamp_ms if self.best_frames else None
