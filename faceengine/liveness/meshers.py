"""The tracking mesher each mode wants (one per capture, reused across captures via reset).

Lip and action read eyelids and inner lips: MediaPipe's refinement model (``refine_landmarks``)
tracks those much better (a full blink reads EAR ~0.1 instead of ~0.2 without it) at ~2x the
cost per frame. Light and silent use the whole face's shape and skin only.
"""
from __future__ import annotations

from ..detect import FaceMesher

REFINED_MODES = ("lip", "action")


def tracking_mesher(mode: str) -> FaceMesher:
    """A new single-face tracking mesher configured for ``mode`` (light|lip|action|silent)."""
    if mode not in ("light", "lip", "action", "silent"):
        raise ValueError(f"unknown liveness mode {mode!r}")
    return FaceMesher(max_faces=1, static=False, refine_landmarks=mode in REFINED_MODES)
