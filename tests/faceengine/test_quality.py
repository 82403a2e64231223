"""Quality checks on real faces: clean photos pass; each defect fails with its own reason/code.

The defects are made from Grace Hopper's photo with transforms that produce the defect
plainly (a second real face, a cut frame, a strong blur, ...). Thresholds were set from the
facedata photos, never from these cases.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from faceengine import quality as Q
from faceengine.detect import FaceLandmarks
from faceengine.quality import REASON_CODES, QualityReason, assess, head_pose


def test_clean_real_photos_pass(engine, grace_rgb, astronaut_rgb):
    for img in (grace_rgb, astronaut_rgb):
        report = engine.analyse(img, embed=False).quality
        assert report.ok, report
        assert report.codes == ()
        assert report.face_count == 1


def test_every_reason_has_a_code():
    assert set(REASON_CODES) == set(QualityReason)
    assert REASON_CODES[QualityReason.NO_FACE] == "LifePhotoDetectNoFaces"
    assert REASON_CODES[QualityReason.MULTIPLE_FACES] == "LifePhotoDetectFaces"
    assert REASON_CODES[QualityReason.BLURRED] == "ImageBlur"
    assert REASON_CODES[QualityReason.FACE_TOO_SMALL] == "LifePhotoSizeError"


def _two_people(g, a, _):
    a = cv2.resize(a, (g.shape[0], g.shape[0]))
    return np.ascontiguousarray(np.hstack([g, a]))


def _cut_left(g, _, face):
    return np.ascontiguousarray(g[:, int(face.x + 0.25 * face.w):])


def _small(g, _, __):
    small = cv2.resize(g, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[100:100 + small.shape[0], 100:100 + small.shape[1]] = small
    return canvas


def _blur(g, _, face):
    return cv2.GaussianBlur(g, (0, 0), 0.03 * face.w)


def _dark(g, _, __):
    return (g * 0.15).astype(np.uint8)


def _washed_out(g, _, __):
    return np.clip(g * 0.25 + 190, 0, 255).astype(np.uint8)


def _no_face(*_):
    return np.ascontiguousarray(skdata.coffee())


DEFECTS = [
    ("no_face", _no_face, QualityReason.NO_FACE, "LifePhotoDetectNoFaces"),
    ("two_people", _two_people, QualityReason.MULTIPLE_FACES, "LifePhotoDetectFaces"),
    ("cut_by_frame", _cut_left, QualityReason.FACE_INCOMPLETE, "LifePhotoDetectNoFaces"),
    ("small_face", _small, QualityReason.FACE_TOO_SMALL, "LifePhotoSizeError"),
    ("blurred", _blur, QualityReason.BLURRED, "ImageBlur"),
    ("dark", _dark, QualityReason.TOO_DARK, "LifePhotoPoorQuality"),
    ("washed_out", _washed_out, QualityReason.TOO_BRIGHT, "LifePhotoPoorQuality"),
]


@pytest.mark.parametrize("name,make,reason,code", DEFECTS, ids=[d[0] for d in DEFECTS])
def test_image_defect_fails_with_its_reason(engine, grace_rgb, astronaut_rgb, grace_analysis,
                                            name, make, reason, code):
    report = engine.analyse(make(grace_rgb, astronaut_rgb, grace_analysis.face), embed=False).quality
    assert not report.ok
    assert report.reasons[0] == reason, report.reasons
    assert report.codes[0] == code


def _eye_box(xy):
    eyes = xy[list(Q.RIGHT_EYE_RING) + list(Q.LEFT_EYE_RING)]
    (x0, y0), (x1, y1) = eyes.min(axis=0), eyes.max(axis=0)
    pad = 0.08 * (x1 - x0)
    return int(x0 - pad), int(y0 - 2 * pad), int(x1 + pad), int(y1 + 2 * pad)


def test_dark_bar_over_the_eyes_is_occlusion(engine, grace_rgb, grace_analysis):
    img = grace_rgb.copy()
    x0, y0, x1, y1 = _eye_box(grace_analysis.landmarks.xy)
    cv2.rectangle(img, (x0, y0), (x1, y1), (15, 15, 20), -1)  # sunglasses-like
    report = engine.analyse(img, embed=False).quality
    assert report.reasons == (QualityReason.EYES_OCCLUDED,)


def test_mask_over_mouth_and_nose_is_occlusion(engine, grace_rgb, grace_analysis):
    xy = grace_analysis.landmarks.xy
    img = grace_rgb.copy()
    nose_y = xy[4][1]
    poly = np.array([xy[234], [xy[234][0], nose_y], [xy[454][0], nose_y], xy[454], xy[152]], np.int32)
    cv2.fillPoly(img, [poly], (170, 200, 230))  # a light-blue surgical mask
    report = engine.analyse(img, embed=False).quality
    assert report.reasons == (QualityReason.MOUTH_OCCLUDED,)


def _rotate_mesh(points: np.ndarray, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> np.ndarray:
    c = points.mean(axis=0)
    y, p = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return ((points - c) @ (rx @ ry).T + c).astype(np.float32)


@pytest.mark.parametrize("yaw,pitch", [(20, 0), (-40, 0), (0, 20), (0, -35), (25, 15)])
def test_head_pose_follows_a_rotated_real_mesh(grace_analysis, yaw, pitch):
    """Rotating Grace Hopper's own mesh by known angles moves the pose estimate by them."""
    base = grace_analysis.landmarks.points
    y0, p0, _ = head_pose(grace_analysis.landmarks)
    y1, p1, _ = head_pose(FaceLandmarks(_rotate_mesh(base, yaw, pitch)))
    assert abs((y1 - y0) - yaw) < 4.0 or abs((y1 - y0) + yaw) < 4.0  # sign convention aside
    assert abs(abs(p1 - p0) - abs(pitch)) < 4.0


