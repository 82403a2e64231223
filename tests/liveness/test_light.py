"""REFLECTION on captures synthesised from real photos with a physical model of the screen's
light (capture_synth/liveness.py), and each named attack."""
import pytest

from capture_synth.liveness import LightParams, light_capture
from faceengine.liveness import Code, LightChallenge, verify_light

CHALLENGE = LightChallenge(("#FF0000", "#00FFFF", "#0000FF", "#FFFF00", "#00FF00", "#FF00FF"), 320, "n1")
OTHER = LightChallenge(("#00FF00", "#FF00FF", "#FFFF00", "#0000FF", "#FF0000", "#00FFFF"), 320, "n2")


def genuine(**kw):
    # The weakest reflection of the physical range the bench samples (alpha 0.08..0.3).
    base = dict(alpha=0.1, bg_frac=0.1, lag_ms=120.0, jpeg=80)
    base.update(kw)
    return LightParams(**base)


@pytest.mark.parametrize("who", ["hopper", "astronaut"])
def test_genuine_reflection_passes(request, who, mesher, rng):
    portrait = request.getfixturevalue(who)
    frames = light_capture([portrait], CHALLENGE, genuine(), rng)
    result = verify_light(frames, CHALLENGE, mesher=mesher)
    assert result.passed, result.metrics
    assert result.code == Code.SUCCESS
    assert 0 <= result.metrics["lag_ms"] <= 200
    assert result.best_frames and result.best_frame_ms is not None


@pytest.mark.parametrize("attack", ["still_photo", "other_sequence", "shifted_late", "shifted_early",
                                    "tint_multiplicative", "tint_additive"])
def test_attacks_are_rejected(attack, hopper, mesher, rng):
    params, shown = genuine(alpha=0.2), CHALLENGE
    if attack == "still_photo":
        params.mode = "none"
    elif attack == "other_sequence":
        shown = OTHER
    elif attack == "shifted_late":
        params.lag_ms += CHALLENGE.slot_ms
    elif attack == "shifted_early":
        params.lag_ms -= CHALLENGE.slot_ms
    elif attack == "tint_multiplicative":
        params.mode = "tint_mult"
    else:
        params.mode = "tint_add"
    frames = light_capture([hopper], shown, params, rng)
    result = verify_light(frames, CHALLENGE, mesher=mesher)
    assert not result.passed
    assert result.code == Code.DETECT_FAKE


def test_splice_of_two_people_is_rejected(hopper, astronaut, mesher, rng):
    # Both halves reflect the right colours; only the person changes, eyes placed on the same spot.
    frames = light_capture([hopper, astronaut.aligned_to(hopper)], CHALLENGE, genuine(alpha=0.2), rng)
    result = verify_light(frames, CHALLENGE, mesher=mesher)
    assert not result.passed
    assert result.code == Code.DETECT_FAKE


def test_capture_shorter_than_the_sequence(hopper, mesher, rng):
    frames = light_capture([hopper], CHALLENGE, genuine(), rng)
    cut = [f for f in frames if f.timestamp_ms < CHALLENGE.duration_ms * 0.6]
    assert verify_light(cut, CHALLENGE, mesher=mesher).code == Code.LIGHT_TOO_SHORT
