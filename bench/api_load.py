"""Load on the running Cloud API: throughput against a bare-Flask baseline, server CPU per request over time,
and the photo action's overhead over the face engine's own work.

In one invocation (self-started servers, the same gunicorn settings, the same client, one after the other):

1. **Baseline**: bench/bare_flask.py (a trivial app answering a JSON body) under the service's gunicorn
   settings, hit with GetLiveCode-shaped signed requests at ``--rate``.
2. **GetLiveCode** at ``--rate`` (default 500/s): achieved requests/s and its ratio to the baseline
   (target >= 0.5), and the server's CPU ms per request in ``--window`` windows (target: the last
   window within 10% of the first; run ``--seconds 600`` for the 10-minute figure).
3. **ImageRecognitionV2** at ``--photo-rate`` on matplotlib's grace_hopper.jpg (decode + detect +
   quality + embed + compare + billing): server CPU ms per request; the engine's own time for the calls
   verify_photo makes (decode, analyse, compare), measured in this process on the same photo, median of
   ``--engine-samples``; their ratio (target <= 1.15); the compute limit (cpus / server CPU per request)
   and achieved/limit at the offered rate with its p99; then once more offered at ``--photo-at-limit``
   (0.85) x that limit: the target is achieved >= 0.8 x limit there at p99 < 1 s.

Server CPU is read from /proc/<pid>/stat of the gunicorn master and its workers (utime + stime, the
master's reaped children too) at each window's edges. ``--backend sqlite`` (default: a throw-away SQLite
file) or ``pg-redis`` (PostgreSQL 127.0.0.1:5432 db ``test`` in a fresh schema dropped afterwards, and
Redis 127.0.0.1:6379 database ``--redis-db``, flushed before and after).

Open loop: requests are sent on a fixed schedule, and latency is measured from each request's scheduled
time, so queueing inside the server shows up in the figures instead of slowing the load down. The
client runs on the same machine: ``--client light`` (default) signs TC3-HMAC-SHA256 itself and sends
with http.client over kept-alive connections, from ``--client-procs`` processes of ``--threads``
threads each, because the official SDK (``--client sdk``, kept for comparison) costs more client CPU
per call than the bare baseline costs the server. Each run prints what the client offered (sends per
second, how late sends left against the schedule, the client's own CPU), so a client that cannot keep
up is seen, not taken for the server.

    .venv/bin/python bench/api_load.py                                  # 20 s per run, sqlite
    .venv/bin/python bench/api_load.py --backend pg-redis --seconds 180 --actions GetLiveCode
    .venv/bin/python bench/api_load.py --url 127.0.0.1:8000 --secret-id AKID... --secret-key ... \
        --id-card 11010519491231002X --name "Grace Hopper"   # a server you run (no baseline, no CPU)

Self-started runs seed a merchant whose QPS limit is far above the rate (the limit is not what is
measured here) and Grace Hopper enrolled in the registry from the same photo.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import http.client
import json
import math
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GRACE_ID, GRACE_NAME = "11010519491231002X", "Grace Hopper"
SECRET_ID, SECRET_KEY = "AKIDbenchmerchant0001", "bench-secret-key"
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def grace_jpeg_b64() -> str:
    import matplotlib.cbook
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        return base64.b64encode(fh.read()).decode("ascii")


# -- backends and seeding ------------------------------------------------------------------------
@contextlib.contextmanager
def backend_env(name: str, tmp: Path, redis_db: int):
    """The environment of a self-started service on ``name``'s stores; cleaned up afterwards."""
    env = {"WXF_ENV": "testing", "HUEY_SQLITE_PATH": str(tmp / "huey.db")}
    if name == "sqlite":
        yield dict(env, DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}")
        return
    import psycopg2
    import redis

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(PG_DSN, connect_timeout=3)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE SCHEMA {schema}")
    redis_url = f"redis://127.0.0.1:6379/{redis_db}"
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    client.flushdb()
    try:
        yield dict(env, DATABASE_URL=f"{PG_DSN}?options=-csearch_path%3D{schema}", REDIS_URL=redis_url)
    finally:
        conn.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()
        client.flushdb()


