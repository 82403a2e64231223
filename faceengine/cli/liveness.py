"""Replay a recorded liveness capture through one check and print the verdict as JSON.

    python -m faceengine liveness --mode light|lip|action|silent --challenge JSON INPUT [--audio WAV]
        [--identity [--embedder NAME]] [--pad-model ONNX]

INPUT is a video file or a folder of JPEG frames named <timestamp_ms>.jpg (time since the
challenge started). Challenge JSON: {"colors": ["#RRGGBB", ...], "slot_ms": N} (light),
{"code": "4827"} or, paced, {"code": "4827", "show_ms": [760, 1930, 2780, 4120]} (lip: when each
digit appeared), {"sequence": "1,2"} (action), {} (silent).
Prints {"passed": bool, "code": ..., "score": ..., "best_frame_ms": ...}; exit status 0 when
the check ran (whatever the verdict), 2 when the input could not be used.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ..errors import FaceEngineError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", required=True, choices=["light", "lip", "action", "silent"])
    parser.add_argument("--challenge", default="{}", help="challenge JSON (see module doc)")
    parser.add_argument("--audio", type=Path, help="16 kHz mono WAV (lip mode); default: the video's track")
    parser.add_argument("--identity", action="store_true",
                        help="also check the same person, as the service does (loads the face engine)")
    parser.add_argument("--embedder", default="mobilefacenet", choices=["mobilefacenet", "dlib", "fused"],
                        help="the face engine's embedder for --identity (default: %(default)s, the service's)")
    parser.add_argument("--pad-model", type=Path, help="MiniFASNet-style ONNX for silent mode")
    parser.add_argument("input", type=Path, help="video file or folder of <timestamp_ms>.jpg")


def _load(args):
    from ..liveness import capture

    if args.input.is_dir():
        frames = capture.read_frame_folder(args.input)
        audio = None
    else:
        frames = capture.read_video(args.input)
        audio = capture.read_video_audio(args.input) if args.mode == "lip" else None
    if args.audio is not None:
        audio = capture.read_wav(args.audio)
    return frames, audio


def run(args: argparse.Namespace) -> int:
    from ..engine import EngineOptions, FaceEngine
    from ..liveness import (ActionChallenge, EngineIdentity, LightChallenge, LipChallenge,
                            tracking_mesher, verify_action, verify_light, verify_lip,
                            verify_silent)
    from ..liveness.pad_model import PadModel, PadModelOptions

    try:
        challenge = json.loads(args.challenge)
        frames, audio = _load(args)
        mesher = tracking_mesher(args.mode)
        identity = EngineIdentity(FaceEngine(EngineOptions(embedder=args.embedder)).load()) \
            if args.identity else None
        if args.mode == "light":
            result = verify_light(frames, LightChallenge.from_json(challenge), mesher=mesher,
                                  identity=identity)
        elif args.mode == "lip":
            result = verify_lip(frames, LipChallenge.from_json(challenge), mesher=mesher,
                                audio=audio, identity=identity)
        elif args.mode == "action":
            result = verify_action(frames, ActionChallenge.from_json(challenge), mesher=mesher,
                                   identity=identity)
        else:
            pad = PadModel(PadModelOptions(args.pad_model)) if args.pad_model else None
            result = verify_silent(frames, mesher=mesher, pad_model=pad, identity=identity)
    except (ValueError, KeyError, TypeError) as exc:
        print(json.dumps({"error": "BadChallenge", "message": str(exc)}))
        return 2
    except FaceEngineError as exc:
        print(json.dumps({"error": exc.code, "message": str(exc)}))
        return 2
    print(json.dumps({"passed": result.passed, "code": result.code, "score": round(result.score, 4),
                      "best_frame_ms": result.best_frame_ms}))
    return 0
