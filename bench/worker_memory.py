"""Do the gunicorn workers return to their warm size after large requests? (issue 17: worker RSS after 1,000
mixed requests, large captures included, <= 1.2x its warm size)

Starts gunicorn as bench/api_load.py does (a throw-away SQLite database with a merchant and Grace Hopper
enrolled, gunicorn.conf.py, post_worker_init loading the models), warms it with ordinary traffic (small
photos, GetLiveCode, 640x480 captures, each refused input) and reads each worker's RSS: the warm size.
Then the large kinds a few times (RSS printed), then ``--requests`` requests from 4 client threads in
rounds of 100, each worker's RSS after every round, and the final/warm ratio per worker.

Each round of 100 holds (in a shuffled order, the same every run):

    55  ImageRecognitionV2, grace_hopper.jpg (512x600, 80 KB of base64)
    10  ImageRecognitionV2, a phone photo near the 3 MB limit (4000x4690 px, 12 MB of RGB decoded)
     8  GetLiveCode
    10  LivenessCompare SILENT, 5 s of a face at 640x480 (WebM)
     3  LivenessRecognition LIP, 16 s of 1080p at 30 fps with 16 s of sound (WebM): 225 frames kept
     1  LivenessCompare SILENT, the largest video the limits admit: 3840x2160 at 60 fps for 16 s
        (900 frames of 4K decoded, 225 kept)
    13  refused: VideoBase64 over 8 MB, a body over MAX_REQUEST_BYTES, a JPEG header claiming
        65000x65000, half a JPEG with an end marker, broken base64, a body that is not JSON

The videos are a still face (capture_synth.hostile.static_webm of grace_hopper.jpg): liveness may refuse
them, but every frame is decoded, scaled, and analysed as any capture's would be. Requests are plain
TC3-signed HTTP (the official SDK cannot send the malformed ones). Generated videos are cached in
var/bench-cache/.

    .venv/bin/python bench/worker_memory.py                       # 1,000 requests, gunicorn.conf.py
    .venv/bin/python bench/worker_memory.py --requests 300 --config deploy/gunicorn.conf.py

RSS is /proc/<pid>/status VmRSS of each worker (the master's children), read when a round has finished
(no request in flight). Not measured here: session frame uploads (they need the WeChat flow: see
bench/abuse.py).
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import requests  # noqa: E402

from bench.api_load import (GRACE_ID, GRACE_NAME, SECRET_ID, SECRET_KEY, LightSender, seed,  # noqa: E402
                            start_gunicorn)

CACHE = ROOT / "var" / "bench-cache"
MIX = (("photo_small", 55), ("photo_large", 10), ("live_code", 8), ("video_face", 10), ("video_lip_1080p", 3),
       ("video_4k_max", 1), ("hostile", 13))
HOSTILE = ("video_over_limit", "body_over_limit", "bomb_jpeg", "half_jpeg", "bad_base64", "not_json")


# -- media ------------------------------------------------------------------------------------------
def _cached(name: str, make) -> bytes:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / name
    if not path.exists():
        print(json.dumps({"generating": name}), flush=True)
        path.write_bytes(make())
    return path.read_bytes()


def grace() -> tuple[bytes, np.ndarray]:
    import matplotlib.cbook
    from PIL import Image
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        raw = fh.read()
    return raw, np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))


def phone_photo(rgb: np.ndarray, max_b64: int) -> bytes:
    """Grace Hopper at 4000x4690 as the largest-quality JPEG whose base64 fits ``max_b64``."""
    from PIL import Image
    big = Image.fromarray(rgb).resize((4000, 4690), Image.LANCZOS)
    for quality in (95, 92, 88, 85, 80, 75, 70, 60, 50):
        buf = io.BytesIO()
        big.save(buf, format="JPEG", quality=quality)
        if len(buf.getvalue()) * 4 / 3 + 4 <= max_b64:
            return buf.getvalue()
    raise SystemExit("cannot fit the phone photo under the limit")


def media(max_image_b64: int, max_video_b64: int) -> dict[str, str]:
    from capture_synth.hostile import bomb_header_jpeg, half_with_end_marker, static_webm

    raw, rgb = grace()
    b64 = lambda data: base64.b64encode(data).decode("ascii")  # noqa: E731
    face_640 = _cached("mem-face-640x480-5s.webm", lambda: static_webm((640, 480), 15, 5, image_rgb=rgb,
                                                                        bit_rate=300_000))
    lip_1080 = _cached("mem-face-1080p-30fps-16s-audio.webm",
                       lambda: static_webm((1920, 1080), 30, 16, audio_s=16, image_rgb=rgb, bit_rate=200_000))
    # The face on a flat 4K canvas: a whole-frame picture would not fit 8 MB of base64 at 60 fps.
    canvas = np.full((2160, 3840, 3), 120, np.uint8)
    canvas[780:780 + rgb.shape[0], 1664:1664 + rgb.shape[1]] = rgb
    max_4k = _cached("mem-face-4k-60fps-16s.webm", lambda: static_webm((3840, 2160), 60, 16, image_rgb=canvas))
    out = {"photo_small": b64(raw), "photo_large": b64(_cached("mem-phone-photo.jpg",
                                                               lambda: phone_photo(rgb, max_image_b64))),
           "video_face": b64(face_640), "video_lip_1080p": b64(lip_1080), "video_4k_max": b64(max_4k),
           "bomb_jpeg": b64(bomb_header_jpeg()), "half_jpeg": b64(half_with_end_marker(raw))}
    for name in ("video_face", "video_lip_1080p", "video_4k_max", "photo_large"):
        if len(out[name]) > (max_video_b64 if name.startswith("video") else max_image_b64):
            raise SystemExit(f"{name} is over its limit")
    return out


# -- requests ---------------------------------------------------------------------------------------
class Client:
    def __init__(self, endpoint: str, files: dict[str, str], max_request_bytes: int, max_video_b64: int):
        self.endpoint, self.files = endpoint, files
        self.max_request_bytes, self.max_video_b64 = max_request_bytes, max_video_b64
        self.serial = iter(range(10**9))
        self.signer = LightSender(endpoint, SECRET_ID, SECRET_KEY)     # its TC3 headers only, sent by requests

    def post(self, action: str, body: bytes) -> str:
        try:
            r = requests.post(f"http://{self.endpoint}/", data=body,
                              headers=self.signer.headers(action, body), timeout=300)
        except requests.RequestException as exc:   # the server may close on a body over its limit
            return type(exc).__name__
        if r.status_code != 200:
            return f"HTTP {r.status_code}"
        resp = r.json()["Response"]
        return resp.get("Result") or resp.get("Error", {}).get("Code") or "Success"

    def call(self, action: str, params: dict) -> str:
        # One body many times a second would carry one signature, which the gateway runs once (replays):
        # ImageRecognitionV2 has Extra for that; for the others the JSON's spacing differs instead.
        serial = next(self.serial)
        if action == "ImageRecognitionV2":
            return self.post(action, json.dumps(dict(params, Extra=f"{serial:x}")).encode())
        return self.post(action, (json.dumps(params) + " " * (serial % 4096)).encode())

    def live_code(self) -> str:
        r = requests.post(f"http://{self.endpoint}/", data=b"{}",
                          headers=self.signer.headers("GetLiveCode", b"{}"), timeout=60)
        return r.json()["Response"]["LiveCode"]

    def run(self, kind: str) -> str:
        f, person = self.files, {"IdCard": GRACE_ID, "Name": GRACE_NAME}
        if kind in ("photo_small", "photo_large"):
            return self.call("ImageRecognitionV2", {**person, "ImageBase64": f[kind]})
        if kind == "live_code":
            return "Success" if self.live_code() else "no code"
        if kind in ("video_face", "video_4k_max"):
            return self.call("LivenessCompare", {"LivenessType": "SILENT", "VideoBase64": f[kind],
                                                 "ImageBase64": f["photo_small"]})
        if kind == "video_lip_1080p":
            return self.call("LivenessRecognition", {**person, "LivenessType": "LIP",
                                                     "ValidateData": self.live_code(), "VideoBase64": f[kind]})
        probe = kind
        if probe == "video_over_limit":
            filler = "A" * (self.max_video_b64 + 4)
            return self.call("LivenessCompare", {"LivenessType": "SILENT", "VideoBase64": filler,
                                                 "ImageBase64": f["photo_small"]})
        if probe == "body_over_limit":
            return self.post("ImageRecognitionV2", b"{" + b" " * self.max_request_bytes + b"}")
        if probe == "not_json":
            return self.post("ImageRecognitionV2", b"\x89PNG not json %d" % next(self.serial) * 1000)
        image = {"bomb_jpeg": f["bomb_jpeg"], "half_jpeg": f["half_jpeg"],
                 "bad_base64": f["photo_small"][:-3] + "*=="}[probe]
        return self.call("ImageRecognitionV2", {**person, "ImageBase64": image})


# -- workers' memory --------------------------------------------------------------------------------
def workers(master: int) -> list[int]:
    try:
        return sorted(int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split())
    except OSError:
        return []


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def sample(master: int) -> dict[str, float]:
    return {str(pid): rss_mb(pid) for pid in workers(master)}


def schedule(n: int, seed_: int = 17) -> list[str]:
    rng = random.Random(seed_)
    kinds: list[str] = []
    while len(kinds) < n:
        block = [rng.choice(HOSTILE) if kind == "hostile" else kind for kind, count in MIX for _ in range(count)]
        rng.shuffle(block)
        kinds += block
    return kinds[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4: 2 workers x 2 threads)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the config's)")
    parser.add_argument("--config", default=str(ROOT / "gunicorn.conf.py"), help="gunicorn config file")
    args = parser.parse_args(argv)

    from wx_backend.settings import Settings
    limits = Settings()
    files = media(limits.max_image_bytes, limits.max_video_bytes)
    print(json.dumps({"cpus": os.cpu_count(), "loadavg": os.getloadavg(), "config": os.path.relpath(args.config, ROOT),
                      "env": {k: os.environ[k] for k in os.environ if k.startswith("MALLOC_")},
                      "media_kb": {k: len(v) * 3 // 4 // 1024 for k, v in files.items()}}), flush=True)

    tmpdir = tempfile.TemporaryDirectory(prefix="wxf-mem-")
    proc = None
    try:
        tmp = Path(tmpdir.name)
        db_url = f"sqlite:///{tmp / 'bench.db'}"
        env = {"WXF_ENV": "testing", "DATABASE_URL": db_url, "HUEY_SQLITE_PATH": str(tmp / "huey.db")}
        seed(env)
        add_packs(db_url, tmp)
        proc, endpoint = start_gunicorn(tmp, env, "app:app", args.config, args.workers, "gunicorn.log")
        client = Client(endpoint, files, limits.max_request_bytes, limits.max_video_bytes)
        # Warm: ordinary traffic, every kind several times (spread over the workers by the clients'
        # concurrency): the size a worker should come back to. Then the large kinds, a few times.
        ordinary = [kind for kind in ("photo_small", "live_code", "video_face") for _ in range(6)] + list(HOSTILE)
        large = [kind for kind in ("photo_large", "video_lip_1080p", "video_4k_max") for _ in range(3)]
        codes: dict[str, dict[str, int]] = {}

        def one(kind: str) -> None:
            code = client.run(kind)
            per = codes.setdefault(kind, {})
            per[code] = per.get(code, 0) + 1

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(one, ordinary))
            time.sleep(1.0)
            warm = sample(proc.pid)
            print(json.dumps({"warm_rss_mb": warm, "elapsed_s": round(time.monotonic() - started)}), flush=True)
            list(pool.map(one, large))
        time.sleep(1.0)
        print(json.dumps({"after_large_rss_mb": sample(proc.pid), "warm_answers": codes,
                          "elapsed_s": round(time.monotonic() - started)}), flush=True)
        codes.clear()
        kinds = schedule(args.requests)
        done = 0
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            for start in range(0, len(kinds), 100):
                batch = kinds[start:start + 100]
                list(pool.map(one, batch))
                done += len(batch)
                time.sleep(1.0)     # the last answers' post_request hooks run after the client has them
                print(json.dumps({"requests": done, "rss_mb": sample(proc.pid),
                                  "elapsed_s": round(time.monotonic() - started)}), flush=True)
        time.sleep(2.0)
        final = sample(proc.pid)
        ratios = {pid: round(final[pid] / warm[pid], 3) for pid in final if pid in warm}
        print(json.dumps({"answers": codes}, ensure_ascii=False))
        print(json.dumps({"warm_rss_mb": warm, "final_rss_mb": final, "final_over_warm": ratios,
                          "replaced_workers": sorted(set(warm) ^ set(final)),
                          "max_ratio": max(ratios.values()) if ratios else None, "target": 1.2}), flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
        tmpdir.cleanup()
    return 0


def add_packs(db_url: str, tmp: Path) -> None:
    """The liveness products' packs for the merchant api_load.seed made (it seeds photo_verification)."""
    import datetime as dt

    from wx_backend import create_app, db
    from wx_backend.merchants.models import ApiCredential, ResourcePack
    from wx_backend.settings import Settings

    app = create_app(Settings(env="testing", database_url=db_url, huey_sqlite_path=str(tmp / "huey.db")))
    with app.app_context(), db.database.connection_context():
        merchant = ApiCredential.get(ApiCredential.secret_id == SECRET_ID).merchant
        for product in ("liveness", "live_verification"):
            ResourcePack.create(merchant=merchant, product=product, total=10**6, remaining=10**6,
                                created_at=dt.datetime.utcnow())


if __name__ == "__main__":
    sys.exit(main())
