"""Actions on a real photo with the mouth opened and the eyes closed by warping."""
import random

import pytest

from bench.liveness_synth import animated_capture, none, pulse
from faceengine.liveness import ActionChallenge, Code, verify_action

MOUTH_FIRST = ActionChallenge((1, 2))
BLINK_FIRST = ActionChallenge((2, 1))


def capture(portrait, mouth_at=None, blink_at=None, seed=0):
    mouth = pulse(mouth_at, 700, 0.45) if mouth_at is not None else none
    eyes = pulse(blink_at, 300) if blink_at is not None else none
    return animated_capture(portrait, mouth, eyes, 3000, random.Random(seed))


@pytest.fixture(scope="module")
def mouth_then_blink(hopper):
    return capture(hopper, mouth_at=500, blink_at=2000, seed=1)


def test_actions_in_order_pass(mouth_then_blink, fine_mesher):
    result = verify_action(mouth_then_blink, MOUTH_FIRST, mesher=fine_mesher)
    assert result.passed, result.metrics


def test_blink_then_mouth_passes_its_own_order(astronaut, fine_mesher):
    frames = capture(astronaut, mouth_at=1600, blink_at=600, seed=2)
    result = verify_action(frames, BLINK_FIRST, mesher=fine_mesher)
    assert result.passed, result.metrics


def test_reverse_order_is_rejected(mouth_then_blink, fine_mesher):
    result = verify_action(mouth_then_blink, BLINK_FIRST, mesher=fine_mesher)
    assert not result.passed and result.code in (Code.ACTION_CLOSE_EYE, Code.ACTION_OPEN_MOUTH)


@pytest.mark.parametrize("mouth_at, blink_at, code", [
    (500, None, Code.ACTION_CLOSE_EYE),
    (None, 1500, Code.ACTION_OPEN_MOUTH),
])
def test_missing_action(hopper, fine_mesher, mouth_at, blink_at, code):
    result = verify_action(capture(hopper, mouth_at, blink_at, seed=3), MOUTH_FIRST, mesher=fine_mesher)
    assert not result.passed and result.code == code


def test_still_photo_is_rejected(hopper, fine_mesher):
    result = verify_action(capture(hopper, seed=4), MOUTH_FIRST, mesher=fine_mesher)
    assert not result.passed and result.code == Code.ACTION_OPEN_MOUTH
