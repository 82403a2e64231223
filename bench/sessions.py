"""Session latency, end to end over loopback HTTP, with the real engine:

1. native capture (mini-program client): time from the moment the capture's frames are uploaded
   (one multipart POST after the last frame) to the verdict in the response; light mode as issued
   by the server and a digit-mode reading of the issued paced challenge (each digit read as it
   appears; the capture lasts the challenge's duration_ms, ~4.5-7.5 s) with WAV;
2. ordinary H5: time from POST /video of a WebM reading the issued paced challenge (duration_ms) to
   the verdict visible in GET /status, the job going through the SQLite Huey queue to a worker
   thread that does what the worker process does.

Captures are synthesised from a real photo (capture_synth/liveness.py, capture_synth/lip.py).
Usage: .venv/bin/python bench/sessions.py [--runs 5]
"""
from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402


def _jpeg(rgb, q=88) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])[1].tobytes()


def _grace():
    import matplotlib.cbook
    from PIL import Image
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        return np.asarray(Image.open(fh).convert("RGB"))


def _stages(svc, app, payload, ch, frames) -> dict:
    """Where the server's time goes for one light capture (same work as POST /frames, in-process)."""
    from faceengine import Frame, LivenessKit, verify_liveness
    from wx_backend.pipeline import intake

    kit, engine = svc.liveness.get(), svc.engine.get()
    out = {}
    t = time.perf_counter()
    images = [intake.decode_frame(j) for _, j in payload]
    out["decode"] = time.perf_counter() - t
    decoded = [Frame(img, ts) for img, (ts, _) in zip(images, payload)]
    t = time.perf_counter()
    live = verify_liveness(kit, "light", ch["challenge"], decoded, None)
    out["liveness_with_identity"] = time.perf_counter() - t
    plain = LivenessKit.__new__(LivenessKit)
    plain.meshers, plain.identity, plain.lock, plain.pad_model = kit.meshers, None, kit.lock, None  # no identity check
    t = time.perf_counter()
    verify_liveness(plain, "light", ch["challenge"], decoded, None)
    out["liveness_without_identity"] = time.perf_counter() - t
    t = time.perf_counter()
    engine.analyse(decoded[live.best_frames[0].index].image_rgb)
    out["best_frame_template"] = time.perf_counter() - t
    return {k: round(v * 1000) for k, v in out.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import logging
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from werkzeug.serving import make_server

    from capture_synth import lip as lip_synth, liveness as liveness_synth
    from faceengine.detect import FaceMesher
    from faceengine.liveness.challenge import LightChallenge
    from miniprogram_stub.client import MiniProgramClient
    from miniprogram_stub.emulator import running_emulator
    from miniprogram_stub.verify_client import VerifyFlow
    from wx_backend import create_app, db
    from wx_backend.clock import utc_naive
    from wx_backend.merchants.models import APPROVED, Merchant, ResourcePack, Rule
    from wx_backend.registry.photo_verify import photo_template
    from wx_backend.services import EXTENSION_KEY
    from wx_backend.settings import DEV_MP_APPID, Settings
    from wx_backend.verification import sessions

    tmp = Path(tempfile.mkdtemp(prefix="wxf-bench-"))
    grace = _grace()
    mesher = FaceMesher(max_faces=1, static=True)
    portrait = liveness_synth.Portrait.from_photo(grace, mesher)

    with running_emulator() as emu:
        settings = Settings(env="testing", database_url=f"sqlite:///{tmp / 'b.db'}",
                            huey_sqlite_path=str(tmp / "huey.db"), huey_immediate=False,
                            wechat_api_base=emu.base_url, wechat_oauth_base=emu.base_url)
        app = create_app(settings)    # the engine and kit load as a worker loads them after fork
        svc = app.extensions[EXTENSION_KEY]
        with app.app_context():
            db.create_tables()
            t0 = time.perf_counter()
            engine = svc.engine.get()
            svc.liveness.get()
            load_s = time.perf_counter() - t0
            now = utc_naive(svc.clock.now())
            merchant = Merchant.create(name="bench", uscc="91000000000000000B", industry_key="finance.bank",
                                       phone="13800000000", status=APPROVED, wechat_review=APPROVED,
                                       submitted_at=now, review_deadline=now.date(),
                                       channels_granted=["miniprogram", "native_h5", "h5"])
            ResourcePack.create(merchant=merchant, product="live_verification", total=1000, remaining=1000,
                                created_at=now)
            rules = {}
            for channel, mode in (("miniprogram", "light"), ("miniprogram", "lip"), ("h5", "lip")):
                rules[(channel, mode)] = Rule.create(rule_id=f"9{len(rules)}", merchant=merchant, channel=channel,
                                                     liveness_mode=mode, created_at=now).rule_id
            t = photo_template(engine, base64.b64encode(_jpeg(grace, 92)).decode(), settings.max_image_bytes)
            svc.registry.put("11010519491231002X", "Grace Hopper", t.to_bytes(), t.model)

        def new_token(key):
            with app.app_context():
                db.database.connect(reuse_if_open=True)
                req = sessions.DetectAuthRequest(rule_id=rules[key], id_card="11010519491231002X",
                                                 name="Grace Hopper")
                return sessions.create_session(merchant, req, settings=settings, clock=svc.clock,
                                               sealer=svc.sealer).biz_token

        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"

        stop = threading.Event()

        def worker():
            huey = svc.jobs.huey
            while not stop.is_set():
                task = huey.dequeue()
                if task is None:
                    time.sleep(0.01)
                    continue
                huey.execute(task)

        threading.Thread(target=worker, daemon=True).start()

        def mp_flow(key, user):
            mp = MiniProgramClient(api_base=base, emulator_base=emu.base_url, appid=DEV_MP_APPID, user=user)
            mp.login()
            flow = VerifyFlow(mp, new_token(key))
            flow.consent()
            return flow

        results = {"engine_load_s": round(load_s, 2)}
        rng = random.Random(1)
        for label, key in (("native_light", ("miniprogram", "light")), ("native_lip", ("miniprogram", "lip"))):
            times, spans, verdicts = [], [], []
            for run in range(args.runs + 1):               # run 0 warms the caches, not counted
                flow = mp_flow(key, f"{label}{run}")
                ch = flow.challenge()
                audio = None
                if key[1] == "light":
                    frames = liveness_synth.light_capture([portrait], LightChallenge.from_json(ch["challenge"]),
                                                          liveness_synth.genuine_light_params(rng), rng)
                else:
                    reading = lip_synth.Reading.following(ch["challenge"], rng)   # duration_ms
                    frames = lip_synth.lip_capture(portrait, reading, rng)
                    audio = lip_synth.wav_bytes(lip_synth.voiced_audio(reading, rng))
                payload = [(f.timestamp_ms, _jpeg(f.image_rgb)) for f in frames]
                start = time.perf_counter()
                verdict = flow.send_frames(ch["nonce"], payload, audio_wav=audio)
                elapsed = time.perf_counter() - start
                if run:
                    times.append(elapsed)
                    spans.append(frames[-1].timestamp_ms)
                    verdicts.append(verdict["code"])
            if key[1] == "light":
                results["native_light_stages_ms"] = _stages(svc, app, payload, ch, frames)
            results[label] = {"upload_to_verdict_ms_median": round(1000 * statistics.median(times)),
                              "max_ms": round(1000 * max(times)), "capture_ms": round(statistics.mean(spans)),
                              "frames": len(payload), "verdicts": verdicts}

        times, spans, sizes, verdicts = [], [], [], []
        import requests
        for run in range(max(2, args.runs // 2) + 1):
            flow = mp_flow(("miniprogram", "light"), "unused")  # signs a user in; the H5 page uses OAuth
            token = new_token(("h5", "lip"))
            browser = requests.Session()
            browser.headers["User-Agent"] = "MicroMessenger/8.0.47"
            page = browser.get(f"{base}/h5/biz/{token}", allow_redirects=False)
            url = page.headers["Location"]
            for _ in range(4):
                target = url if url.startswith("http") else base + url
                resp = browser.get(target.split("#")[0].replace(settings.public_base_url, base),
                                   params={"user": f"h5user{run}"} if "authorize" in target else None,
                                   allow_redirects=False)
                if resp.status_code != 302:
                    break
                url = resp.headers["Location"]
            browser.post(f"{base}/api/biz/{token}/consent", json={"agree": True, "version": "2026-11-v1"})
            ch = browser.get(f"{base}/api/biz/{token}/challenge").json()
            reading = lip_synth.Reading.following(ch["challenge"], rng)   # duration_ms
            frames = lip_synth.lip_capture(portrait, reading, rng)
            video = lip_synth.webm_bytes(frames, lip_synth.voiced_audio(reading, rng))
            start = time.perf_counter()
            accepted = browser.post(f"{base}/api/biz/{token}/video", data={"nonce": ch["nonce"]},
                                    files={"video": ("capture.webm", video, "video/webm")})
            assert accepted.status_code == 202, accepted.text
            while True:
                status = browser.get(f"{base}/api/biz/{token}/status").json()
                if status["state"] != "processing":
                    break
                time.sleep(0.02)
            elapsed = time.perf_counter() - start
            if run:
                times.append(elapsed)
                spans.append(frames[-1].timestamp_ms)
                sizes.append(len(video))
                verdicts.append(status["last_attempt"]["code"])
        results["h5_video_lip"] = {"upload_to_verdict_ms_median": round(1000 * statistics.median(times)),
                                   "max_ms": round(1000 * max(times)), "video_ms": round(statistics.mean(spans)),
                                   "video_bytes": round(statistics.mean(sizes)), "verdicts": verdicts}
        stop.set()
        server.shutdown()
    print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
