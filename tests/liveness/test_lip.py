"""Digit reading on a real photo whose mouth is animated syllable by syllable; audio is a
voiced, syllable-shaped signal either timed with the mouth or not."""
from pathlib import Path

import numpy as np
import pytest

from capture_synth.liveness import animated_capture, none, syllables
from faceengine.liveness import Audio, Code, LipChallenge, verify_lip
from faceengine.liveness.capture import AUDIO_RATE

FACEDATA = Path(__file__).resolve().parents[2].parent / "shared" / "facedata"
CODE = LipChallenge("4827")
ONSETS = [500.0, 900.0, 1350.0, 1750.0]
DURATION = 2600.0


def voiced(onsets, duration_ms=DURATION, seed=0):
    """120 Hz voice with harmonics, shaped into ~200 ms syllables, over faint room noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(AUDIO_RATE * duration_ms / 1000)) / AUDIO_RATE
    voice = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 8))
    env = np.zeros_like(t)
    for o in onsets:
        u = (t * 1000 - o) / 220.0
        env = np.maximum(env, np.where((u >= 0) & (u <= 1), np.sin(np.pi * np.clip(u, 0, 1)), 0))
    x = 0.2 * env * voice + 0.002 * rng.standard_normal(len(t))
    return Audio(x.astype(np.float32))


@pytest.fixture(scope="module")
def reading(hopper):
    import random
    return animated_capture(hopper, syllables(ONSETS, 0.3), none, DURATION, random.Random(5))


@pytest.fixture(scope="module")
def still(hopper):
    import random
    return animated_capture(hopper, none, none, DURATION, random.Random(6))


def test_reading_passes_without_audio(reading, fine_mesher):
    result = verify_lip(reading, CODE, mesher=fine_mesher)
    assert result.passed, result.metrics
    assert result.metrics["openings"] >= 3


def test_reading_with_matching_speech_passes(reading, fine_mesher):
    result = verify_lip(reading, CODE, mesher=fine_mesher, audio=voiced(ONSETS))
    assert result.passed, result.metrics


def test_still_photo_is_lip_move_small(still, fine_mesher):
    assert verify_lip(still, CODE, mesher=fine_mesher).code == Code.LIP_MOVE_SMALL


def test_speech_with_no_lip_movement(still, fine_mesher):
    result = verify_lip(still, CODE, mesher=fine_mesher, audio=voiced(ONSETS))
    assert not result.passed and result.code == Code.LIP_MOVE_SMALL


def test_closed_mouth_clip_with_blinks_only(hopper, fine_mesher):
    import random
    from capture_synth.liveness import pulse
    frames = animated_capture(hopper, none, pulse(800, 250), DURATION, random.Random(7))
    assert verify_lip(frames, CODE, mesher=fine_mesher).code == Code.LIP_MOVE_SMALL


def test_lip_movement_against_unrelated_audio(reading, fine_mesher):
    # Syllables at other times (another utterance), and silence.
    other = voiced([150.0, 1100.0, 2050.0, 2400.0], seed=1)
    assert verify_lip(reading, CODE, mesher=fine_mesher, audio=other).code == Code.LIP_VOICE_FAIL
    silence = voiced([], seed=2)
    assert verify_lip(reading, CODE, mesher=fine_mesher, audio=silence).code == Code.LIP_VOICE_FAIL


class HeardDigits:
    def __init__(self, digits):
        self._digits = digits

    def digits(self, audio):
        return self._digits


def test_speech_recogniser_plug_in(reading, fine_mesher):
    audio = voiced(ONSETS)
    assert verify_lip(reading, CODE, mesher=fine_mesher, audio=audio, recogniser=HeardDigits("4827")).passed
    wrong = verify_lip(reading, CODE, mesher=fine_mesher, audio=audio, recogniser=HeardDigits("1234"))
    assert wrong.code == Code.LIP_DIGIT_FAIL


@pytest.mark.shared
def test_real_grid_speaker_with_own_audio(fine_mesher):
    from faceengine.liveness.capture import read_video, read_video_audio
    # A real talking head reading a six-word sentence with its own sound track.
    path = FACEDATA / "videos" / "grid_lipnet" / "grid_sbwe5n.mpg"   # "set blue with E five now"
    result = verify_lip(read_video(path), CODE, mesher=fine_mesher, audio=read_video_audio(path))
    assert result.passed, result.metrics


# -- a face whose closed mouth jitters: openings are measured against the capture's own noise --

@pytest.mark.shared
def test_jittery_closed_mouth_is_not_reading(jittery_mouth, fine_mesher):
    import random
    from capture_synth.liveness import pulse
    blinking = animated_capture(jittery_mouth, none, pulse(900, 250), DURATION, random.Random(11))
    result = verify_lip(blinking, CODE, mesher=fine_mesher)
    assert result.code == Code.LIP_MOVE_SMALL, result.metrics
    still = animated_capture(jittery_mouth, none, none, DURATION, random.Random(12))
    assert not verify_lip(still, CODE, mesher=fine_mesher, audio=voiced(ONSETS)).passed


@pytest.mark.shared
def test_jittery_mouth_reading_with_its_speech_passes(jittery_mouth, fine_mesher):
    import random
    frames = animated_capture(jittery_mouth, syllables(ONSETS, 0.3), none, DURATION, random.Random(13))
    result = verify_lip(frames, CODE, mesher=fine_mesher, audio=voiced(ONSETS))
    assert result.passed, result.metrics


def test_speech_behind_the_lips_by_more_than_a_recorder_lag_fails(reading, fine_mesher):
    # The right syllables, played 300 ms after the mouth made them.
    late = voiced([t + 300.0 for t in ONSETS], seed=3)
    assert verify_lip(reading, CODE, mesher=fine_mesher, audio=late).code == Code.LIP_VOICE_FAIL