def seed(env: dict[str, str]) -> None:
    """Tables, a merchant with plenty of quota and a high QPS limit, Grace Hopper in the registry."""
    from wx_backend import create_app, db
    from wx_backend.merchants.models import APPROVED, ApiCredential, Merchant, ResourcePack
    from wx_backend.registry.photo_verify import photo_template
    from wx_backend.settings import Settings

    app = create_app(Settings.from_env(env))
    svc = app.extensions["wxfaceid"]
    engine = svc.engine.get()
    with app.app_context():
        db.create_tables()
        with db.database.connection_context():
            now = dt.datetime.utcnow()
            m = Merchant.create(name="bench", uscc="91110000BENCH00001", industry_key="finance.bank",
                                phone="13800000000", status=APPROVED, submitted_at=now, review_deadline=now.date(),
                                qps_limit=100_000, channels_granted=["api"])
            ApiCredential.create(merchant=m, secret_id=SECRET_ID, secret_key_sealed=svc.sealer.seal_text(SECRET_KEY),
                                 created_at=now)
            ResourcePack.create(merchant=m, product="photo_verification", total=10**7, remaining=10**7,
                                created_at=now)
            template = photo_template(engine, grace_jpeg_b64(), svc.settings.max_image_bytes)
            svc.registry.put(GRACE_ID, GRACE_NAME, template.to_bytes(), template.model)
    engine.close()
    db.database.close()


# -- servers -------------------------------------------------------------------------------------
def start_gunicorn(tmp: Path, env: dict[str, str], app_spec: str, config: str, workers: int | None,
                   log_name: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "gunicorn", "-c", config, "-b", f"127.0.0.1:{port}",
           "--access-logfile", "/dev/null"]
    if workers:
        cmd += ["-w", str(workers)]
    log = open(tmp / log_name, "wb")
    proc = subprocess.Popen(cmd + [app_spec], cwd=ROOT, env=dict(os.environ, **env), stdout=log, stderr=log)
    import requests
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            # Ready means the engine is loaded in the worker that answers (post_worker_init warms it).
            r = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if r.status_code == 200 and r.json().get("engine") == "ready":
                return proc, f"127.0.0.1:{port}"
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    proc.terminate()
    sys.exit(f"gunicorn ({app_spec}) did not become ready:\n" + (tmp / log_name).read_text()[-3000:])


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()      # SIGTERM: gunicorn's graceful stop (workers finish, exit hooks run)
        proc.wait(timeout=60)


