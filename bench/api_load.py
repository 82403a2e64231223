"""Load on the running Cloud API: achieved requests/s and latency percentiles, through the official SDK.

Two actions: GetLiveCode (the gateway alone: signature, QPS, usage record) and ImageRecognitionV2 on a
real photo (matplotlib's grace_hopper.jpg: decode + detect + quality + embed + compare + billing).
Open loop: requests are sent on a fixed schedule (``--rate`` per second for ``--seconds``), and latency is
measured from each request's scheduled time, so queueing inside the server shows up in the figures
instead of slowing the load down. Target (issue 6): 20 req/s of ImageRecognitionV2 with p99 < 1 s on 2 cores.

    .venv/bin/python bench/api_load.py                  # starts gunicorn (gunicorn.conf.py defaults) itself
    .venv/bin/python bench/api_load.py --url 127.0.0.1:8000 --secret-id AKID... --secret-key ... \
        --id-card 11010519491231002X --name "Grace Hopper"   # a server you run, that person enrolled

Self-started runs use a throw-away SQLite database, a merchant whose QPS limit is far above the rate (the
limit is not what is measured here) and Grace Hopper enrolled in the registry from the same photo.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import socket
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

GRACE_ID, GRACE_NAME = "11010519491231002X", "Grace Hopper"
SECRET_ID, SECRET_KEY = "AKIDbenchmerchant0001", "bench-secret-key"


def grace_jpeg_b64() -> str:
    import matplotlib.cbook
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        return base64.b64encode(fh.read()).decode("ascii")


def seed(db_url: str) -> None:
    """Tables, a merchant with plenty of quota and a high QPS limit, Grace Hopper in the registry."""
    import datetime as dt

    from faceengine.engine import FaceEngine
    from wx_backend import create_app, db
    from wx_backend.merchants.models import APPROVED, ApiCredential, Merchant, ResourcePack
    from wx_backend.registry.photo_verify import photo_template
    from wx_backend.settings import Settings

    tmp = Path(db_url[len("sqlite:///"):]).parent
    app = create_app(Settings(env="testing", database_url=db_url, huey_sqlite_path=str(tmp / "huey.db")))
    svc = app.extensions["wxfaceid"]
    engine = FaceEngine().load()
    with app.app_context():
        db.create_tables()
        with db.database.connection_context():
            now = dt.datetime.utcnow()
            m = Merchant.create(name="bench", uscc="91110000BENCH00001", industry_key="finance.bank",
                                phone="13800000000", status=APPROVED, submitted_at=now, review_deadline=now.date(),
                                qps_limit=100_000, channels_granted=["api"])
            ApiCredential.create(merchant=m, secret_id=SECRET_ID, secret_key_sealed=svc.sealer.seal_text(SECRET_KEY),
                                 created_at=now)
            ResourcePack.create(merchant=m, product="photo_verification", total=10**6, remaining=10**6,
                                created_at=now)
            template = photo_template(engine, grace_jpeg_b64(), svc.settings.max_image_bytes)
            svc.registry.put(GRACE_ID, GRACE_NAME, template.to_bytes(), template.model)
    engine.close()


def start_gunicorn(tmp: Path, db_url: str, workers: int | None, config: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=db_url, WXF_ENV="testing", HUEY_SQLITE_PATH=str(tmp / "huey.db"))
    cmd = [sys.executable, "-m", "gunicorn", "-c", config, "-b", f"127.0.0.1:{port}",
           "--access-logfile", "/dev/null"]
    if workers:
        cmd += ["-w", str(workers)]
    log = open(tmp / "gunicorn.log", "wb")
    proc = subprocess.Popen(cmd + ["app:app"], cwd=ROOT, env=env, stdout=log, stderr=log)
    import requests
    deadline = time.monotonic() + 120
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
    sys.exit("gunicorn did not become ready:\n" + (tmp / "gunicorn.log").read_text()[-3000:])


def make_client(endpoint: str, secret_id: str, secret_key: str):
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.faceid.v20180301 import faceid_client

    http = HttpProfile(protocol="http", endpoint=endpoint)
    http.reqTimeout = 30
    return faceid_client.FaceidClient(credential.Credential(secret_id, secret_key), "", ClientProfile(httpProfile=http))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


def run_open_loop(name: str, call, make, rate: float, seconds: float, pool: int) -> dict:
    """``call(client) -> result code``; ``make()`` builds one SDK client per thread."""
    local = threading.local()
    n = int(rate * seconds)
    t0 = time.monotonic() + 0.5
    latencies, codes, ends = [], {}, []
    lock = threading.Lock()

    def one(i: int):
        scheduled = t0 + i / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if not hasattr(local, "client"):
            local.client = make()
        try:
            code = call(local.client)
        except Exception as exc:  # SDK errors carry the API's code; anything else is a transport failure
            code = getattr(exc, "code", None) or type(exc).__name__
        end = time.monotonic()
        with lock:
            latencies.append(end - scheduled)
            ends.append(end)
            codes[code] = codes.get(code, 0) + 1

    with ThreadPoolExecutor(max_workers=pool) as ex:
        list(ex.map(one, range(n)))
    elapsed = max(ends) - t0
    return {"action": name, "target_rps": rate, "requests": n, "achieved_rps": round(n / elapsed, 2),
            "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p90_ms": round(1000 * percentile(latencies, 90), 1),
            "p99_ms": round(1000 * percentile(latencies, 99), 1),
            "max_ms": round(1000 * max(latencies), 1), "results": codes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="host:port of a running server (default: start gunicorn here)")
    parser.add_argument("--secret-id", default=SECRET_ID)
    parser.add_argument("--secret-key", default=SECRET_KEY)
    parser.add_argument("--id-card", default=GRACE_ID)
    parser.add_argument("--name", default=GRACE_NAME)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--pool", type=int, default=32, help="client threads (open-loop concurrency cap)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--config", default=str(ROOT / "gunicorn.conf.py"), help="gunicorn config file")
    args = parser.parse_args(argv)

    from tencentcloud.faceid.v20180301 import models

    proc = None
    tmpdir = tempfile.TemporaryDirectory(prefix="wxf-bench-")
    endpoint = args.url
    try:
        if endpoint is None:
            tmp = Path(tmpdir.name)
            db_url = f"sqlite:///{tmp / 'bench.db'}"
            seed(db_url)
            proc, endpoint = start_gunicorn(tmp, db_url, args.workers, args.config)
        make = lambda: make_client(endpoint, args.secret_id, args.secret_key)  # noqa: E731
        photo = grace_jpeg_b64()

        def live_code(client):
            client.GetLiveCode(models.GetLiveCodeRequest())
            return "Success"

        calls = iter(range(10**9))

        def image_recognition(client):
            req = models.ImageRecognitionV2Request()
            req.IdCard, req.Name, req.ImageBase64 = args.id_card, args.name, photo
            # One photo many times a second: without a distinct Extra, calls in one second would carry one
            # signature, and the gateway executes a signature once (docs/api.md, Replays).
            req.Extra = f"{next(calls):x}"
            return client.ImageRecognitionV2(req).Result

        warm = make()
        first = image_recognition(warm)
        if first != "Success":
            print(json.dumps({"error": f"warm-up ImageRecognitionV2 answered {first}; is the person enrolled "
                                       "and the face engine loaded?"}))
            return 1
        for _ in range(4):      # every worker's engine touched once before measuring
            image_recognition(warm)
        print(json.dumps({"endpoint": endpoint, "cpus": os.cpu_count(), "photo": "grace_hopper.jpg 512x600",
                          "self_started": proc is not None}))
        for name, call in (("GetLiveCode", live_code), ("ImageRecognitionV2", image_recognition)):
            print(json.dumps(run_open_loop(name, call, make, args.rate, args.seconds, args.pool)), flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        tmpdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
