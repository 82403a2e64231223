"""ACTION: two prompted actions in the issued order, 1 = open mouth, 2 = blink.

Open mouth: the inner-lip gap over mouth width rises from the capture's resting level (its 10th
percentile, plus ``closed_margin``; a smile showing teeth rests above zero) to a wide-open one:
at least ``wide`` and ``wide_margin`` above rest (speech stays below ~0.4). Blink: the eye aspect
ratio falls below ``blink_drop`` of the capture's open-eye level and comes back above
``blink_recover`` of it within ``max_blink_ms``, while the mouth is not wide open (opening the
mouth wide narrows the eyes too). A still photo has neither transition.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..detect import FaceMesher
from . import geometry as g
from .challenge import BLINK, OPEN_MOUTH, ActionChallenge
from .gate import track_or_fail
from .identity import FaceIdentity
from .track import TrackOptions
from .types import Code, Frame, LivenessResult


@dataclass(frozen=True)
class ActionOptions:
    track: TrackOptions = field(default_factory=TrackOptions)
    closed_margin: float = 0.08
    wide: float = 0.35
    wide_margin: float = 0.2
    # Closed eyes give EAR ~0.1 against ~0.3 open (Soukupova & Cech 2016); the mesh under-reads
    # closure, so a fall to 65% of the open level is taken as closed and 85% as open again.
    blink_drop: float = 0.65
    blink_recover: float = 0.85
    max_blink_ms: float = 1000.0       # a deliberate blink; longer is eyes kept shut


@dataclass(frozen=True)
class Event:
    action: int
    start_ms: float
    end_ms: float


def mouth_events(ts: np.ndarray, op: np.ndarray, options: ActionOptions) -> list[Event]:
    rest = float(np.percentile(op, 10)) if len(op) else 0.0
    closed, wide = rest + options.closed_margin, max(options.wide, rest + options.wide_margin)
    events, armed, start = [], False, None
    for t, o in zip(ts, op):
        if o < closed:
            if start is not None:
                events.append(Event(OPEN_MOUTH, start, t))
                start = None
            armed = True
        elif o > wide and armed and start is None:
            start, armed = t, False
    if start is not None:
        events.append(Event(OPEN_MOUTH, start, float(ts[-1])))
    return events


def blink_events(ts: np.ndarray, ear: np.ndarray, op: np.ndarray, options: ActionOptions) -> list[Event]:
    if len(ear) < 3:
        return []
    base = float(np.percentile(ear, 75))
    lo, hi = options.blink_drop * base, options.blink_recover * base
    events, armed, start = [], False, None
    for t, e, o in zip(ts, ear, op):
        if e >= hi:
            if start is not None and t - start <= options.max_blink_ms:
                events.append(Event(BLINK, start, t))
            start, armed = None, True
        elif e <= lo and armed and start is None and o < options.wide:  # eyes narrow when gaping
            start, armed = t, False
    return events


def order_satisfied(sequence: tuple[int, ...], events: list[Event]) -> tuple[bool, int]:
    """Greedy: each action's earliest event after the previous action's start.
    Returns (ok, first action that could not be placed, or 0)."""
    t = -np.inf
    for action in sequence:
        found = [e for e in events if e.action == action and e.start_ms > t]
        if not found:
            return False, action
        t = min(e.start_ms for e in found)
    return True, 0


def verify_action(frames: list[Frame], challenge: ActionChallenge, *, mesher: FaceMesher,
                  identity: FaceIdentity | None = None,
                  options: ActionOptions = ActionOptions()) -> LivenessResult:
    track, failed = track_or_fail(frames, mesher, options.track, identity)
    if failed:
        return failed
    best = track.best_frames()
    faces = track.faces
    ts = np.array([o.timestamp_ms for o in faces])
    op = np.array([g.mouth_opening(o.xy) for o in faces])
    ear = np.array([g.eye_aspect_ratio(o.xy) for o in faces])
    events = sorted(mouth_events(ts, op, options) + blink_events(ts, ear, op, options),
                    key=lambda e: e.start_ms)
    ok, missing = order_satisfied(challenge.sequence, events)
    metrics = {"events": [(e.action, e.start_ms) for e in events],
               "max_mouth": round(float(op.max()), 3), "min_ear_ratio":
               round(float(ear.min() / max(np.percentile(ear, 75), 1e-6)), 3)}
    done = sum(1 for a in challenge.sequence if any(e.action == a for e in events))
    score = done / len(challenge.sequence)
    if ok:
        return LivenessResult(True, Code.SUCCESS, 1.0, best, "", metrics)
    code = Code.ACTION_OPEN_MOUTH if missing == OPEN_MOUTH else Code.ACTION_CLOSE_EYE
    return LivenessResult(False, code, score, best, f"action {missing} missing or out of order", metrics)
