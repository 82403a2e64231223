import random

import pytest

from faceengine.liveness.challenge import (MAX_SLOT_MS, MIN_SLOT_MS, PALETTE, ActionChallenge,
                                           LightChallenge, LipChallenge, new_action_challenge,
                                           new_light_challenge, new_lip_challenge)


def test_light_challenge_is_random_with_no_colour_twice_in_a_row():
    rng = random.Random(1)
    seen = set()
    for _ in range(200):
        ch = new_light_challenge(rng)
        assert len(ch.colors) >= 6
        assert all(c in PALETTE for c in ch.colors)
        assert all(a != b for a, b in zip(ch.colors, ch.colors[1:]))
        assert MIN_SLOT_MS <= ch.slot_ms <= MAX_SLOT_MS
        seen.add((ch.colors, ch.nonce))
    assert len(seen) == 200


def test_light_challenge_refuses_fewer_than_six_colours():
    with pytest.raises(ValueError):
        new_light_challenge(random.Random(0), n_colors=5)


def test_lip_and_action_challenges():
    rng = random.Random(2)
    codes = {new_lip_challenge(rng).code for _ in range(50)}
    assert all(len(c) == 4 and c.isdigit() for c in codes) and len(codes) > 40
    orders = {new_action_challenge(rng).sequence for _ in range(50)}
    assert orders == {(1, 2), (2, 1)}


@pytest.mark.parametrize("cls, data", [
    (LightChallenge, {"colors": ["#FF0000", "#00ff00"], "slot_ms": 300}),
    (LipChallenge, {"code": "4827"}),
    (ActionChallenge, {"sequence": "2,1"}),
])
def test_json_round_trip(cls, data):
    ch = cls.from_json(data)
    assert cls.from_json(ch.to_json()) == ch


@pytest.mark.parametrize("cls, data", [
    (LightChallenge, {"colors": ["red", "#00FF00"], "slot_ms": 300}),
    (LightChallenge, {"colors": ["#FF0000"], "slot_ms": 300}),
    (LipChallenge, {"code": "48a7"}),
    (ActionChallenge, {"sequence": "1,3"}),
    (ActionChallenge, {}),
])
def test_bad_challenge_json_is_refused(cls, data):
    with pytest.raises((ValueError, KeyError)):
        cls.from_json(data)
