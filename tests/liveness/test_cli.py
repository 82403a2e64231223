"""``python -m faceengine liveness`` on a folder of <timestamp_ms>.jpg frames."""
import json
import random

import cv2
import pytest

from capture_synth.liveness import LightParams, light_capture
from faceengine.__main__ import main
from faceengine.liveness import LightChallenge

CHALLENGE = LightChallenge(("#FF0000", "#00FFFF", "#0000FF", "#FFFF00", "#00FF00", "#FF00FF"), 320)


@pytest.fixture(scope="module")
def frame_folder(hopper, tmp_path_factory):
    folder = tmp_path_factory.mktemp("capture")
    params = LightParams(alpha=0.15, bg_frac=0.1, lag_ms=100.0, jpeg=85)
    for f in light_capture([hopper], CHALLENGE, params, random.Random(9)):
        cv2.imwrite(str(folder / f"{int(round(f.timestamp_ms))}.jpg"),
                    cv2.cvtColor(f.image_rgb, cv2.COLOR_RGB2BGR))
    return folder


def run_cli(capsys, *argv):
    status = main(["liveness", *argv])
    return status, json.loads(capsys.readouterr().out)


def test_light_mode_from_frame_folder(frame_folder, capsys):
    status, out = run_cli(capsys, "--mode", "light", "--challenge", json.dumps(CHALLENGE.to_json()),
                          str(frame_folder))
    assert status == 0
    assert out["passed"] is True and out["code"] == "Success"
    assert set(out) == {"passed", "code", "score", "best_frame_ms"}
    assert isinstance(out["best_frame_ms"], (int, float))


def test_wrong_sequence_fails_and_silent_mode_runs(frame_folder, capsys):
    other = {"colors": ["#00FF00", "#FF00FF", "#FFFF00", "#0000FF", "#FF0000", "#00FFFF"], "slot_ms": 320}
    status, out = run_cli(capsys, "--mode", "light", "--challenge", json.dumps(other), str(frame_folder))
    assert status == 0 and out["passed"] is False and out["code"] == "LivessDetectFake"
    status, out = run_cli(capsys, "--mode", "silent", str(frame_folder))
    assert status == 0 and out["code"] in ("Success", "SilentDetectFail")


def test_bad_input(tmp_path, capsys):
    status, out = run_cli(capsys, "--mode", "lip", "--challenge", '{"code": "12a4"}', str(tmp_path))
    assert status == 2 and "error" in out


def test_paced_lip_mode_from_frames_and_wav(hopper, tmp_path, capsys):
    from capture_synth import lip as lip_synth
    from capture_synth.liveness import animated_capture, none, syllables
    from faceengine.liveness import new_lip_challenge

    ch = new_lip_challenge(random.Random(50))
    onsets = [s + 550.0 for s in ch.show_ms]
    for f in animated_capture(hopper, syllables(onsets, 0.3), none, ch.duration_ms, random.Random(51)):
        cv2.imwrite(str(tmp_path / f"{int(round(f.timestamp_ms))}.jpg"), cv2.cvtColor(f.image_rgb, cv2.COLOR_RGB2BGR))
    from .test_lip import voiced
    wav = tmp_path.parent / "reading.wav"
    wav.write_bytes(lip_synth.wav_bytes(voiced(onsets, ch.duration_ms).samples))
    status, out = run_cli(capsys, "--mode", "lip", "--challenge", json.dumps(ch.to_json()), str(tmp_path),
                          "--audio", str(wav))
    assert status == 0 and out["passed"] is True, out
    # The same capture against a challenge whose digits appeared at other moments.
    other = {"code": ch.code, "show_ms": [t + 600 for t in ch.show_ms]}
    status, out = run_cli(capsys, "--mode", "lip", "--challenge", json.dumps(other), str(tmp_path),
                          "--audio", str(wav))
    assert status == 0 and out["passed"] is False and out["code"] == "LipVoiceFail"
