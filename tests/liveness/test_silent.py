"""Silent mode: a hand-held print and a phone screen showing a real photo, against a real
photo animated with speech and a blink (non-rigid like a face), and a real clip when shared."""
import random
from pathlib import Path

import pytest

from capture_synth.liveness import animated_capture, photo_attack, pulse, syllables
from faceengine.liveness import Code, verify_silent

FACEDATA = Path(__file__).resolve().parents[2].parent / "shared" / "facedata"


def test_too_short(hopper, mesher):
    frames = photo_attack(hopper, random.Random(1), duration_ms=1500)
    assert verify_silent(frames, mesher=mesher).code == Code.SILENT_TOO_SHORT


@pytest.mark.parametrize("screen", [False, True], ids=["print", "screen"])
def test_held_photo_is_rejected(hopper, mesher, screen):
    frames = photo_attack(hopper, random.Random(2), duration_ms=2500, screen=screen)
    result = verify_silent(frames, mesher=mesher)
    assert not result.passed and result.code == Code.SILENT_DETECT_FAIL, result.metrics


def test_moving_face_passes(astronaut, mesher):
    frames = animated_capture(astronaut, syllables([400, 900, 1500], 0.25), pulse(1900, 250),
                              2500, random.Random(3))
    result = verify_silent(frames, mesher=mesher)
    assert result.passed, result.metrics


@pytest.mark.shared
def test_real_talking_clip_passes(mesher):
    from faceengine.liveness.capture import read_video
    frames = read_video(FACEDATA / "videos" / "liveportrait_driving" / "d20.mp4", max_frames=45)
    result = verify_silent(frames, mesher=mesher)
    assert result.passed, result.metrics


@pytest.mark.shared
def test_onnx_pad_model_runs_on_best_frames(mesher):
    from faceengine.liveness import PadModel, PadModelOptions
    from faceengine.liveness.capture import read_video
    path = FACEDATA / "models" / "MiniFASNetV2_yakhyo.onnx"
    if not path.is_file():
        pytest.skip("MiniFASNet ONNX absent")
    frames = read_video(FACEDATA / "videos" / "liveportrait_driving" / "d20.mp4", max_frames=45)
    result = verify_silent(frames, mesher=mesher, pad_model=PadModel(PadModelOptions(path)))
    assert 0.0 <= result.metrics["pad_real"] <= 1.0
