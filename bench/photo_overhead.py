"""ImageRecognitionV2's CPU outside the face engine, in-process (issue 17: server CPU per request <= 1.15x
the engine's own verification time).

Two figures per photo, each the median of ``--rounds`` runs, in CPU time of this process
(``time.process_time``: every thread, so MediaPipe's and onnxruntime's own threads count too):

- engine: what faceengine itself does for one verification: base64 -> RGB (``decode_base64_image``),
  ``engine.analyse`` (detect, mesh, quality, align, embed) and ``engine.compare`` with the reference template;
- request: one whole signed Cloud API call through the Flask app (its WSGI callable, no socket): gateway
  (signature, replay claim, QPS, quota hold, charge, usage record on SQLite), JSON, registry lookup, the
  same engine work, the JSON answer.

The ratio request / engine is what the issue bounds. ``--profile`` prints cProfile's top functions of the
request path, the engine's own functions included, to see what the rest is.

    .venv/bin/python bench/photo_overhead.py                  # grace_hopper.jpg and a 3 MB-class phone photo
    .venv/bin/python bench/photo_overhead.py --rounds 60 --profile

The database is a throw-away SQLite file seeded like bench/api_load.py (a merchant, Grace Hopper enrolled).
Figures are noisy when other processes share the cores: read the medians, and compare runs made together.
"""
from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_load import GRACE_ID, GRACE_NAME, SECRET_ID, SECRET_KEY, grace_jpeg_b64, seed  # noqa: E402

HOST = "localhost"


def phone_photo_b64(max_b64_bytes: int) -> str:
    """Grace Hopper upscaled to a phone photo's size (4032 px wide), as a JPEG whose base64 fits the limit."""
    import matplotlib.cbook
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        img = Image.open(fh).convert("RGB")
    big = img.resize((3024, 3544), Image.LANCZOS)
    for quality in (92, 85, 75, 60, 45):
        buf = io.BytesIO()
        big.save(buf, format="JPEG", quality=quality)
        text = base64.b64encode(buf.getvalue()).decode("ascii")
        if len(text) <= max_b64_bytes:
            return text
    raise SystemExit("could not make a phone-sized photo under the limit")


def signed_headers(body: bytes, action: str = "ImageRecognitionV2") -> dict:
    from wx_backend.api import signing

    ts = int(time.time())
    date = signing.scope_date(ts)
    sig = signing.signature(SECRET_KEY, method="POST", uri="/", query="",
                            headers={"content-type": "application/json", "host": HOST},
                            signed_headers=("content-type", "host"), payload=body, timestamp=str(ts), date=date)
    return {"Content-Type": "application/json", "Host": HOST, "X-TC-Action": action,
            "X-TC-Version": "2018-03-01", "X-TC-Timestamp": str(ts),
            "Authorization": f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/faceid/tc3_request, "
                             f"SignedHeaders=content-type;host, Signature={sig}"}


def cpu_ms(fn) -> float:
    t0 = time.process_time()
    fn()
    return 1000 * (time.process_time() - t0)


class Breakdown:
    """CPU ms spent inside named callables, by wrapping them where the request path looks them up."""

    def __init__(self):
        self.spent: dict[str, float] = {}
        self.active = False

    def wrap(self, owner, attr: str, label: str) -> None:
        inner = getattr(owner, attr)

        def timed(*args, **kwargs):
            if not self.active:
                return inner(*args, **kwargs)
            t0 = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self.spent[label] = self.spent.get(label, 0.0) + 1000 * (time.process_time() - t0)
        setattr(owner, attr, timed)


def instrument(svc, engine) -> Breakdown:
    """Wrap the steps of the ImageRecognitionV2 path (inactive until ``Breakdown.active``)."""
    from wx_backend import db
    from wx_backend.api import gateway, replay
    from wx_backend.pipeline import charge
    from wx_backend.registry import photo_verify

    b = Breakdown()
    b.wrap(gateway, "_authenticate", "gateway: credential + signature")
    b.wrap(replay, "first_use", "gateway: replay claim")
    b.wrap(gateway, "_admit", "gateway: QPS window")
    b.wrap(gateway, "_params", "gateway: JSON body")
    b.wrap(charge, "reserve", "gateway: quota hold")
    b.wrap(gateway, "_close", "gateway: charge + usage record")
    b.wrap(db.database.obj, "close", "database: connection close")
    b.wrap(svc.registry, "lookup", "registry: lookup + unseal")
    b.wrap(photo_verify, "decode_base64_image", "engine: base64 + decode")
    b.wrap(engine, "analyse", "engine: analyse")
    b.wrap(engine, "compare", "engine: compare")
    return b


