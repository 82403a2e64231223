"""Liveness by mode: the per-process resources of the four checks and one call that runs a mode.

    kit = LivenessKit(engine, pad_model_path)          # once per worker, after the models load
    result = verify_liveness(kit, "light", challenge_json, frames, audio=None)

``LivenessKit`` holds a tracking mesher per mesh configuration (lip and action read eyelids and
inner lips, which only the refined mesh places well; light and silent take the cheaper plain
mesh), the same-person check on the engine's own embedder (``EngineIdentity``) and the optional
presentation-attack model. A capture is one tracking sequence on a mesher, so captures are
serialised by the kit's lock.
"""
from __future__ import annotations

import random
import threading
from pathlib import Path

from . import challenge as fc
from .action import verify_action
from .capture import Audio
from .identity import EngineIdentity
from .light import verify_light
from .lip import LipOptions, verify_lip
from .meshers import REFINED_MODES, tracking_mesher
from .silent import verify_silent
from .types import Frame, LivenessResult

MODES = ("light", "lip", "action", "silent")


class LivenessKit:
    """Per-process liveness resources on a loaded face engine (see the module docstring)."""

    def __init__(self, engine, pad_model_path: str | Path = ""):
        by_refinement: dict[bool, object] = {}   # one mesher per configuration, shared by its modes
        self.meshers = {}
        for mode in MODES:
            refined = mode in REFINED_MODES
            if refined not in by_refinement:
                by_refinement[refined] = tracking_mesher(mode)
            self.meshers[mode] = by_refinement[refined]
        self.identity = EngineIdentity(engine)
        self.pad_model = None
        if pad_model_path:      # the operator's presentation-attack model for the silent mode
            from .pad_model import PadModel, PadModelOptions
            self.pad_model = PadModel(PadModelOptions(Path(pad_model_path)))
        self.lock = threading.Lock()


def verify_liveness(kit: LivenessKit, mode: str, challenge: dict, frames: list[Frame],
                    audio: Audio | None = None, *, lip_options: LipOptions | None = None) -> LivenessResult:
    """The mode's check on one capture. ``challenge``: the issued challenge's JSON ({} for silent)."""
    if mode not in MODES:
        raise ValueError(f"unknown liveness mode {mode!r}")
    mesher = kit.meshers[mode]
    with kit.lock:
        if mode == "light":
            return verify_light(frames, fc.LightChallenge.from_json(challenge), mesher=mesher,
                                identity=kit.identity)
        if mode == "lip":
            return verify_lip(frames, fc.LipChallenge.from_json(challenge), mesher=mesher,
                              audio=audio, identity=kit.identity, options=lip_options or LipOptions())
        if mode == "action":
            return verify_action(frames, fc.ActionChallenge.from_json(challenge), mesher=mesher,
                                 identity=kit.identity)
        return verify_silent(frames, mesher=mesher, pad_model=kit.pad_model, identity=kit.identity)


def new_challenge(mode: str, rng: random.Random | None = None) -> dict:
    """A fresh random challenge's JSON for ``mode`` ({} for silent, which has none)."""
    rng = rng or random.SystemRandom()
    if mode == "light":
        return fc.new_light_challenge(rng).to_json()
    if mode == "lip":
        return fc.new_lip_challenge(rng).to_json()
    if mode == "action":
        return fc.new_action_challenge(rng).to_json()
    if mode == "silent":
        return {}
    raise ValueError(f"unknown liveness mode {mode!r}")
