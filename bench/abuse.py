"""Hostile input against the real service: one row per probe of issue 14, with what it costs.

Starts the service as `make run` does (SQLite in a temporary var dir, the WeChat emulator, the job
worker, gunicorn with gunicorn.conf.py, the demo merchant seeded by the operator CLI), adds a second
merchant whose GetLiveCode calls run as an open-loop background load during every probe, then runs
each probe and prints one JSON line per probe:

    probe             name of the row in the issue's table
    duration_s        the hostile request's wall time (for floods: the slowest one)
    web_peak_mb       peak RSS of the gunicorn worker that grew most, and its growth (web_extra_mb)
    job_peak_mb       the same for the job worker (videos of ordinary H5 are judged there)
    livecode_p99_ms   another merchant's GetLiveCode p99 (and max) while the probe ran
    outcome           what the service answered / did (codes, charges, rows, headers ...)

Peak RSS is the kernel's high-water mark (VmHWM), reset before each probe through
/proc/<pid>/clear_refs, and sampled every 20 ms besides (a worker killed by gunicorn's timeout loses
its VmHWM). Figures depend on the machine's load: the load average is printed with them.

    .venv/bin/python bench/abuse.py                       # every probe
    .venv/bin/python bench/abuse.py --probes frames_bogus_nonce,webm_1080p_video
    .venv/bin/python bench/abuse.py --flood-seconds 40    # the 4-client flood as long as the issue's

Generated media (the 1080p WebM takes ~30 s to encode) are cached in var/bench-cache/.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import requests  # noqa: E402

from bench.api_load import child_pids  # noqa: E402
from capture_synth.hostile import bomb_header_jpeg, half_with_end_marker  # noqa: E402

CACHE = ROOT / "var" / "bench-cache"
GRACE_ID, GRACE_NAME = "11010519491231002X", "Grace Hopper"
WECHAT_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.47 NetType/WIFI"
ATTACKER_PHONE = "13912345678"


# -- processes and memory ----------------------------------------------------------------------
def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _loadavg() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


# -- the service, started as `make run` starts it ----------------------------------------------
class Service:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port, self.emulator_port = _free_port(), _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.endpoint = f"127.0.0.1:{self.port}"
        self.emulator = f"http://127.0.0.1:{self.emulator_port}"
        self.db_path = tmp / "wxfaceid.db"
        self.env = dict(os.environ, WXF_ENV="development", DATABASE_URL=f"sqlite:///{self.db_path}",
                        HUEY_SQLITE_PATH=str(tmp / "huey.db"), EMULATOR_PORT=str(self.emulator_port),
                        WECHAT_API_BASE=self.emulator, WECHAT_OAUTH_BASE=self.emulator,
                        PUBLIC_BASE_URL=self.base)
        self.procs: list[subprocess.Popen] = []
        self.gunicorn: subprocess.Popen | None = None
        self.jobs: subprocess.Popen | None = None
        self.demo: dict = {}
        self.other: tuple[str, str] = ("", "")

    def flask(self, *args: str, stdin: str | None = None) -> dict:
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=self.env,
                             capture_output=True, text=True, input=stdin)
        if out.returncode != 0:
            raise SystemExit(f"flask {' '.join(args)} failed: {out.stderr[-2000:]}")
        return json.loads(out.stdout)

    def seed(self) -> None:
        from wx_backend.devrun import demo_photo_path
        from wx_backend.merchants.seed import licence_png

        self.flask("init-db")
        self.demo = self.flask("demo", "seed")
        self.flask("authority", "add", "--id-card", GRACE_ID, "--name", GRACE_NAME, "--photo", demo_photo_path())
        licence = self.tmp / "licence.png"
        licence.write_bytes(licence_png())
        applied = self.flask("merchant", "apply", "--name", "旁观商户有限公司", "--uscc", _uscc(60000001),
                             "--industry", "finance.bank", "--channels", "api", "--licence", str(licence),
                             "--phone", "13800000001")
        approved = self.flask("merchant", "review", str(applied["id"]), "--approve")
        # The observer's own QPS limit is not what is measured: a stalled server's backlog arrives at once.
        self.flask("merchant", "set-qps", str(applied["id"]), "1000")
        self.other = (approved["secret_id"], approved["secret_key"])

    def start(self) -> None:
        from wx_backend.settings import Settings
        d = Settings()

        def spawn(name: str, *cmd: str) -> subprocess.Popen:
            log = open(self.tmp / f"{name}.log", "wb")
            proc = subprocess.Popen([sys.executable, *cmd], cwd=ROOT, env=self.env, stdout=log, stderr=log)
            self.procs.append(proc)
            return proc

        spawn("emulator", "-m", "miniprogram_stub.emulator", "--host", "127.0.0.1", "--port",
              str(self.emulator_port), "--mp-app", f"{d.mp_appid}:{d.mp_secret}",
              "--oa-app", f"{d.oa_appid}:{d.oa_secret}", "--per-user-per-minute", "100000")
        self.jobs = spawn("jobs", "-m", "wx_backend.jobs", "worker")
        self.gunicorn = spawn("gunicorn", "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                              "-b", self.endpoint, "--access-logfile", "/dev/null", "app:app")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                r = requests.get(f"{self.base}/healthz", timeout=2)
                if r.status_code == 200 and r.json().get("engine") == "ready":
                    # Every worker warms in post_worker_init; give the second one its moment.
                    if len(self.web_workers()) >= 2 or time.monotonic() > deadline - 150:
                        return
            except requests.RequestException:
                pass
            if self.gunicorn.poll() is not None:
                break
            time.sleep(0.5)
        raise SystemExit("gunicorn did not become ready:\n" + (self.tmp / "gunicorn.log").read_text()[-3000:])

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()

    def web_workers(self) -> list[int]:
        return child_pids(self.gunicorn.pid) if self.gunicorn else []

    def sql(self, query: str, *args) -> list[tuple]:
        with sqlite3.connect(self.db_path, timeout=30) as conn:
            return conn.execute(query, args).fetchall()

    def count(self, table: str, where: str = "1=1", *args) -> int:
        return self.sql(f"SELECT count(*) FROM {table} WHERE {where}", *args)[0][0]


def sdk(endpoint: str, keys: tuple[str, str], timeout: int = 120):
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.faceid.v20180301 import faceid_client

    http = HttpProfile(protocol="http", endpoint=endpoint)
    http.reqTimeout = timeout
    return faceid_client.FaceidClient(credential.Credential(*keys), "", ClientProfile(httpProfile=http))


def call(client, action: str, params: dict):
    """(Result or 'Success', the response object) or (the error code, None)."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.faceid.v20180301 import models

    req = getattr(models, f"{action}Request")()
    req.from_json_string(json.dumps(params))
    try:
        resp = getattr(client, action)(req)
    except TencentCloudSDKException as exc:
        return exc.get_code(), None
    return getattr(resp, "Result", None) or "Success", resp


