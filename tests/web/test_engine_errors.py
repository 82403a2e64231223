"""The one map from faceengine's exceptions and liveness codes to result codes."""
from __future__ import annotations

import pytest

from faceengine import EngineUnavailable, FaceEngineError, MediaError
from wx_backend.pipeline.engine_errors import Stage, liveness_result, loaded, rejected
from wx_backend.errors import Rejected


@pytest.mark.parametrize("exc, stage, code", [
    (MediaError("x", "ImageSizeTooLarge"), Stage.PHOTO, "FailedOperation.ImageSizeTooLarge"),
    (MediaError("x", "ImageDecompressionBomb"), Stage.PHOTO, "FailedOperation.ImageSizeTooLarge"),
    (MediaError("x", "ImageTruncated"), Stage.PHOTO, "FailedOperation.ImageDecodeFailed"),
    (MediaError("x", "Base64Invalid"), Stage.PHOTO, "FailedOperation.ImageDecodeFailed"),
    (MediaError("x", "ImageDecompressionBomb"), Stage.FRAMES, "FailedOperation.ImageSizeTooLarge"),
    (MediaError("x", "ImageDecodeFailed"), Stage.FRAMES, "FailedOperation.ImageDecodeFailed"),
    (MediaError("x", "CaptureDecodeFailed"), Stage.VIDEO, "FailedOperation.LipVideoInvalid"),
    (MediaError("x", "AudioDecodeFailed"), Stage.VIDEO, "FailedOperation.LipVideoInvalid"),
    (MediaError("x", "AudioDecodeFailed"), Stage.AUDIO, "InvalidParameterValue"),
    (EngineUnavailable("no model"), Stage.PHOTO, "FailedOperation.CompareSystemError"),
    (EngineUnavailable("no model"), Stage.LIVENESS, "FailedOperation.LivessSystemError"),
    (FaceEngineError("bad template"), Stage.COMPARE, "FailedOperation.CompareSystemError"),
    (RuntimeError("graph failed"), Stage.LIVENESS, "FailedOperation.LivessSystemError"),
])
def test_engine_exceptions_map_to_codes(exc, stage, code):
    outcome = rejected(exc, stage)
    assert outcome.result.tencent == code
    assert outcome.result.kind.value == ("system" if "System" in code else "bad_input")


@pytest.mark.parametrize("engine_code, code", [
    ("Success", "Success"), ("LipMoveSmall", "FailedOperation.LipMoveSmall"),
    ("LipDigitFail", "FailedOperation.LipVoiceRecognize"), ("ReflectionTooShort", "FailedOperation.ReflectionFail"),
    ("SomethingNew", "FailedOperation.LivessUnknownError"),
])
def test_liveness_codes_map_to_rows(engine_code, code):
    assert liveness_result(engine_code).tencent == code


def test_every_faceengine_liveness_code_has_a_verdict_row():
    from faceengine.liveness.types import Code
    for engine_code in Code.ALL:
        row = liveness_result(engine_code)
        assert row.tencent != "FailedOperation.LivessUnknownError" and row.kind.value == "verdict", engine_code


def test_a_holder_that_cannot_load_is_a_system_outcome():
    class Broken:
        def get(self):
            raise OSError("model file missing")
    with pytest.raises(Rejected) as caught:
        loaded(Broken(), Stage.LIVENESS)
    assert caught.value.result.tencent == "FailedOperation.LivessSystemError"
