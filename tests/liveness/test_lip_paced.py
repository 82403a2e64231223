"""Paced digit challenge: each digit appears alone at a random moment and is read when it appears.
A real photo's mouth is animated syllable by syllable; the audio is voiced syllables (test_lip's
``voiced``), timed with the reading or not. Real talking heads (GRID) when ../shared is present."""
import random

import numpy as np
import pytest

from capture_synth.liveness import animated_capture, none, pulse, syllables
from faceengine.liveness import Code, LipChallenge, new_lip_challenge, verify_lip
from faceengine.liveness.challenge import READ_TAIL_MS, SHOW_GAP_MS

from .test_lip import FACEDATA, voiced

CHALLENGE = new_lip_challenge(random.Random(41))
LATENCY = 600.0
JITTER = (-40.0, 60.0, 0.0, -70.0)   # one reader's digit-to-digit variation
ONSETS = [s + LATENCY + j for s, j in zip(CHALLENGE.show_ms, JITTER)]
DURATION = CHALLENGE.duration_ms


@pytest.fixture(scope="module")
def reading(hopper):
    return animated_capture(hopper, syllables(ONSETS, 0.3), none, DURATION, random.Random(42))


def test_paced_challenge_shape():
    rng = random.Random(1)
    for _ in range(100):
        ch = new_lip_challenge(rng)
        gaps = [b - a for a, b in zip(ch.show_ms, ch.show_ms[1:])]
        assert len(ch.code) == len(ch.show_ms) == 4 and ch.paced
        assert all(SHOW_GAP_MS[0] <= g <= SHOW_GAP_MS[1] for g in gaps)
        assert ch.duration_ms == ch.show_ms[-1] + READ_TAIL_MS
        assert LipChallenge.from_json(ch.to_json()) == ch
    with pytest.raises(ValueError):
        LipChallenge.from_json({"code": "4827", "show_ms": [900, 800, 1700, 2500]})
    with pytest.raises(ValueError):
        LipChallenge.from_json({"code": "4827", "show_ms": [900, 1800]})


def test_reading_at_the_pace_passes(reading, fine_mesher):
    result = verify_lip(reading, CHALLENGE, mesher=fine_mesher, audio=voiced(ONSETS, DURATION))
    assert result.passed, (result.detail, result.metrics)
    assert result.metrics["voiced_digits"] == 4 and result.metrics["mouth_with_voice"] >= 2


def test_another_face_reading_at_its_own_pace_passes(astronaut, fine_mesher):
    onsets = [s + 450.0 + j for s, j in zip(CHALLENGE.show_ms, (30.0, -50.0, 80.0, 0.0))]
    frames = animated_capture(astronaut, syllables(onsets, 0.25), none, DURATION, random.Random(43))
    result = verify_lip(frames, CHALLENGE, mesher=fine_mesher, audio=voiced(onsets, DURATION, seed=4))
    assert result.passed, (result.detail, result.metrics)


def test_still_photo_with_the_right_speech_fails(hopper, fine_mesher):
    still = animated_capture(hopper, none, none, DURATION, random.Random(44))
    result = verify_lip(still, CHALLENGE, mesher=fine_mesher, audio=voiced(ONSETS, DURATION))
    assert result.code == Code.LIP_MOVE_SMALL


def test_closed_mouth_clip_fails(hopper, fine_mesher):
    frames = animated_capture(hopper, none, pulse(1500, 250), DURATION, random.Random(45))
    result = verify_lip(frames, CHALLENGE, mesher=fine_mesher, audio=voiced([], DURATION, seed=5))
    assert not result.passed and result.code == Code.LIP_MOVE_SMALL


def test_lips_against_running_speech_fail(reading, fine_mesher):
    # Unrelated speech: syllables every ~350 ms over the whole capture.
    rng = random.Random(46)
    onsets, t = [], 300.0
    while t < DURATION - 300:
        onsets.append(t)
        t += rng.uniform(250, 450)
    result = verify_lip(reading, CHALLENGE, mesher=fine_mesher, audio=voiced(onsets, DURATION, seed=6))
    assert result.code == Code.LIP_VOICE_FAIL, result.metrics


def test_lips_against_a_reading_of_another_paced_code_fail(reading, fine_mesher):
    # The same reader's recording made for another challenge (other show times), replayed.
    other = LipChallenge("1234", (600, 2300, 3000, 4700))
    onsets = [s + LATENCY for s in other.show_ms]
    result = verify_lip(reading, CHALLENGE, mesher=fine_mesher, audio=voiced(onsets, DURATION, seed=7))
    assert result.code == Code.LIP_VOICE_FAIL, result.metrics


def test_speech_before_the_digits_appear_fails(reading, fine_mesher):
    # Read ahead of the digits (a replay started early): every onset < 200 ms after its digit.
    early = [s + 50.0 for s in CHALLENGE.show_ms]
    result = verify_lip(reading, CHALLENGE, mesher=fine_mesher, audio=voiced(early, DURATION, seed=8))
    assert result.code == Code.LIP_VOICE_FAIL


