"""The face gate shared by every mode: no face, a face that leaves, a change of person."""
import random

import numpy as np

from capture_synth.liveness import animated_capture, none
from faceengine.liveness import Code, DlibIdentity, Frame, verify_silent
from faceengine.liveness.track import TrackOptions, check_continuity, track_face


def test_no_face_at_all(hopper, mesher):
    frames = [Frame(np.full((480, 640, 3), 120, np.uint8), t * 66.7) for t in range(40)]
    assert verify_silent(frames, mesher=mesher).code == Code.BEST_FRAME_ERROR


def test_face_that_vanishes(hopper, mesher):
    frames = animated_capture(hopper, none, none, 3000, random.Random(1))
    blank = np.full_like(frames[0].image_rgb, 90)
    cut = [Frame(blank, f.timestamp_ms) if 1200 < f.timestamp_ms < 2000 else f for f in frames]
    assert verify_silent(cut, mesher=mesher).code == Code.DETECT_FAIL


def test_best_frames_are_ranked_by_quality(hopper, mesher):
    frames = animated_capture(hopper, none, none, 1000, random.Random(2))
    track = track_face(frames, mesher)
    best = track.best_frames(3)
    assert [b.quality for b in best] == sorted((b.quality for b in best), reverse=True)
    assert all(0 < b.quality <= 1 for b in best)


def test_identity_check_catches_a_splice_with_similar_pose(hopper, astronaut, mesher):
    a = animated_capture(hopper, none, none, 1000, random.Random(3))
    b = animated_capture(astronaut.aligned_to(hopper), none, none, 1000, random.Random(4))
    spliced = a + [Frame(f.image_rgb, f.timestamp_ms + 1067) for f in b]
    track = track_face(spliced, mesher)
    assert not check_continuity(track, spliced, TrackOptions(), DlibIdentity()).ok
    one = track_face(a, mesher)
    assert check_continuity(one, a, TrackOptions(), DlibIdentity()).ok


def test_tracking_mesher_reads_the_same_landmarks_as_the_field_by_field_path(hopper):
    """The mesher's fast read of MediaPipe's wire format equals reading each landmark's fields."""
    import numpy as np

    from faceengine.liveness.meshers import _WIRE, TrackingMesher, _points

    mesher = TrackingMesher(refine_landmarks=True)
    try:
        image = np.ascontiguousarray(hopper.image)
        [face] = mesher._graph.process(image).multi_face_landmarks
    finally:
        mesher.close()
    h, w = image.shape[:2]
    assert len(face.SerializeToString()) == len(face.landmark) * _WIRE.itemsize   # the fast path runs
    slow = np.array([[p.x * w, p.y * h, p.z * w] for p in face.landmark], dtype=np.float32)
    np.testing.assert_allclose(_points(face, w, h), slow, rtol=1e-6, atol=1e-3)