# -- watching one probe: memory, and another merchant's GetLiveCode ------------------------------
class Watch:
    """Peak RSS of every web worker and of the job worker, and an open-loop GetLiveCode load."""

    def __init__(self, svc: Service, rate: float = 5.0):
        self.svc, self.rate = svc, rate
        self.stop_flag = threading.Event()
        self.base: dict[int, int] = {}
        self.peak: dict[int, int] = {}
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()

    def _pids(self) -> list[int]:
        return self.svc.web_workers() + ([self.svc.jobs.pid] if self.svc.jobs else [])

    def _sample(self) -> None:
        while not self.stop_flag.is_set():
            for pid in self._pids():
                rss = _status_kb(pid, "VmRSS")
                self.base.setdefault(pid, rss)
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
            time.sleep(0.02)

    def _load(self) -> None:
        local = threading.local()
        t0 = time.monotonic()

        def one(i: int) -> None:
            scheduled = t0 + i / self.rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if not hasattr(local, "client"):
                local.client = sdk(self.svc.endpoint, self.svc.other, timeout=60)
            code, _ = call(local.client, "GetLiveCode", {})
            with self.lock:
                self.latencies.append(time.monotonic() - scheduled)
                if code != "Success":
                    self.errors[code] = self.errors.get(code, 0) + 1

        with ThreadPoolExecutor(max_workers=32) as pool:
            i = 0
            while not self.stop_flag.is_set():
                pool.submit(one, i)
                i += 1
                time.sleep(max(0.0, t0 + i / self.rate - time.monotonic() - 0.05))

    def __enter__(self) -> "Watch":
        for pid in self._pids():
            _reset_peak(pid)
            self.base[pid] = _status_kb(pid, "VmRSS")
        self.threads = [threading.Thread(target=self._sample, daemon=True),
                        threading.Thread(target=self._load, daemon=True)]
        for t in self.threads:
            t.start()
        time.sleep(0.5)     # the load is running before the probe starts
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(0.5)
        for pid in self._pids():
            self.peak[pid] = max(self.peak.get(pid, 0), _status_kb(pid, "VmHWM"))
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=90)

    def figures(self) -> dict:
        def mb(kb: int) -> float:
            return round(kb / 1024, 1)

        job = self.svc.jobs.pid if self.svc.jobs else None
        web = {p: v for p, v in self.peak.items() if p != job}
        grew = max(web, key=lambda p: web[p] - self.base.get(p, web[p]), default=None)
        out = {}
        if grew is not None:
            out.update(web_peak_mb=mb(web[grew]), web_extra_mb=mb(web[grew] - self.base[grew]))
        if job in self.peak:
            out.update(job_peak_mb=mb(self.peak[job]), job_extra_mb=mb(self.peak[job] - self.base[job]))
        lat = sorted(self.latencies)
        if lat:
            p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
            out.update(livecode_p99_ms=round(1000 * p99), livecode_max_ms=round(1000 * lat[-1]),
                       livecode_calls=len(lat))
        if self.errors:
            out["livecode_errors"] = dict(self.errors)
        return out