def test_the_right_speech_with_the_mouth_moving_at_other_times_fails(hopper, fine_mesher):
    # The audio reads this challenge, the lips read another one (lips of a different recording).
    mouth = [s + 1100.0 for s in (300, 1200, 2000, 2700)]
    frames = animated_capture(hopper, syllables(mouth, 0.3), none, DURATION, random.Random(47))
    result = verify_lip(frames, CHALLENGE, mesher=fine_mesher, audio=voiced(ONSETS, DURATION, seed=9))
    assert not result.passed, result.metrics


def test_silence_fails(reading, fine_mesher):
    result = verify_lip(reading, CHALLENGE, mesher=fine_mesher, audio=voiced([], DURATION, seed=10))
    assert result.code == Code.LIP_VOICE_FAIL


@pytest.mark.shared
def test_real_talking_heads_reading_at_the_pace(fine_mesher):
    from capture_synth.paced_grid import GridClip, paced_reading, sentence_audio

    grid = FACEDATA / "videos" / "grid_lipnet"
    own = GridClip.load(grid / "grid_lrwp9a.mpg")        # "lay red with P nine again"
    other = GridClip.load(grid / "grid_sbwe5n.mpg")      # another speaker
    rng = random.Random(48)
    frames, audio = paced_reading(own, CHALLENGE, rng, latency_ms=LATENCY)
    result = verify_lip(frames, CHALLENGE, mesher=fine_mesher, audio=audio)
    assert result.passed, (result.detail, result.metrics)
    speech = sentence_audio(other, DURATION, offset_ms=800.0)
    assert verify_lip(frames, CHALLENGE, mesher=fine_mesher, audio=speech).code == Code.LIP_VOICE_FAIL


def test_audio_can_be_required(reading, fine_mesher):
    from faceengine.liveness import LipOptions
    # The services require the voice: without it nothing ties the lips to this challenge.
    assert verify_lip(reading, CHALLENGE, mesher=fine_mesher).passed
    result = verify_lip(reading, CHALLENGE, mesher=fine_mesher, options=LipOptions(require_audio=True))
    assert result.code == Code.LIP_VOICE_FAIL


def _with_noise(audio, snr_db, seed):
    """White noise at ``snr_db`` under the speech's own power (a fan, a street)."""
    from faceengine.liveness import Audio
    x = audio.samples.astype(np.float64)
    speech_power = np.mean(x[np.abs(x) > 0.05 * np.abs(x).max()] ** 2)
    noise = np.random.default_rng(seed).normal(0, np.sqrt(speech_power / 10 ** (snr_db / 10)), len(x))
    return Audio((x + noise).astype(np.float32))


def test_reading_in_background_noise_passes_and_running_speech_still_fails(reading, fine_mesher):
    noisy = _with_noise(voiced(ONSETS, DURATION), 20.0, seed=11)
    result = verify_lip(reading, CHALLENGE, mesher=fine_mesher, audio=noisy)
    assert result.passed, (result.detail, result.metrics)
    rng = random.Random(12)
    running, t = [], CHALLENGE.show_ms[0] + 250.0      # timed from the first digit on
    while t < DURATION - 300:
        running.append(t)
        t += rng.uniform(250, 450)
    result = verify_lip(reading, CHALLENGE, mesher=fine_mesher,
                        audio=_with_noise(voiced(running, DURATION, seed=13), 20.0, seed=14))
    assert result.code == Code.LIP_VOICE_FAIL, result.metrics


@pytest.mark.shared
def test_real_speech_in_background_noise_is_one_run_per_syllable(fine_mesher):
    # "place" in 18 dB of white noise: its frames dip under the threshold now and then; read as
    # 25 ms frames it broke into runs counted as stray speech (every one of 6 readings failed).
    from capture_synth.paced_grid import GridClip, paced_reading

    clip = GridClip.load(FACEDATA / "videos" / "grid_lipnet" / "grid_pwij3p.mpg")
    rng = random.Random(0)
    ch = new_lip_challenge(rng)
    frames, audio = paced_reading(clip, ch, rng, latency_ms=600)
    result = verify_lip(frames, ch, mesher=fine_mesher, audio=_with_noise(audio, 18.0, seed=0))
    assert result.passed, (result.detail, result.metrics)


def test_a_few_samples_of_audio_are_no_speech(reading, fine_mesher):
    from faceengine.liveness import Audio
    for n in (0, 100, 1000):          # none, 6 ms, 62 ms
        result = verify_lip(reading, CHALLENGE, mesher=fine_mesher, audio=Audio(np.zeros(n, np.float32)))
        assert result.code == Code.LIP_VOICE_FAIL


def test_speech_recogniser_plug_in_applies_to_paced_readings(reading, fine_mesher):
    from .test_lip import HeardDigits
    audio = voiced(ONSETS, DURATION)
    heard_right = verify_lip(reading, CHALLENGE, mesher=fine_mesher, audio=audio,
                             recogniser=HeardDigits(CHALLENGE.code))
    assert heard_right.passed
    heard_wrong = verify_lip(reading, CHALLENGE, mesher=fine_mesher, audio=audio,
                             recogniser=HeardDigits("0000" if CHALLENGE.code != "0000" else "1111"))
    assert heard_wrong.code == Code.LIP_DIGIT_FAIL
