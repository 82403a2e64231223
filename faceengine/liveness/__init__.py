"""Liveness: is a live person in front of the camera now? (DESIGN.md section 3)

Public API (frames are ``Frame(image_rgb, timestamp_ms)``, time since the challenge started):

- ``verify_light(frames, LightChallenge, *, mesher, identity=None, options)``
- ``verify_lip(frames, LipChallenge, *, mesher, audio=None, recogniser=None, identity=None, options)``
- ``verify_action(frames, ActionChallenge, *, mesher, identity=None, options)``
- ``verify_silent(frames, *, mesher, pad_model=None, identity=None, options)``
- ``new_light_challenge(rng)``, ``new_lip_challenge(rng)``, ``new_action_challenge(rng)``

Each returns a frozen ``LivenessResult``. ``mesher`` is a caller-owned tracking mesher, made
once per worker by ``tracking_mesher(mode)`` (lip and action need the refined eyelids and lips);
``identity`` an optional
``FaceIdentity`` that makes the same-person check robust: ``EngineIdentity(engine)`` on a loaded
face engine's embedder (the service's), or ``DlibIdentity()`` (dlib's own network, slower).
"""
from .challenge import (ActionChallenge, LightChallenge, LipChallenge, new_action_challenge,
                        new_light_challenge, new_lip_challenge)
from .action import ActionOptions, verify_action
from .capture import Audio
from .identity import DlibIdentity, EngineIdentity, FaceIdentity, identity_min_sim
from .light import LightOptions, verify_light
from .lip import LipOptions, verify_lip
from .meshers import tracking_mesher
from .pad_model import PadModel, PadModelOptions
from .silent import SilentOptions, verify_silent
from .speech import SpeechRecogniser
from .track import TrackOptions
from .types import BestFrame, Code, Frame, LivenessResult

__all__ = [
    "ActionChallenge", "ActionOptions", "Audio", "BestFrame", "Code", "DlibIdentity",
    "EngineIdentity", "FaceIdentity", "Frame", "LightChallenge", "LightOptions", "LipChallenge", "LipOptions",
    "LivenessResult", "PadModel", "PadModelOptions", "SilentOptions", "SpeechRecogniser",
    "TrackOptions", "tracking_mesher", "new_action_challenge", "new_light_challenge", "new_lip_challenge",
    "identity_min_sim", "verify_action", "verify_light", "verify_lip", "verify_silent",
]