# -- media ---------------------------------------------------------------------------------------
def _cached(name: str, make) -> bytes:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / name
    if not path.exists():
        path.write_bytes(make())
    return path.read_bytes()


def jpeg(rgb: np.ndarray, quality: int = 88) -> bytes:
    import cv2
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes()


def flat_jpeg(size: int = 1920) -> bytes:
    return jpeg(np.full((size, size, 3), 127, np.uint8), 90)


def webm_1080p() -> bytes:
    """~52 KB of VP8 that decodes to 600 frames of 1920x1080 (a static picture at 30 fps)."""
    from capture_synth.hostile import static_webm
    return static_webm((1920, 1080), 30, 20)


def webm_long_opus(face_rgb: np.ndarray) -> bytes:
    """5 s of a face (640x480, 15 fps VP8) with a one-hour Opus track (8 kHz mono, silence)."""
    from capture_synth.hostile import static_webm
    return static_webm((640, 480), 15, 5, audio_s=3600, image_rgb=face_rgb, bit_rate=300_000)


def grace_rgb() -> np.ndarray:
    import matplotlib.cbook
    from PIL import Image
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        return np.asarray(Image.open(fh).convert("RGB"))


def grace_b64() -> str:
    import matplotlib.cbook
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        return base64.b64encode(fh.read()).decode("ascii")


_PORTRAIT = None


def portrait():
    global _PORTRAIT
    if _PORTRAIT is None:
        from capture_synth import liveness as synth
        from faceengine.detect import FaceMesher
        mesher = FaceMesher(max_faces=1, static=True)
        try:
            _PORTRAIT = synth.Portrait.from_photo(grace_rgb(), mesher)
        finally:
            mesher.close()
    return _PORTRAIT


def light_frames(challenge: dict, seed: int) -> list[tuple[float, bytes]]:
    from capture_synth import liveness as synth
    from faceengine.liveness.challenge import LightChallenge
    rng = random.Random(seed)
    frames = synth.light_capture([portrait()], LightChallenge.from_json(challenge),
                                 synth.genuine_light_params(rng), rng)
    return [(f.timestamp_ms, jpeg(f.image_rgb)) for f in frames]


# -- clients of the service --------------------------------------------------------------------
def rule_of(svc: Service, channel: str, mode: str) -> str:
    return next(r["rule_id"] for r in svc.demo["rules"] if r["channel"] == channel and r["liveness_mode"] == mode)


def demo_client(svc: Service):
    return sdk(svc.endpoint, (svc.demo["secret_id"], svc.demo["secret_key"]))


_SESSIONS = iter(range(10**6))


def detect_auth(svc: Service, channel: str, mode: str) -> dict:
    # A distinct Extra per session: equal parameters in one second would be one signature, run once.
    code, resp = call(demo_client(svc), "DetectAuth", {"RuleId": rule_of(svc, channel, mode), "IdCard": GRACE_ID,
                                                       "Name": GRACE_NAME, "RedirectUrl": "https://m.example.com/done",
                                                       "Extra": f"abuse-{next(_SESSIONS)}"})
    if resp is None:
        raise RuntimeError(f"DetectAuth refused: {code}")
    return {"token": resp.BizToken, "url": resp.Url}


_USERS = iter(range(10**6))