def child_pids(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def _ticks(pid: int, with_reaped: bool) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0          # exited between listing and reading: its time moves to the master's cutime
    # fields[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if with_reaped else 0)


def server_cpu_s(master: int) -> float:
    """CPU seconds used so far by a gunicorn master, its workers and its reaped children."""
    return (_ticks(master, True) + sum(_ticks(p, False) for p in child_pids(master))) / CLK_TCK


class CpuSampler:
    """Samples the server's CPU at t0 + k * window (and once more at the end)."""

    def __init__(self, master: int | None, t0: float, window: float):
        self.master, self.t0, self.window = master, t0, window
        self.samples: list[tuple[float, float]] = []      # (seconds after t0, server CPU seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _take(self) -> None:
        if self.master is not None:
            self.samples.append((time.monotonic() - self.t0, server_cpu_s(self.master)))

    def _run(self) -> None:
        k = 0
        while True:
            if self._stop.wait(max(0.0, self.t0 + k * self.window - time.monotonic())):
                return
            self._take()
            k += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._take()


# -- clients -------------------------------------------------------------------------------------
class LightSender:
    """TC3-HMAC-SHA256 as the official SDK signs (content-type;host), over one kept-alive connection."""

    def __init__(self, endpoint: str, secret_id: str, secret_key: str):
        self.host, _, port = endpoint.partition(":")
        self.port = int(port or 80)
        self.secret_id, self.secret_key = secret_id, secret_key
        self._keys: dict[str, bytes] = {}
        self._conn: http.client.HTTPConnection | None = None

    def _signing_key(self, date: str) -> bytes:
        key = self._keys.get(date)
        if key is None:
            key = ("TC3" + self.secret_key).encode()
            for part in (date, "faceid", "tc3_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {date: key}
        return key

    def headers(self, action: str, payload: bytes) -> dict[str, str]:
        ts = int(time.time())
        date = dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d")
        ctype, host = "application/json; charset=utf-8", f"{self.host}:{self.port}"
        canonical = (f"POST\n/\n\ncontent-type:{ctype}\nhost:{host}\n\ncontent-type;host\n"
                     f"{hashlib.sha256(payload).hexdigest()}")
        scope = f"{date}/faceid/tc3_request"
        to_sign = f"TC3-HMAC-SHA256\n{ts}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        sig = hmac.new(self._signing_key(date), to_sign.encode(), hashlib.sha256).hexdigest()
        return {"Content-Type": ctype, "Host": host, "X-TC-Action": action, "X-TC-Timestamp": str(ts),
                "X-TC-Version": "2018-03-01",
                "Authorization": f"TC3-HMAC-SHA256 Credential={self.secret_id}/{scope}, "
                                 f"SignedHeaders=content-type;host, Signature={sig}"}

    def __call__(self, action: str, params: dict) -> str:
        payload = json.dumps(params).encode()
        for attempt in (1, 2):      # a kept-alive connection the server closed meanwhile: once more
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self._conn.request("POST", "/", payload, self.headers(action, payload))
                resp = self._conn.getresponse()
                body = resp.read()
                if resp.getheader("connection", "").lower() == "close":
                    self._conn.close()
                    self._conn = None
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
        if resp.status != 200:
            return f"HTTP{resp.status}"
        answer = json.loads(body)["Response"]
        if "Error" in answer:
            return answer["Error"]["Code"]
        return answer.get("Result") or "Success"


class SdkSender:
    """The official tencentcloud-sdk-python client."""

    def __init__(self, endpoint: str, secret_id: str, secret_key: str):
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.faceid.v20180301 import faceid_client

        http_profile = HttpProfile(protocol="http", endpoint=endpoint)
        http_profile.reqTimeout = 30
        self._client = faceid_client.FaceidClient(credential.Credential(secret_id, secret_key), "",
                                                  ClientProfile(httpProfile=http_profile))

    def __call__(self, action: str, params: dict) -> str:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        try:
            answer = self._client.call_json(action, params)["Response"]
        except TencentCloudSDKException as exc:
            return exc.code or "SDKError"
        return answer.get("Result") or "Success"


SENDERS = {"light": LightSender, "sdk": SdkSender}


def live_code_params(i: int) -> dict:
    return {}


def photo_params_factory(id_card: str, name: str, photo: str):
    def params(i: int) -> dict:
        # One photo many times a second: without a distinct Extra, calls in one second would carry one
        # signature, and the gateway executes a signature once (docs/api.md, Replays).
        return {"IdCard": id_card, "Name": name, "ImageBase64": photo, "Extra": f"{i:x}"}
    return params


def _client_process(k: int, procs: int, sender_args: tuple, action: str, params, t0: float, rate: float,
                    n: int, threads: int, out) -> None:
    kind, endpoint, secret_id, secret_key = sender_args
    indices = iter(range(k, n, procs))
    lock = threading.Lock()
    records = []

    def worker():
        send = SENDERS[kind](endpoint, secret_id, secret_key)
        while True:
            with lock:
                i = next(indices, None)
            if i is None:
                return
            scheduled = t0 + i / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            started = time.monotonic()
            try:
                code = send(action, params(i))
            except Exception as exc:  # a transport failure is a result of the run, not a crash of it
                code = type(exc).__name__
            end = time.monotonic()
            records.append((started - scheduled, end - scheduled, end - t0, code))

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.send((records, usage.ru_utime + usage.ru_stime))
    out.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


def run_open_loop(label: str, action: str, params, args, endpoint: str, master: int | None,
                  rate: float, seconds: float) -> dict:
    """``params(i)`` is request i's body; the run's figures, the server CPU per window among them."""
    n = int(rate * seconds)
    ctx = multiprocessing.get_context("fork")
    t0 = time.monotonic() + 1.0
    pipes, procs = [], []
    for k in range(args.client_procs):
        receive, send = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_client_process,
                        args=(k, args.client_procs, (args.client, endpoint, args.secret_id, args.secret_key),
                              action, params, t0, rate, n, args.threads, send))
        p.start()
        send.close()
        pipes.append(receive)
        procs.append(p)
    records, client_cpu = [], 0.0
    with CpuSampler(master, t0, args.window) as sampler:
        for receive in pipes:
            got, cpu = receive.recv()
            records += got
            client_cpu += cpu
    for p in procs:
        p.join()
    return summarise(label, action, rate, records, client_cpu, sampler.samples, args.window)


def summarise(label: str, action: str, rate: float, records, client_cpu: float, samples, window: float) -> dict:
    lags = [r[0] for r in records]
    latencies = [r[1] for r in records]
    ends = sorted(r[2] for r in records)
    codes: dict[str, int] = {}
    for r in records:
        codes[r[3]] = codes.get(r[3], 0) + 1
    n = len(records)
    elapsed = ends[-1]
    sends = sorted(r[2] - r[1] + r[0] for r in records)      # send times after t0
    out = {"run": label, "action": action, "offered_rps": rate, "requests": n,
           "achieved_rps": round(n / elapsed, 1),
           "p50_ms": round(1000 * statistics.median(latencies), 1),
           "p90_ms": round(1000 * percentile(latencies, 90), 1),
           "p99_ms": round(1000 * percentile(latencies, 99), 1),
           "max_ms": round(1000 * max(latencies), 1), "results": codes,
           "client": {"sent_rps": round(n / max(sends[-1], 1e-9), 1),
                      "send_late_p50_ms": round(1000 * statistics.median(lags), 1),
                      "send_late_p99_ms": round(1000 * percentile(lags, 99), 1),
                      "cpu_ms_per_request": round(1000 * client_cpu / n, 3)}}
    if len(samples) >= 2:
        windows = []
        for (a, cpu_a), (b, cpu_b) in zip(samples, samples[1:]):
            done = sum(1 for e in ends if a < e <= b) if a > 0 else sum(1 for e in ends if e <= b)
            if b - a < window / 2 or not done:
                continue       # the short tail after the last full window, or an idle one
            windows.append({"t_s": round(b, 1), "rps": round(done / (b - a), 1),
                            "cpu_ms_per_request": round(1000 * (cpu_b - cpu_a) / done, 3),
                            "cores_busy": round((cpu_b - cpu_a) / (b - a), 2)})
        total_cpu = samples[-1][1] - samples[0][1]
        out["server"] = {"cpu_ms_per_request": round(1000 * total_cpu / n, 3),
                         "cores_busy": round(total_cpu / (samples[-1][0] - samples[0][0]), 2),
                         "windows": windows}
        if len(windows) >= 2:
            out["server"]["last_over_first_window"] = round(
                windows[-1]["cpu_ms_per_request"] / windows[0]["cpu_ms_per_request"], 3)
    return out


# -- the engine alone ----------------------------------------------------------------------------
def engine_time(env: dict[str, str], photo_b64: str, samples: int) -> dict:
    """The calls verify_photo makes on the engine (decode, analyse by the selfie rules, compare with the
    reference's template), on the same photo in this process: median wall and CPU ms over ``samples``."""
    from faceengine import IntakeLimits, decode_base64_image

    from wx_backend.engine_factory import engine_loader
    from wx_backend.settings import Settings

    settings = Settings.from_env(env)
    engine = engine_loader(settings)()
    limits = IntakeLimits(max_bytes=settings.max_image_bytes)
    reference = engine.analyse(decode_base64_image(photo_b64, limits), reference=True).template

    def once():
        image = decode_base64_image(photo_b64, limits)
        engine.compare(engine.analyse(image, reference=False).template, reference)

    for _ in range(3):
        once()
    walls, cpus = [], []
    for _ in range(samples):
        w, c = time.perf_counter(), time.process_time()
        once()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
    engine.close()
    return {"samples": samples, "wall_ms_median": round(1000 * statistics.median(walls), 2),
            "cpu_ms_median": round(1000 * statistics.median(cpus), 2)}


# -- main ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="host:port of a running server (default: start gunicorn here)")
    parser.add_argument("--backend", choices=("sqlite", "pg-redis"), default="sqlite")
    parser.add_argument("--redis-db", type=int, default=12, help="Redis database of --backend pg-redis")
    parser.add_argument("--secret-id", default=SECRET_ID)
    parser.add_argument("--secret-key", default=SECRET_KEY)
    parser.add_argument("--id-card", default=GRACE_ID)
    parser.add_argument("--name", default=GRACE_NAME)
    parser.add_argument("--actions", default="GetLiveCode,ImageRecognitionV2")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare-Flask run")
    parser.add_argument("--rate", type=float, default=500.0, help="GetLiveCode (and baseline) requests/s")
    parser.add_argument("--seconds", type=float, default=20.0, help="GetLiveCode (and baseline) run length")
    parser.add_argument("--photo-rate", type=float, default=20.0, help="ImageRecognitionV2 requests/s")
    parser.add_argument("--photo-seconds", type=float, default=15.0)
    parser.add_argument("--photo-at-limit", type=float, default=0.85,
                        help="then ImageRecognitionV2 again at this fraction of the compute limit the first "
                             "photo run measured (0: not)")
    parser.add_argument("--window", type=float, default=10.0, help="server CPU window (s)")
    parser.add_argument("--client", choices=tuple(SENDERS), default="light")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16, help="client threads per process (in-flight cap)")
    parser.add_argument("--engine-samples", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--config", default=str(ROOT / "gunicorn.conf.py"), help="gunicorn config file")
    args = parser.parse_args(argv)
    actions = [a for a in args.actions.split(",") if a]
    photo = grace_jpeg_b64()
    photo_params = photo_params_factory(args.id_card, args.name, photo)
    results: dict[str, dict] = {}

    def emit(obj: dict) -> None:
        print(json.dumps(obj), flush=True)

    with tempfile.TemporaryDirectory(prefix="wxf-bench-") as tmpdir, contextlib.ExitStack() as stack:
        tmp = Path(tmpdir)
        env = stack.enter_context(backend_env(args.backend, tmp, args.redis_db)) if args.url is None else {}
        emit({"cpus": os.cpu_count(), "backend": args.backend if args.url is None else "external",
              "client": args.client, "client_procs": args.client_procs, "threads": args.threads,
              "config": args.config, "photo": "grace_hopper.jpg 512x600"})
        if args.url is None and not args.no_baseline and "GetLiveCode" in actions:
            proc, endpoint = start_gunicorn(tmp, {"WXF_BENCH_GUNICORN_CONFIG": args.config}, "bench.bare_flask:app",
                                            str(ROOT / "bench" / "bare_gunicorn_conf.py"), args.workers,
                                            "bare.log")
            try:
                results["baseline"] = run_open_loop("bare-flask", "GetLiveCode", live_code_params, args,
                                                    endpoint, proc.pid, args.rate, args.seconds)
                emit(results["baseline"])
            finally:
                stop(proc)
        proc = None
        try:
            if args.url is None:
                seed(env)
                proc, endpoint = start_gunicorn(tmp, env, "app:app", args.config, args.workers, "gunicorn.log")
            else:
                endpoint = args.url
            warm = SENDERS[args.client](endpoint, args.secret_id, args.secret_key)
            if "ImageRecognitionV2" in actions:
                for i in range(5):      # every worker's engine touched before measuring
                    first = warm("ImageRecognitionV2", dict(photo_params(i), Extra=f"w{i}"))
                    if first != "Success":
                        emit({"error": f"warm-up ImageRecognitionV2 answered {first}; is the person "
                                       "enrolled and the face engine loaded?"})
                        return 1
            if warm("GetLiveCode", {}) != "Success":
                emit({"error": "warm-up GetLiveCode failed"})
                return 1
            master = proc.pid if proc is not None else None
            for action in actions:
                if action == "ImageRecognitionV2":
                    results[action] = run_open_loop("service", action, photo_params, args, endpoint, master,
                                                    args.photo_rate, args.photo_seconds)
                else:
                    results[action] = run_open_loop("service", action, live_code_params, args, endpoint,
                                                    master, args.rate, args.seconds)
                emit(results[action])
            shot = results.get("ImageRecognitionV2")
            if shot and "server" in shot and args.photo_at_limit > 0:
                # Offered near the compute limit the first run measured: does the service reach it?
                limit = (os.cpu_count() or 1) * 1000 / shot["server"]["cpu_ms_per_request"]
                results["photo_at_limit"] = run_open_loop(
                    f"service at {args.photo_at_limit} x limit", "ImageRecognitionV2", photo_params, args,
                    endpoint, master, round(args.photo_at_limit * limit, 1), args.photo_seconds)
                emit(results["photo_at_limit"])
        finally:
            stop(proc)
    summary: dict = {"summary": True}
    live, bare = results.get("GetLiveCode"), results.get("baseline")
    if live and bare:
        summary["getlivecode_over_bare_flask"] = round(live["achieved_rps"] / bare["achieved_rps"], 3)
    if live and "server" in live:
        summary["getlivecode_cpu_last_over_first_window"] = live["server"].get("last_over_first_window")
    shot = results.get("ImageRecognitionV2")
    if shot and "server" in shot and args.url is None:
        engine = engine_time(env, photo, args.engine_samples)
        server_ms = shot["server"]["cpu_ms_per_request"]
        limit = (os.cpu_count() or 1) * 1000 / server_ms
        summary["image_recognition"] = {
            "server_cpu_ms_per_request": server_ms, "engine": engine,
            "server_cpu_over_engine_cpu": round(server_ms / engine["cpu_ms_median"], 3),
            "server_cpu_over_engine_wall": round(server_ms / engine["wall_ms_median"], 3),
            "compute_limit_rps": round(limit, 1),
            "runs": [{"offered_rps": run["offered_rps"], "achieved_rps": run["achieved_rps"],
                      "achieved_over_limit": round(run["achieved_rps"] / limit, 3), "p99_ms": run["p99_ms"],
                      "server_cpu_ms_per_request": run.get("server", {}).get("cpu_ms_per_request")}
                     for run in (shot, results.get("photo_at_limit")) if run]}
    emit(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
