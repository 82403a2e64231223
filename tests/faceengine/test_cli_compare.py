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


def _run_pairs(csv_path) -> tuple[int, list[dict]]:
    out = subprocess.run([sys.executable, "-m", "faceengine", "compare", "--pairs", str(csv_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    return out.returncode, [json.loads(line) for line in out.stdout.strip().splitlines()]


def test_pairs_prints_one_line_per_pair_in_order(files, tmp_path):
    """Relative paths are taken from the CSV's folder; a header is skipped; each line has the
    two-image form's shape; a bad image makes its own line an error and the rest go on."""
    folder = tmp_path / "people"
    folder.mkdir()
    for name in ("grace.jpg", "grace_crop.png", "astronaut.webp", "not_image.jpg"):
        (folder / name).write_bytes(Path(files[name]).read_bytes())
    sheet = folder / "pairs.csv"
    sheet.write_text("ref,probe\ngrace.jpg,grace_crop.png\ngrace.jpg,astronaut.webp\n\n"
                     "not_image.jpg,grace.jpg\nastronaut.webp,astronaut.webp\n")
    code, lines = _run_pairs(sheet)
    assert code == 2 and len(lines) == 4
    same, other, bad, itself = lines
    _, two_image_form = _run(files["grace.jpg"], files["grace_crop.png"])
    assert set(same) == set(two_image_form) == {"sim", "match", "faces", "quality", "distance", "model"}
    assert same["sim"] == two_image_form["sim"] and same["match"] is True
    assert other["match"] is False and other["sim"] < 70
    assert bad["error"] == "ImageDecodeFailed" and "not_image.jpg" in bad["message"]
    assert itself["sim"] == 100.0 and itself["distance"] == 0.0


def test_pairs_file_problems_exit_2(tmp_path):
    sheet = tmp_path / "pairs.csv"
    sheet.write_text("only-one-column\n")
    code, lines = _run_pairs(sheet)
    assert code == 2 and lines[0]["error"] == "PairsReadFailed"
    code, lines = _run_pairs(tmp_path / "missing.csv")
    assert code == 2 and lines[0]["error"] == "PairsReadFailed"