def mp_flow(svc: Service, mode: str = "light"):
    """A signed-in mini-program user with consent given on a fresh session: (VerifyFlow, token)."""
    from miniprogram_stub.client import MiniProgramClient
    from miniprogram_stub.verify_client import VerifyFlow
    from wx_backend.settings import Settings

    token = detect_auth(svc, "miniprogram", mode)["token"]
    mp = MiniProgramClient(api_base=svc.base, emulator_base=svc.emulator, appid=Settings().mp_appid,
                           user=f"user{next(_USERS)}", timeout_s=300)
    mp.login()
    flow = VerifyFlow(mp, token)
    flow.consent()
    return flow, token


def post_frames(flow, nonce: str, frames: list[tuple[float, bytes]]) -> tuple[int, dict, float]:
    files = [("frames", (f"{int(t) if float(t).is_integer() else round(t, 1)}.jpg", data, "image/jpeg"))
             for t, data in frames]
    t0 = time.perf_counter()
    resp = flow.mp.post(f"/api/biz/{flow.biz_token}/frames", data={"nonce": nonce}, files=files)
    elapsed = time.perf_counter() - t0
    try:
        body = resp.json()
    except ValueError:
        body = {"text": resp.text[:200]}
    return resp.status_code, body, elapsed


def code_of(body: dict) -> str:
    if "text" in body:
        return "html" if "<" in body["text"][:50] else body["text"][:40]
    if "error" in body:
        return body["error"].get("code", "?")
    return body.get("code", "?")


def h5_session(svc: Service, mode: str):
    from tests.verification.test_h5_video_flow import WeChatBrowser

    created = detect_auth(svc, "h5", mode)
    browser = WeChatBrowser(svc.base, f"h5user{next(_USERS)}")
    page = browser.open(created["url"])
    if page.status_code != 200:
        raise SystemExit(f"H5 page answered {page.status_code}")
    browser.api("POST", f"/api/biz/{created['token']}/consent", json={"agree": True, "version": "2026-11-v1"})
    return browser, created["token"]


def console_form(http: requests.Session, url: str) -> str:
    page = http.get(url, timeout=30).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    return found.group(1) if found else ""


def tc3_headers(secret_id: str, secret_key: str, action: str, payload: bytes, host: str, timestamp: int) -> dict:
    """The headers the official SDK sends (TC3-HMAC-SHA256 over content-type and host)."""
    date = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join(["POST", "/", "", f"content-type:application/json\nhost:{host}\n", "content-type;host",
                           hashlib.sha256(payload).hexdigest()])
    scope = f"{date}/faceid/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def mac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(("TC3" + secret_key).encode(), date), "faceid"), "tc3_request")
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {"Authorization": f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, "
                             f"Signature={sig}",
            "Content-Type": "application/json", "Host": host, "X-TC-Action": action,
            "X-TC-Timestamp": str(timestamp), "X-TC-Version": "2018-03-01", "X-TC-Region": ""}


# -- the probes ----------------------------------------------------------------------------------
def probe_frames_bogus_nonce(svc: Service, args) -> dict:
    flow, _ = mp_flow(svc)
    frame = flat_jpeg()
    frames = [(i * 66.0, frame) for i in range(150)]
    with Watch(svc) as w:
        status, body, elapsed = post_frames(flow, "made-up-nonce-0000", frames)
    return {"duration_s": round(elapsed, 2), **w.figures(),
            "outcome": {"http": status, "code": code_of(body), "upload_mb": round(150 * len(frame) / 2**20, 1)}}


def probe_frames_bogus_nonce_flood(svc: Service, args) -> dict:
    frame = flat_jpeg()
    frames = [(i * 66.0, frame) for i in range(150)]
    flows = [mp_flow(svc)[0] for _ in range(4)]
    durations, codes = [], {}
    lock = threading.Lock()

    def client(flow) -> None:
        end = time.monotonic() + args.flood_seconds
        while time.monotonic() < end:
            status, body, elapsed = post_frames(flow, "made-up-nonce-0000", frames)
            with lock:
                durations.append(elapsed)
                codes[f"{status} {code_of(body)}"] = codes.get(f"{status} {code_of(body)}", 0) + 1

    with Watch(svc) as w:
        threads = [threading.Thread(target=client, args=(f,)) for f in flows]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return {"duration_s": round(max(durations), 2), **w.figures(),
            "outcome": {"clients": 4, "seconds": args.flood_seconds, "requests": len(durations),
                        "median_s": round(statistics.median(durations), 2), "answers": codes}}


