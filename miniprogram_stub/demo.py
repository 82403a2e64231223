"""A verification session against the service `make run` started, end to end, in one command:

    make demo        (or: .venv/bin/python -m miniprogram_stub.demo)
    make demo MODE=lip                    the paced digit mode (each digit read as it appears)
    make demo ATTACK=photo                a still photo (light), or with MODE=lip:
    make demo MODE=lip ATTACK=unrelated   the lips read the digits, the sound is unrelated speech

The merchant's backend (the official tencentcloud SDK, the demo merchant's keys) calls DetectAuth for
the demo person enrolled by `make run` (Grace Hopper, from matplotlib's sample photo); the Python
mini-program signs in through the WeChat emulator, gives consent, fetches the light challenge and
uploads a capture; the merchant pulls the result with GetDetectInfoEnhanced. There is no camera here:
the capture is synthesised from the same photo with the screen's colours reflected by the face
(capture_synth/liveness.py), as the tests do. ``--attack photo`` sends a still photo instead, which the
light check must refuse. ``--mode lip`` reads the paced digit challenge instead: the photo's mouth
opens for each digit a moment after it appears, with a voiced WAV that follows the mouth
(capture_synth/lip.py; not speech, but timed like it); ``--attack unrelated`` sends running speech
that does not follow the digits, which the digit check must refuse.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from wx_backend.devrun import DEMO_ID_CARD, DEMO_NAME, demo_photo_path

ROOT = Path(__file__).resolve().parent.parent


def _seeded() -> dict:
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "demo", "seed"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _jpeg(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        raise RuntimeError("cannot encode a frame")
    return buf.tobytes()


def _portrait():
    from PIL import Image

    from capture_synth import liveness as synth
    from faceengine.detect import FaceMesher

    rgb = np.asarray(Image.open(demo_photo_path()).convert("RGB"))
    mesher = FaceMesher(max_faces=1, static=True)
    try:
        return synth.Portrait.from_photo(rgb, mesher)
    finally:
        mesher.close()


def _light_capture(challenge: dict, attack: str, seed: int) -> list[tuple[float, bytes]]:
    from capture_synth import liveness as synth
    from faceengine.liveness.challenge import LightChallenge

    portrait, rng = _portrait(), random.Random(seed)
    shown = LightChallenge.from_json(challenge)
    if attack == "photo":
        frames = synth.photo_attack(portrait, rng, duration_ms=shown.duration_ms + 300)
    else:
        frames = synth.light_capture([portrait], shown, synth.genuine_light_params(rng), rng)
    return [(f.timestamp_ms, _jpeg(f.image_rgb)) for f in frames]


def _lip_capture(challenge: dict, attack: str, seed: int) -> tuple[list[tuple[float, bytes]], bytes]:
    from capture_synth import lip as talking

    portrait, rng = _portrait(), random.Random(seed)
    reading = talking.Reading.following(challenge, rng)
    if attack == "photo":
        frames = talking.lip_capture(portrait, talking.Reading((), reading.duration_ms), rng)
    else:
        frames = talking.lip_capture(portrait, reading, rng)
    voice = talking.Reading.running(reading.duration_ms, rng) if attack == "unrelated" else reading
    wav = talking.wav_bytes(talking.voiced_audio(voice, rng))
    return [(f.timestamp_ms, _jpeg(f.image_rgb)) for f in frames], wav


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m miniprogram_stub.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", default="127.0.0.1:8000", help="host:port of the service")
    parser.add_argument("--emulator", default="http://127.0.0.1:8001", help="the WeChat emulator")
    parser.add_argument("--mode", choices=("light", "lip"), default="light",
                        help="the rule's liveness mode: light (colours) or lip (paced digits)")
    parser.add_argument("--attack", choices=("none", "photo", "unrelated"), default="none",
                        help="send a still photo, or (lip) unrelated speech, instead of a live capture")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.attack == "unrelated" and args.mode != "lip":
        parser.error("--attack unrelated is an attack on the digit mode: add --mode lip")

    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.faceid.v20180301 import faceid_client, models

    from wx_backend.settings import load_settings

    from .client import MiniProgramClient
    from .verify_client import VerifyFlow

    demo = _seeded()
    rule = next(r["rule_id"] for r in demo["rules"] if r["channel"] == "miniprogram"
                and r["liveness_mode"] == args.mode)
    cloud = faceid_client.FaceidClient(
        credential.Credential(demo["secret_id"], demo["secret_key"]), "",
        ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=args.service)))

    req = models.DetectAuthRequest()
    req.RuleId, req.IdCard, req.Name, req.Extra = rule, DEMO_ID_CARD, DEMO_NAME, "demo"
    token = cloud.DetectAuth(req).BizToken
    print(f"1. merchant backend: DetectAuth(RuleId={rule}) -> BizToken {token[:4]}…")

    mp = MiniProgramClient(api_base=f"http://{args.service}", emulator_base=args.emulator,
                           appid=load_settings().mp_appid, user="demo-user")
    mp.login()
    print("2. mini-program: wx.login via the emulator, POST /api/mp/login -> session token")
    flow = VerifyFlow(mp, token)
    flow.consent()
    ch = flow.challenge()
    spec = ch["challenge"]
    if args.mode == "light":
        print(f"3. consent given; challenge: {len(spec['colors'])} colours, {spec['slot_ms']} ms each")
        frames, wav = _light_capture(spec, args.attack, args.seed), None
    else:
        print(f"3. consent given; challenge: {len(spec['code'])} digits, each shown alone at "
              f"{', '.join(str(t) for t in spec['show_ms'])} ms; capture {spec['duration_ms']} ms")
        frames, wav = _lip_capture(spec, args.attack, args.seed)
    verdict = flow.send_frames(ch["nonce"], frames, audio_wav=wav)
    what = {"photo": "a still photo", "unrelated": "lips with unrelated speech"}.get(args.attack, "a live capture")
    sound = " + WAV" if wav else ""
    print(f"4. uploaded {len(frames)} frames{sound} of {what} -> passed={verdict['passed']} "
          f"code={verdict['code']} ({verdict.get('message', '')})")

    pull = models.GetDetectInfoEnhancedRequest()
    pull.BizToken, pull.RuleId, pull.InfoType = token, rule, "0"
    text = cloud.GetDetectInfoEnhanced(pull).Text
    print(f"5. merchant backend: GetDetectInfoEnhanced -> ErrCode={text.ErrCode} ErrMsg={text.ErrMsg} "
          f"Sim={text.Sim} LiveStatus={text.LiveStatus}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
