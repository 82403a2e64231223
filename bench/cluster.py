"""The production shape under load (deploy/cluster.py: nginx, N service instances, 2 job workers, PostgreSQL,
Redis): photo-verification throughput and p99 through nginx with one instance and with two (and the ratio),
and ordinary-H5 upload -> verdict latency (with the queue pickup) at idle and under load.

    .venv/bin/python bench/cluster.py                  # needs nginx, PostgreSQL and Redis on 127.0.0.1
    .venv/bin/python bench/cluster.py --web-workers 2 --seconds 30

Each instance runs ``--web-workers`` gunicorn workers and, unless ``--no-pin``, is pinned to a CPU of its own
(taskset): an instance stands for a one-core host, so that on a 2-core machine "two instances" means twice
the hardware, as two hosts would be (unpinned, one instance's threads already use every core here). nginx,
the job workers, PostgreSQL and Redis are not pinned. Photo verification is a closed loop of ``--clients``
SDK clients (ImageRecognitionV2, grace_hopper.jpg, enrolled) for ``--seconds``.
H5 latency: a WebM of the issued actions (3.5 s) is uploaded, then /status is polled every 10 ms: "pickup" is
from the 202 answer to the job seen running, "verdict" from the start of the upload to the result. Idle: one
video at a time; under load: ``--backlog`` videos at once, and one at a time while the photo loop runs. The
machine's load average is printed with every figure: on a shared machine the figures are noisy.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import grace_jpeg_b64, percentile  # noqa: E402

# Helpers of the session tests, reused rather than copied: merchants and rules, the official SDK client,
# the WeChat browser that does the official-account OAuth through the emulator, a WebM of the actions.
GRACE_ID, GRACE_NAME = "11010519491231002X", "Grace Hopper"
PHOTO_KEYS = ("AKIDbenchclusterph01", "bench-cluster-photo-key")
PLAIN_KEYS = ("AKIDbenchclusterh501", "bench-cluster-h5-key")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _emit(record: dict) -> None:
    print(json.dumps({**record, "loadavg_1_5_15": _load()}, ensure_ascii=False), flush=True)


def seed(cluster) -> dict:
    from tests.api.conftest import make_merchant as make_api_merchant
    from tests.verification.conftest import make_merchant, make_rule
    from wx_backend import db
    from wx_backend.engine_factory import engine_loader
    from wx_backend.registry.photo_verify import photo_template

    app = cluster.app()
    svc = app.extensions["wxfaceid"]
    engine = engine_loader(svc.settings)()          # the embedder the cluster's processes use
    with app.app_context(), db.database.connection_context():
        template = photo_template(engine, grace_jpeg_b64(), svc.settings.max_image_bytes)
        svc.registry.put(GRACE_ID, GRACE_NAME, template.to_bytes(), template.model)
        make_api_merchant(svc, name="bench photo", secret_id=PHOTO_KEYS[0], secret_key=PHOTO_KEYS[1],
                          packs={"photo_verification": 10**6}, qps=100_000)
        plain = make_merchant(svc, native=False, secret=PLAIN_KEYS, packs=10_000)
        rule = make_rule(svc, plain, "h5", "action")
    engine.close()
    return {"app": app, "h5_rule": rule}


def photo_loop(endpoint: str, clients: int, seconds: float) -> dict:
    """A closed loop: each client sends its next request when the last is answered."""
    from tencentcloud.faceid.v20180301 import models

    from tests.api.conftest import sdk_client
    photo = grace_jpeg_b64()
    latencies, codes, lock = [], {}, threading.Lock()
    stop_at = time.monotonic() + seconds

    calls = itertools.count()

    def run():
        client = sdk_client(endpoint, *PHOTO_KEYS)
        while time.monotonic() < stop_at:
            req = models.ImageRecognitionV2Request()
            req.IdCard, req.Name, req.ImageBase64 = GRACE_ID, GRACE_NAME, photo
            req.Extra = f"{next(calls):x}"      # equal calls in one second would be one signature, run once
            t = time.monotonic()
            try:
                code = client.ImageRecognitionV2(req).Result
            except Exception as exc:  # the SDK's code, or a transport failure by name
                code = getattr(exc, "code", None) or type(exc).__name__
            with lock:
                latencies.append(time.monotonic() - t)
                codes[code] = codes.get(code, 0) + 1

    start = time.monotonic()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    return {"requests": len(latencies), "throughput_rps": round(len(latencies) / elapsed, 2),
            "p50_ms": round(1000 * statistics.median(latencies)), "p99_ms": round(1000 * percentile(latencies, 99)),
            "results": codes}


class H5:
    """Ordinary-H5 sessions through the front door, each made ready (OAuth, consent, challenge) in advance."""

    def __init__(self, cluster, rule: str, videos: dict[str, bytes]):
        self.cluster, self.rule, self.videos = cluster, rule, videos
        self.n = 0

    def ready(self):
        from tests.api.conftest import sdk_client
        from tests.verification.test_cloud_actions import detect_auth
        from tests.verification.test_h5_video_flow import WeChatBrowser

        front = self.cluster.front
        token = detect_auth(sdk_client(front.removeprefix("http://"), *PLAIN_KEYS), self.rule,
                            Extra=f"bench-{self.n}").BizToken
        self.n += 1
        browser = WeChatBrowser(front, f"bench-h5-{self.n}")
        assert browser.open(f"{front}/h5/biz/{token}").status_code == 200
        browser.api("POST", f"/api/biz/{token}/consent", json={"agree": True, "version": "2026-11-v1"})
        ch = browser.api("GET", f"/api/biz/{token}/challenge").json()
        return token, browser, ch

    def run(self, prepared) -> dict:
        """Upload, then poll /status every 10 ms: seconds to pickup (running) and to the verdict."""
        token, browser, ch = prepared
        video = self.videos[ch["challenge"]["sequence"]]
        t0 = time.monotonic()
        resp = browser.api("POST", f"/api/biz/{token}/video", data={"nonce": ch["nonce"]},
                           files={"video": ("capture.webm", video, "video/webm")})
        assert resp.status_code == 202, resp.text
        accepted, pickup, first = time.monotonic() - t0, None, None
        while True:
            status = browser.api("GET", f"/api/biz/{token}/status").json()
            first = first or status.get("progress")
            if pickup is None and (status.get("progress") or {}).get("job") != "queued":
                pickup = time.monotonic() - t0 - accepted
            if status["state"] != "processing":
                return {"upload_s": accepted, "pickup_s": pickup, "verdict_s": time.monotonic() - t0,
                        "passed": status["last_attempt"]["passed"], "first_seen": first}
            time.sleep(0.01)


def sqlite_pickup(videos: dict[str, bytes], runs: int, idle_s: float) -> dict:
    """The single-host default (`make run`): SQLite database and queue, one real worker process. After the
    worker has been idle ``idle_s``, a video job is submitted as POST /video does; pickup is until its row
    says running (polled every 5 ms). (Huey's default back-off had grown to several seconds by then.)"""
    import subprocess
    import tempfile
    import types

    from tests.verification.conftest import make_merchant, make_rule, new_session
    from wx_backend import create_app, db
    from wx_backend.settings import Settings
    from wx_backend.verification import jobs
    from wx_backend.verification.models import QUEUED, VerificationSession, VideoJob

    tmpdir = tempfile.TemporaryDirectory(prefix="wxf-bench-sqlite-")
    tmp = Path(tmpdir.name)
    settings = Settings(database_url=f"sqlite:///{tmp / 'db.sqlite'}", huey_sqlite_path=str(tmp / "huey.db"))
    app = create_app(settings)
    svc = app.extensions["wxfaceid"]
    with app.app_context():
        db.create_tables()
    env = {**os.environ, "DATABASE_URL": settings.database_url, "HUEY_SQLITE_PATH": settings.huey_sqlite_path,
           "REDIS_URL": ""}
    worker = subprocess.Popen([sys.executable, "-m", "wx_backend.jobs", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pickups = []
    try:
        with app.app_context(), db.database.connection_context():
            merchant = make_merchant(svc, native=False, packs=1000)
            rule = make_rule(svc, merchant, "h5", "action")
            for run in range(runs + 1):                 # run 0: the worker is still loading its models
                session = VerificationSession.get(VerificationSession.biz_token == new_session(svc, merchant, rule))
                issued = types.SimpleNamespace(payload={"sequence": "1,2"})
                if run:
                    time.sleep(idle_s)                  # the worker idles
                t0 = time.monotonic()
                attempt = jobs.submit_video(session, f"bench-{run}", issued, videos["1,2"], ".webm", svc)
                picked = None
                while VideoJob.get(VideoJob.attempt == attempt.id).state != "done":
                    if picked is None and VideoJob.get(VideoJob.attempt == attempt.id).state != QUEUED:
                        picked = time.monotonic() - t0
                    time.sleep(0.005)
                if run:
                    pickups.append(picked if picked is not None else time.monotonic() - t0)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        tmpdir.cleanup()
    return {"storage": "SQLite (database and queue)", "videos": runs, "idle_before_each_s": idle_s,
            "pickup_ms": {"median": round(1000 * statistics.median(pickups)), "max": round(1000 * max(pickups))}}


def _summary(runs: list[dict]) -> dict:
    out = {"videos": len(runs), "passed": sum(r["passed"] for r in runs)}
    for key in ("upload_s", "pickup_s", "verdict_s"):
        values = [r[key] for r in runs]
        out[key.replace("_s", "_ms")] = {"median": round(1000 * statistics.median(values)),
                                          "max": round(1000 * max(values))}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--web-workers", type=int, default=1, help="gunicorn workers per instance (default 1)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent photo-verification clients")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--videos", type=int, default=5, help="H5 videos at idle, one at a time")
    parser.add_argument("--backlog", type=int, default=6, help="H5 videos uploaded at once")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin instances to CPUs")
    parser.add_argument("--idle-s", type=float, default=20.0,
                        help="how long a worker idles before each idle-pickup measurement")
    args = parser.parse_args(argv)

    import logging
    logging.basicConfig(level=logging.WARNING)
    from deploy.cluster import Cluster, ClusterSpec, missing_services
    from tests.verification.test_h5_video_flow import action_video

    reasons = missing_services(args.pg, args.redis)
    if reasons:
        print(json.dumps({"error": "; ".join(reasons)}))
        return 2
    # The videos first (synthesis takes CPU the measurements must not share): one per action order.
    from capture_synth import liveness as liveness_synth
    from faceengine.detect import FaceMesher
    import matplotlib.cbook
    import numpy as np
    from PIL import Image
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        grace = np.asarray(Image.open(fh).convert("RGB"))
    mesher = FaceMesher(max_faces=1, static=True)
    portrait = liveness_synth.Portrait.from_photo(grace, mesher)
    mesher.close()
    videos = {seq: action_video(portrait, seq, 7) for seq in ("1,2", "2,1")}

    _emit({"machine": {"cpus": os.cpu_count()}, "web_workers_per_instance": args.web_workers,
           "instances_pinned_to_a_cpu_each": args.pin, "clients": args.clients, "seconds": args.seconds})
    _emit({"queue_pickup_idle_worker": sqlite_pickup(videos, 3, args.idle_s)})
    throughput = {}
    for instances in (1, 2):
        spec = ClusterSpec(pg_dsn=args.pg, redis_url=args.redis, instances=instances,
                           web_workers=args.web_workers, job_workers=2, pin_instances=args.pin)
        with Cluster(spec) as cluster:
            seeded = seed(cluster)
            front = cluster.front.removeprefix("http://")
            photo_loop(front, args.clients, 3.0)                       # every worker warm
            result = photo_loop(front, args.clients, args.seconds)
            throughput[instances] = result["throughput_rps"]
            _emit({"photo_verification": {"instances": instances, **result}})
            if instances == 1:
                continue
            h5 = H5(cluster, seeded["h5_rule"], videos)
            h5.run(h5.ready())                                         # warm
            idle = []
            for _ in range(args.videos):
                prepared = h5.ready()
                time.sleep(args.idle_s / 4)                              # the workers idle (blocked in BRPOP)
                idle.append(h5.run(prepared))
            _emit({"h5_upload_to_verdict": {"condition": f"idle ({args.idle_s / 4:.0f} s before each), one video "
                                                         "at a time, Redis queue", **_summary(idle)}})

            ready = [h5.ready() for _ in range(args.backlog)]
            with concurrent.futures.ThreadPoolExecutor(args.backlog) as pool:
                backlog = list(pool.map(h5.run, ready))
            _emit({"h5_upload_to_verdict": {"condition": f"{args.backlog} videos at once, 2 workers",
                                            **_summary(backlog),
                                            "queue_positions_seen": sorted(
                                                (r["first_seen"] or {}).get("ahead", -1) for r in backlog)}})

            ready = [h5.ready() for _ in range(3)]
            box = {}
            loader = threading.Thread(target=lambda: box.update(photo_loop(front, args.clients, args.seconds)))
            loader.start()
            time.sleep(2.0)                                            # the photo loop is running
            busy = [h5.run(r) for r in ready]
            loader.join()
            _emit({"h5_upload_to_verdict": {"condition": f"one at a time during {args.clients}-client photo load",
                                            **_summary(busy)}, "photo_during": box})
    _emit({"photo_throughput_ratio_2_to_1": round(throughput[2] / throughput[1], 2)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