@pytest.mark.parametrize("yaw,pitch,reason", [
    (50, 0, QualityReason.YAW_TOO_LARGE), (-50, 0, QualityReason.YAW_TOO_LARGE),
    (0, 40, QualityReason.PITCH_TOO_LARGE), (0, -40, QualityReason.PITCH_TOO_LARGE),
])
def test_turned_face_fails_pose(grace_rgb, grace_analysis, yaw, pitch, reason):
    a = grace_analysis
    turned = FaceLandmarks(_rotate_mesh(a.landmarks.points, yaw, pitch))
    report = assess(grace_rgb, a.faces, a.face, turned)
    assert reason in report.reasons
    assert REASON_CODES[reason] in report.codes


def test_closed_lids_fail_eye_check(grace_rgb, grace_analysis):
    """Lids of the real mesh moved together (the mesh geometry of a closed eye)."""
    a = grace_analysis
    pts = a.landmarks.points.copy()
    for _, _, lids in (Q.RIGHT_EYE_EAR, Q.LEFT_EYE_EAR):
        for upper, lower in lids:
            mid = (pts[upper] + pts[lower]) / 2
            pts[upper], pts[lower] = mid, mid
    report = assess(grace_rgb, a.faces, a.face, FaceLandmarks(pts))
    assert report.reasons == (QualityReason.EYES_CLOSED,)


def test_no_landmarks_is_incomplete_face(grace_rgb, grace_analysis):
    a = grace_analysis
    report = assess(grace_rgb, a.faces, a.face, None)
    assert report.reasons == (QualityReason.FACE_INCOMPLETE,)


def test_small_bystander_does_not_count_as_second_face(engine, grace_rgb):
    bystander = cv2.resize(grace_rgb, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    img = grace_rgb.copy()
    img[-bystander.shape[0]:, -bystander.shape[1]:] = bystander
    analysis = engine.analyse(img, embed=False)
    assert len(analysis.faces) == 2  # both are seen ...
    assert QualityReason.MULTIPLE_FACES not in analysis.quality.reasons  # ... only one competes


@pytest.mark.shared
def test_real_sunglasses_photo_is_eye_occlusion(engine, facedata):
    from faceengine.intake import decode_image

    path = facedata / "identities/lfw_krasserm/Arnold_Schwarzenegger/Arnold_Schwarzenegger_0008.jpg"
    report = engine.analyse(decode_image(path.read_bytes()), embed=False).quality
    assert QualityReason.EYES_OCCLUDED in report.reasons


@pytest.mark.shared
def test_real_group_photos_are_multiple_faces(engine, facedata):
    from faceengine.intake import decode_image

    for name in ("couple.jpg", "selfie-many-people.jpg"):
        path = facedata / "identities/deepface/_other" / name
        if not path.is_file():
            pytest.skip(f"{name} absent")
        report = engine.analyse(decode_image(path.read_bytes(), ), embed=False).quality
        assert QualityReason.MULTIPLE_FACES in report.reasons, name


@pytest.mark.shared
def test_real_blinks_are_caught_and_open_eyes_pass(engine, facedata):
    """d3 (a woman who winks and blinks): closed-eye frames fail, most frames do not."""
    av = pytest.importorskip("av")
    path = facedata / "videos/liveportrait_driving/d3.mp4"
    if not path.is_file():
        pytest.skip("d3.mp4 absent")
    closed = seen = 0
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % 3:
                continue
            report = engine.analyse(frame.to_ndarray(format="rgb24"), embed=False).quality
            seen += 1
            closed += QualityReason.EYES_CLOSED in report.reasons
            if i > 360:
                break
    assert closed >= 3
    assert closed / seen < 0.3


# -- reference photos: an ID-chip portrait is small and frontal ------------------------------------
@pytest.mark.parametrize("width_faces, accepted", [(1.9, True), (2.8, True), (3.4, False)])
def test_reference_rules_take_chip_portraits_down_to_40_px(engine, grace_rgb, grace_analysis, width_faces, accepted):
    """102x126 portraits framed ever wider: the face is ~52 px at the ID photo's 1.9 face widths, ~40 px
    at 2.8 (taken, and still the same person), ~32 px at 3.4 (refused as too small). The selfie rules
    refuse all of them (64 px minimum)."""
    from capture_synth.id_photo import chip_portrait
    from faceengine.intake import decode_image

    chip = decode_image(chip_portrait(grace_rgb, grace_analysis.landmarks, width_faces=width_faces))
    assert chip.shape == (126, 102, 3)
    ref = engine.analyse(chip, reference=True)
    assert ref.quality.ok is accepted, (ref.face.w, ref.quality.codes)
    if accepted:
        assert ref.face.w >= 40
        assert engine.compare(ref.template, grace_analysis.template) >= 70
    else:
        assert ref.quality.codes == ("LifePhotoSizeError",)
    assert "LifePhotoSizeError" in engine.analyse(chip).quality.codes