def wsgi_call(app, body: bytes, headers: dict):
    """What the server does for one request, from a ready WSGI environ to the last byte of the answer
    (building the environ is the HTTP server's and the client's work, made before the clock starts)."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/", method="POST", data=body, headers=headers).get_environ()

    def run():
        out = []
        for chunk in app(environ, lambda status, hdrs, exc_info=None: out.append):
            out.append(chunk)
        return b"".join(out)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="cProfile the request path")
    parser.add_argument("--sort", default="tottime", help="cProfile order (tottime, cumulative, ...)")
    parser.add_argument("--top", type=int, default=35, help="functions printed by --profile")
    parser.add_argument("--small-only", action="store_true", help="grace_hopper.jpg only")
    args = parser.parse_args(argv)

    from faceengine import FaceTemplate, IntakeLimits, decode_base64_image
    from wx_backend import create_app, db
    from wx_backend.services import EXTENSION_KEY
    from wx_backend.settings import Settings

    with tempfile.TemporaryDirectory(prefix="wxf-photo-") as tmpdir:
        tmp = Path(tmpdir)
        env = {"WXF_ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
               "HUEY_SQLITE_PATH": str(tmp / "huey.db")}
        seed(env)
        app = create_app(Settings.from_env(env))
        svc = app.extensions[EXTENSION_KEY]
        engine = svc.engine.get()
        limits = IntakeLimits(max_bytes=svc.settings.max_image_bytes)
        with app.app_context(), db.database.connection_context():
            reference = FaceTemplate.from_bytes(svc.registry.lookup(GRACE_ID).template)
        calls = iter(range(10**9))
        breakdown = instrument(svc, engine)

        photos = {"grace_hopper.jpg 512x600": grace_jpeg_b64(),
                  "phone photo 3024x3544": phone_photo_b64(svc.settings.max_image_bytes)}
        if args.small_only:
            photos.pop("phone photo 3024x3544")
        print(json.dumps({"rounds": args.rounds, "embedder": engine.model_id}))
        for label, photo in photos.items():
            def engine_verification():
                rgb = decode_base64_image(photo, limits)
                analysis = engine.analyse(rgb)
                engine.compare(analysis.template, reference)

            def request():
                body = json.dumps({"IdCard": GRACE_ID, "Name": GRACE_NAME, "ImageBase64": photo,
                                   "Extra": f"{next(calls):x}"}).encode()
                return wsgi_call(app, body, signed_headers(body))    # the client's work, not timed

            for _ in range(3):
                engine_verification()
                answer = json.loads(request()())["Response"]
            if answer.get("Result") != "Success":
                print(json.dumps({"error": f"{label}: ImageRecognitionV2 answered {answer}"}))
                return 1
            engine_ms, request_ms = [], []
            for _ in range(args.rounds):          # interleaved, so that load from elsewhere hits both alike
                engine_ms.append(cpu_ms(engine_verification))
                request_ms.append(cpu_ms(request()))
            e, r = statistics.median(engine_ms), statistics.median(request_ms)
            print(json.dumps({"photo": label, "base64_bytes": len(photo), "engine_cpu_ms": round(e, 1),
                              "request_cpu_ms": round(r, 1), "overhead_ms": round(r - e, 1),
                              "ratio": round(r / e, 3)}), flush=True)

            # Where the request's time goes (means; the wrappers cost a little themselves).
            breakdown.spent.clear()
            runs = [request() for _ in range(args.rounds)]
            breakdown.active = True
            total = sum(cpu_ms(run) for run in runs)
            breakdown.active = False
            parts = {k: round(v / args.rounds, 2) for k, v in sorted(breakdown.spent.items(), key=lambda kv: -kv[1])}
            parts["rest (Flask, Werkzeug, JSON, action code)"] = round((total - sum(breakdown.spent.values()))
                                                                       / args.rounds, 2)
            print(json.dumps({"photo": label, "request_cpu_ms_mean": round(total / args.rounds, 1),
                              "parts_ms": parts}, ensure_ascii=False), flush=True)
            if args.profile:
                prof = cProfile.Profile()
                runs = [request() for _ in range(args.rounds)]
                prof.enable()
                for run in runs:
                    run()
                prof.disable()
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.top)
                print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