def _wait_job(svc: Service, browser, token: str, timeout_s: float = 300) -> tuple[dict, float]:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        status = browser.api("GET", f"/api/biz/{token}/status").json()
        last = status.get("last_attempt") or {}
        if last.get("state") not in (None, "pending") or status.get("state") not in ("open", "processing"):
            return status, time.perf_counter() - t0
        time.sleep(0.25)
    return {"state": "timeout"}, time.perf_counter() - t0


def probe_webm_1080p_video(svc: Service, args) -> dict:
    video = _cached("bomb-1080p-600f.webm", webm_1080p)
    browser, token = h5_session(svc, "silent")
    ch = browser.api("GET", f"/api/biz/{token}/challenge").json()
    with Watch(svc) as w:
        t0 = time.perf_counter()
        resp = browser.api("POST", f"/api/biz/{token}/video", data={"nonce": ch["nonce"]},
                           files={"video": ("capture.webm", video, "video/webm")})
        upload_s = time.perf_counter() - t0
        status, job_s = (_wait_job(svc, browser, token) if resp.status_code == 202 else ({}, 0.0))
    last = status.get("last_attempt") or {}
    return {"duration_s": round(upload_s + job_s, 2), **w.figures(),
            "outcome": {"http": resp.status_code, "upload_answer_s": round(upload_s, 2),
                        "code": last.get("code") or code_of(resp.json()), "video_kb": len(video) // 1024}}


def probe_webm_1080p_compare(svc: Service, args) -> dict:
    video = _cached("bomb-1080p-600f.webm", webm_1080p)
    client = demo_client(svc)
    params = {"LivenessType": "SILENT", "VideoBase64": base64.b64encode(video).decode(), "ImageBase64": grace_b64()}
    with Watch(svc) as w:
        t0 = time.perf_counter()
        code, _ = call(client, "LivenessCompare", params)
        elapsed = time.perf_counter() - t0
    return {"duration_s": round(elapsed, 2), **w.figures(), "outcome": {"result": code}}


def probe_opus_1h_lip(svc: Service, args) -> dict:
    video = _cached("5s-video-1h-opus.webm", lambda: webm_long_opus(grace_rgb()))
    client = demo_client(svc)
    _, live = call(client, "GetLiveCode", {})
    params = {"LivenessType": "LIP", "ValidateData": live.LiveCode, "IdCard": GRACE_ID, "Name": GRACE_NAME,
              "VideoBase64": base64.b64encode(video).decode()}
    with Watch(svc) as w:
        t0 = time.perf_counter()
        code, _ = call(client, "LivenessRecognition", params)
        elapsed = time.perf_counter() - t0
    return {"duration_s": round(elapsed, 2), **w.figures(),
            "outcome": {"result": code, "video_kb": len(video) // 1024}}


def probe_double_capture(svc: Service, args) -> dict:
    flow, token = mp_flow(svc)
    first, second = flow.challenge(), flow.challenge()
    captures = [light_frames(first["challenge"], 1), light_frames(second["challenge"], 2)]
    charges_before = svc.count("charge")
    barrier = threading.Barrier(2)

    def upload(i: int):
        ch = (first, second)[i]
        barrier.wait()
        return post_frames(flow, ch["nonce"], captures[i])

    with Watch(svc) as w:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(upload, range(2)))
    return {"duration_s": round(max(r[2] for r in results), 2), **w.figures(),
            "outcome": {"answers": [f"{r[0]} {code_of(r[1])}" for r in results],
                        "charges": svc.count("charge") - charges_before}}


def probe_replay_signed_call(svc: Service, args) -> dict:
    payload = json.dumps({"IdCard": GRACE_ID, "Name": GRACE_NAME, "ImageBase64": grace_b64()}).encode()
    headers = tc3_headers(svc.demo["secret_id"], svc.demo["secret_key"], "ImageRecognitionV2", payload,
                          svc.endpoint, int(time.time()))
    charges_before = svc.count("charge")
    answers, durations = [], []
    with Watch(svc) as w:
        for i in range(5):
            t0 = time.perf_counter()
            resp = requests.post(svc.base + "/", data=payload, headers={**headers, "X-TC-TraceId": f"trace-{i}"},
                                 timeout=120)
            durations.append(time.perf_counter() - t0)
            body = resp.json()["Response"]
            answers.append(body.get("Result") or body.get("Error", {}).get("Code"))
    return {"duration_s": round(max(durations), 2), **w.figures(),
            "outcome": {"sends": 5, "answers": answers, "charges": svc.count("charge") - charges_before}}


def _login(http: requests.Session, svc: Service, user: str, password: str) -> tuple[int, float]:
    token = console_form(http, f"{svc.base}/merchant/login")
    t0 = time.perf_counter()
    resp = http.post(f"{svc.base}/merchant/login", data={"csrf_token": token, "username": user, "password": password},
                     allow_redirects=False, timeout=60)
    return resp.status_code, time.perf_counter() - t0


def probe_console_brute_force(svc: Service, args) -> dict:
    user, password = svc.demo["merchant_login"]["username"], svc.demo["merchant_login"]["password"]
    http = requests.Session()
    wrong = []
    with Watch(svc) as w:
        # Enumeration first, while this address has failures to spare: the same wrong password for the
        # real name and for names that do not exist (before the fix the latter answered ~30x faster).
        known = [_login(requests.Session(), svc, user, "wrong")[1] for _ in range(2)]
        unknown = [_login(requests.Session(), svc, f"nobody{i}", "wrong")[1] for i in range(1)]
        t0 = time.perf_counter()
        for i in range(60):
            wrong.append(_login(http, svc, user, f"wrong-{i}")[1])
        burst_s = time.perf_counter() - t0
        right_status, right_s = _login(http, svc, user, password)
    return {"duration_s": round(burst_s, 2), **w.figures(),
            "outcome": {"wrong_attempts": 60, "burst_s": round(burst_s, 2),
                        "median_wrong_ms": round(1000 * statistics.median(wrong)),
                        "right_password_after": "signed in" if right_status == 302 else f"refused ({right_status})",
                        "right_ms": round(1000 * right_s),
                        "known_user_ms": round(1000 * statistics.median(known)),
                        "unknown_user_ms": round(1000 * statistics.median(unknown)),
                        "known_vs_unknown": round(statistics.median(known) / max(1e-6, statistics.median(unknown)), 1)}}


def probe_logout_cookie(svc: Service, args) -> dict:
    user, password = svc.demo["merchant_login"]["username"], svc.demo["merchant_login"]["password"]
    http = requests.Session()
    with Watch(svc) as w:
        status, _ = _login(http, svc, user, password)
        old = dict(http.cookies)
        token = console_form(http, f"{svc.base}/merchant/")
        http.post(f"{svc.base}/merchant/logout", data={"csrf_token": token}, allow_redirects=False, timeout=30)
        t0 = time.perf_counter()
        replay = requests.get(f"{svc.base}/merchant/", cookies=old, allow_redirects=False, timeout=30)
        elapsed = time.perf_counter() - t0
    signed_in = replay.status_code == 200 and "logout" in replay.text
    return {"duration_s": round(elapsed, 2), **w.figures(),
            "outcome": {"login": status, "old_cookie_after_logout": "still signed in" if signed_in
                        else f"signed out ({replay.status_code})"}}


def _uscc(n: int) -> str:
    """A valid unified social credit code (GB 32100) with organisation code body ``n``."""
    from wx_backend.merchants import uscc
    org8 = f"{n:08d}"
    first17 = "91110108" + org8 + uscc.org_check_character(org8)
    return first17 + uscc.check_character(first17)


def probe_anonymous_applications(svc: Service, args) -> dict:
    from wx_backend.merchants.seed import licence_png
    licence = licence_png()
    text = "您的账户异常，请访问 http://evil.example/verify 处理"
    http = requests.Session()
    before = svc.count("sms_outbox", "phone = ?", ATTACKER_PHONE)
    answers = {}
    durations = []
    with Watch(svc) as w:
        for i in range(13):
            token = console_form(http, f"{svc.base}/merchant/apply")
            t0 = time.perf_counter()
            resp = http.post(f"{svc.base}/merchant/apply", allow_redirects=False, timeout=60, data={
                "csrf_token": token, "name": f"{text}{i}", "uscc": _uscc(70000000 + i),
                "industry": "finance.bank", "phone": ATTACKER_PHONE, "channels": ["api"],
                "description": "", "username": f"attacker{i}-{random.randrange(10**6)}", "password": "password-123"},
                files={"licence": ("l.png", licence, "image/png")})
            durations.append(time.perf_counter() - t0)
            answers[resp.status_code] = answers.get(resp.status_code, 0) + 1
            http = requests.Session()       # a fresh cookie each time: no session to throttle on
    rows = svc.sql("SELECT body FROM sms_outbox WHERE phone = ? ORDER BY id", ATTACKER_PHONE)[before:]
    return {"duration_s": round(max(durations), 2), **w.figures(),
            "outcome": {"applications": 13, "answers": answers, "sms_to_attacker_phone": len(rows),
                        "sms_carry_stranger_text": sum("evil.example" in r[0] for r in rows)}}


_PRODUCTION_CHECK = r"""
import json, sys
from wx_backend.settings import ConfigError
try:
    from wx_backend import create_app
    app = create_app()
except ConfigError as exc:
    print(json.dumps({"started": False, "reason": str(exc)[:200]})); sys.exit(0)
from flask.sessions import SecureCookieSessionInterface
from wx_backend.settings import DEV_SECRET_KEY
app.secret_key = DEV_SECRET_KEY   # what an attacker who read the published source signs with
cookie = SecureCookieSessionInterface().get_signing_serializer(app).dumps({"reviewer_id": 1})
from wx_backend import db
with app.app_context():
    db.create_tables()
    from wx_backend.merchants.models import Reviewer
    Reviewer.get_or_create(username="r", defaults={"password_hash": "x"})
c = app.test_client()
c.set_cookie("session", cookie, domain="localhost")
r = c.get("/review/", base_url="https://localhost")
print(json.dumps({"started": True, "forged_reviewer_cookie": r.status_code}))
"""


def probe_production_dev_secret(svc: Service, args) -> dict:
    from wx_backend.settings import DEV_DATA_KEY, DEV_SECRET_KEY
    env = dict(svc.env, WXF_ENV="production", SECRET_KEY=DEV_SECRET_KEY, DATA_KEY=DEV_DATA_KEY,
               DATABASE_URL=f"sqlite:///{svc.tmp / 'prod.db'}", WECHAT_MP_APPID="wxprod", WECHAT_MP_SECRET="s" * 32,
               WECHAT_OA_APPID="wxprodoa", WECHAT_OA_SECRET="s" * 32, WECHAT_OA_TOKEN="t" * 32)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PRODUCTION_CHECK], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    try:
        outcome = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        outcome = {"error": out.stderr[-300:]}
    return {"duration_s": round(elapsed, 2), "outcome": outcome}


def probe_huge_numbers(svc: Service, args) -> dict:
    outcome = {}
    payload = b"{}"
    headers = tc3_headers(svc.demo["secret_id"], svc.demo["secret_key"], "GetLiveCode", payload, svc.endpoint,
                          int(time.time()))
    flow, _ = mp_flow(svc)
    nonce = flow.challenge()["nonce"]
    durations = []
    with Watch(svc) as w:
        t0 = time.perf_counter()
        r = requests.post(svc.base + "/", data=payload, headers={**headers, "X-TC-Timestamp": "9" * 400}, timeout=30)
        durations.append(time.perf_counter() - t0)
        outcome["x_tc_timestamp_400_digits"] = f"{r.status_code} {_short(r)}"
        t0 = time.perf_counter()
        r = requests.get(svc.base + "/wechat/callback", params={"signature": "0" * 40, "timestamp": "9" * 500,
                                                                 "nonce": "1", "echostr": "x"}, timeout=30)
        durations.append(time.perf_counter() - t0)
        outcome["callback_timestamp_500_digits"] = f"{r.status_code} {_short(r)}"
        status, body, elapsed = post_frames(flow, nonce, [(0.0, bomb_header_jpeg())])
        durations.append(elapsed)
        outcome["frame_header_65000x65000"] = f"{status} {code_of(body) if body else ''}"
    return {"duration_s": round(max(durations), 2), **w.figures(), "outcome": outcome}


def _short(resp: requests.Response) -> str:
    try:
        body = resp.json()
        return (body.get("Response", {}).get("Error", {}).get("Code") or body.get("error", {}).get("code")
                or "json")
    except ValueError:
        return "html" if "<" in resp.text[:50] else resp.text[:40]


def probe_half_jpeg(svc: Service, args) -> dict:
    flow, token = mp_flow(svc)
    ch = flow.challenge()
    frames = [(t, half_with_end_marker(data)) for t, data in light_frames(ch["challenge"], 3)]
    with Watch(svc) as w:
        status, body, elapsed = post_frames(flow, ch["nonce"], frames)
    # The same nonce with the genuine capture the halves came from: a verdict means the challenge was unspent.
    again = post_frames(flow, ch["nonce"], light_frames(ch["challenge"], 3))
    return {"duration_s": round(elapsed, 2), **w.figures(),
            "outcome": {"http": status, "code": code_of(body), "attempt_counted": body.get("attempt"),
                        "same_nonce_with_the_whole_frames": code_of(again[1])}}


def probe_oauth_start_flood(svc: Service, args) -> dict:
    before = svc.count("h5_session") + svc.count("o_auth_state")
    durations = []
    with Watch(svc) as w:
        for _ in range(200):
            t0 = time.perf_counter()
            requests.get(f"{svc.base}/h5/oauth/start", params={"next": "/"}, allow_redirects=False, timeout=30,
                         headers={"User-Agent": WECHAT_UA})
            durations.append(time.perf_counter() - t0)
    rows = svc.count("h5_session") + svc.count("o_auth_state") - before
    periodic = sorted({n for n in _huey_periodic_names(svc)})
    return {"duration_s": round(max(durations), 2), **w.figures(),
            "outcome": {"requests": 200, "rows_written": rows, "worker_schedule": periodic}}


def _huey_periodic_names(svc: Service) -> list[str]:
    """The periodic tasks the job worker runs (read from the app the worker builds)."""
    code = ("import json; from wx_backend import create_app; app = create_app(); "
            "svc = app.extensions['wxfaceid']; "
            "print(json.dumps(sorted(t.name for t in svc.jobs.huey._registry.periodic_tasks)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=svc.env, capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [f"? {out.stderr[-200:]}"]


def probe_security_headers(svc: Service, args) -> dict:
    with Watch(svc) as w:
        t0 = time.perf_counter()
        r = requests.get(f"{svc.base}/merchant/login", timeout=30)
        elapsed = time.perf_counter() - t0
    names = ("Content-Security-Policy", "X-Frame-Options", "Strict-Transport-Security", "X-Content-Type-Options",
             "Referrer-Policy")
    return {"duration_s": round(elapsed, 2), **w.figures(),
            "outcome": {n: r.headers.get(n, "-")[:60] for n in names}}


def warm_up(svc: Service) -> None:
    """Every worker past its first requests (lazy imports, first template renders, first face)."""
    client = demo_client(svc)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: call(client, "ImageRecognitionV2", {"IdCard": GRACE_ID, "Name": GRACE_NAME,
                                                                     "ImageBase64": grace_b64(), "Extra": str(i)}),
                      range(6)))
        list(pool.map(lambda _: requests.get(f"{svc.base}/merchant/login", timeout=30), range(8)))
    portrait()
    time.sleep(2)


PROBES = {
    "frames_bogus_nonce": probe_frames_bogus_nonce,
    "frames_bogus_nonce_flood": probe_frames_bogus_nonce_flood,
    "webm_1080p_video": probe_webm_1080p_video,
    "webm_1080p_compare": probe_webm_1080p_compare,
    "opus_1h_lip": probe_opus_1h_lip,
    "double_capture": probe_double_capture,
    "replay_signed_call": probe_replay_signed_call,
    "console_brute_force": probe_console_brute_force,
    "logout_cookie": probe_logout_cookie,
    "anonymous_applications": probe_anonymous_applications,
    "production_dev_secret": probe_production_dev_secret,
    "huge_numbers": probe_huge_numbers,
    "half_jpeg": probe_half_jpeg,
    "oauth_start_flood": probe_oauth_start_flood,
    "security_headers": probe_security_headers,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probes", default=",".join(PROBES), help="comma-separated subset of: " + ", ".join(PROBES))
    parser.add_argument("--flood-seconds", type=float, default=20.0, help="length of the 4-client frames flood")
    parser.add_argument("--keep", action="store_true", help="keep the temporary var dir (logs, database)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.probes.split(",") if n.strip()]
    unknown = [n for n in names if n not in PROBES]
    if unknown:
        parser.error(f"unknown probe(s): {', '.join(unknown)}")

    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # stop the service on kill too
    tmpdir = tempfile.mkdtemp(prefix="wxf-abuse-")
    svc = Service(Path(tmpdir))
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    try:
        svc.seed()
        svc.start()
        warm_up(svc)
        print(json.dumps({"commit": git, "cpus": os.cpu_count(), "web_workers": len(svc.web_workers()),
                          "loadavg_start": _loadavg(), "var": tmpdir}), flush=True)
        for name in names:
            load = _loadavg()
            try:
                row = PROBES[name](svc, args)
            except Exception as exc:  # one broken probe must not hide the others' figures
                row = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            print(json.dumps({"probe": name, **row, "loadavg": load}, ensure_ascii=False), flush=True)
    finally:
        svc.stop()
        if not args.keep:
            import shutil
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
