"""`python -m faceengine compare IMG1 IMG2` end to end, in a subprocess like an operator runs it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from .conftest import encode

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> tuple[int, dict]:
    out = subprocess.run([sys.executable, "-m", "faceengine", "compare", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    return out.returncode, json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def files(tmp_path_factory, grace_rgb, astronaut_rgb):
    d = tmp_path_factory.mktemp("cli")
    paths = {}
    h, w = grace_rgb.shape[:2]
    crop = grace_rgb[h // 8:, w // 10: w - w // 10]
    for name, data in {
        "grace.jpg": encode(grace_rgb, ".jpg", quality=92),
        "grace_crop.png": encode(cv2.resize(crop, None, fx=0.7, fy=0.7), ".png"),
        "astronaut.webp": encode(astronaut_rgb, ".webp"),
        "not_image.jpg": b"this is text pretending to be a jpeg",
        "cut.jpg": encode(grace_rgb, ".jpg")[:5000],
    }.items():
        (d / name).write_bytes(data)
        paths[name] = str(d / name)
    return paths


def test_same_person_matches(files):
    code, out = _run(files["grace.jpg"], files["grace_crop.png"])
    assert code == 0
    assert out["match"] is True and out["sim"] >= 70 and out["faces"] == [1, 1]


def test_different_people_do_not_match(files):
    code, out = _run(files["grace.jpg"], files["astronaut.webp"])
    assert code == 0
    assert out["match"] is False and out["sim"] < 70 and out["faces"] == [1, 1]


@pytest.mark.parametrize("name,error", [("not_image.jpg", "ImageDecodeFailed"), ("cut.jpg", "ImageTruncated")])
def test_bad_image_exits_2_with_its_code(files, name, error):
    code, out = _run(files["grace.jpg"], files[name])
    assert code == 2
    assert out["error"] == error and name in out["message"]


def test_missing_file_exits_2(files, tmp_path):
    code, out = _run(files["grace.jpg"], str(tmp_path / "nope.jpg"))
    assert code == 2 and out["error"] == "ImageReadFailed"
