"""`make run`: initialise var/, seed the demo merchant, start the WeChat emulator, the job worker and
gunicorn, wait until /healthz answers, print where to go and the demo credentials. Ctrl-C stops all."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from .settings import ROOT, load_settings

# The person the demo verifies: enrolled in the development registry from matplotlib's sample photo.
DEMO_ID_CARD, DEMO_NAME = "11010519491231002X", "Grace Hopper"


def demo_photo_path() -> str:
    import matplotlib.cbook
    return str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def _flask(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"`flask {' '.join(args)}` failed (exit {out.returncode})")
    return json.loads(out.stdout)


def _wait_for(url: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return json.loads(resp.read())
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            last = str(exc)
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {timeout_s:.0f} s ({last})")


def main() -> int:
    settings = load_settings()
    (ROOT / "var").mkdir(exist_ok=True)
    _flask("init-db")
    demo = _flask("demo", "seed")
    _flask("authority", "add", "--id-card", DEMO_ID_CARD, "--name", DEMO_NAME, "--photo", demo_photo_path())

    procs: list[subprocess.Popen] = []

    def start(*cmd: str) -> None:
        procs.append(subprocess.Popen([sys.executable, *cmd], cwd=ROOT))

    def stop(*_):
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    start("-m", "miniprogram_stub.emulator", "--host", "127.0.0.1", "--port", str(settings.emulator_port),
          "--mp-app", f"{settings.mp_appid}:{settings.mp_secret}",
          "--oa-app", f"{settings.oa_appid}:{settings.oa_secret}")
    start("-m", "wx_backend.jobs", "worker")
    start("-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "app:app")

    health = _wait_for("http://127.0.0.1:8000/healthz", 120)
    base = "http://127.0.0.1:8000"
    print("\n" + "=" * 72)
    print(f" wxfaceid is running: {base}   (health: {health.get('status')}, engine: {health.get('engine')})")
    print(f" WeChat emulator:     http://127.0.0.1:{settings.emulator_port}")
    print(" Demo merchant and reviewer (development only):")
    print(json.dumps(demo, ensure_ascii=False, indent=2))
    print(f" Merchant console:    {base}/merchant/login")
    print(f" Reviewer console:    {base}/review/login")
    print(f" Cloud API endpoint:  POST {base}/  (tencentcloud SDK: HttpProfile(protocol='http', "
          f"endpoint='127.0.0.1:8000'))")
    print(f" Demo person in the ID registry: {DEMO_NAME} (matplotlib's grace_hopper.jpg)")
    print(" Try a whole mini-program session:  make demo   (a still-photo attack: make demo ATTACK=photo)")
    print(" Ctrl-C stops everything.")
    print("=" * 72 + "\n", flush=True)

    while True:
        for p in procs:
            if p.poll() is not None:
                print(f"process {p.args} exited with {p.returncode}; stopping", file=sys.stderr)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
