"""The face gate every mode passes first: one usable face, the same one, throughout."""
from __future__ import annotations

from ..detect import FaceMesher
from .identity import FaceIdentity
from .track import FaceTrack, TrackOptions, check_continuity, track_face
from .types import Code, Frame, LivenessResult


def track_or_fail(frames: list[Frame], mesher: FaceMesher, options: TrackOptions,
                  identity: FaceIdentity | None) -> tuple[FaceTrack, LivenessResult | None]:
    """The capture's face track, and a failed result when the gate does not hold (else None)."""
    track = track_face(frames, mesher, options)
    cont = check_continuity(track, frames, options, identity)
    best = track.best_frames()
    if cont.ok:
        return track, None
    if cont.reason == "no_face" or not best or best[0].quality <= 0.0:
        return track, LivenessResult(False, Code.BEST_FRAME_ERROR, 0.0, best, "no usable face")
    if cont.reason == "face_lost":
        return track, LivenessResult(False, Code.DETECT_FAIL, 0.0, best, "face lost during capture")
    return track, LivenessResult(False, Code.DETECT_FAKE, 0.0, best,
                                 f"identity changed (min consecutive ncc {cont.min_consecutive_ncc:.2f})")
