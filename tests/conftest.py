"""Composed fixtures: settings -> clock -> app -> client. Real SQLite on disk, an injected clock."""
from __future__ import annotations

import contextlib
import os
import datetime as dt
from pathlib import Path

import pytest

from wx_backend import create_app, db
from wx_backend.clock import FrozenClock
from wx_backend.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FACEDATA = SHARED / "facedata"


# -- real faces and the real engine, shared by every test directory ----------------------------
@pytest.fixture(scope="session")
def face_engine():
    """One FaceEngine for the whole test session (models load once, as in a worker process)."""
    from faceengine.engine import FaceEngine

    engine = FaceEngine().load()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def grace_rgb():
    """Grace Hopper, 512x600 RGB (matplotlib sample data)."""
    import numpy as np
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        return np.asarray(Image.open(fh).convert("RGB"))


@pytest.fixture(scope="session")
def grace_portrait(grace_rgb):
    """Grace Hopper as a capture portrait (640x480 frame, landmarks) for synthesised live captures."""
    from capture_synth import liveness as liveness_synth
    from faceengine.detect import FaceMesher

    mesher = FaceMesher(max_faces=1, static=True)
    try:
        return liveness_synth.Portrait.from_photo(grace_rgb, mesher)
    finally:
        mesher.close()


@pytest.fixture(scope="session")
def astronaut_rgb():
    """Eileen Collins, 512x512 RGB (scikit-image sample data)."""
    import numpy as np
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def pytest_collection_modifyitems(config, items):
    if not FACEDATA.is_dir():
        skip = pytest.mark.skip(reason=f"{FACEDATA} is absent (shared test material)")
        for item in items:
            if "shared" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        env="testing",
        database_url=f"sqlite:///{tmp_path / 'test.db'}",
        huey_sqlite_path=str(tmp_path / "huey.db"),
        huey_immediate=True,
        public_base_url="http://testserver",
    )


@pytest.fixture
def clock() -> FrozenClock:
    # A Monday morning in Beijing (01:00 UTC) so working-day arithmetic is easy to read.
    return FrozenClock(dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.timezone.utc))


@pytest.fixture
def overrides() -> dict:
    """Collaborators to replace in the app (fakes at process edges). Tests extend this."""
    return {}


@pytest.fixture
def app(settings, clock, overrides):
    application = create_app(settings, clock=clock, overrides=overrides)
    with application.app_context():
        db.create_tables()
    yield application
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_ctx(app):
    """Run domain code that needs the database outside a request."""
    with app.app_context():
        db.database.connect(reuse_if_open=True)
        yield app
        db.database.close()


def _postgres_reachable(dsn: str) -> str:
    """'' when reachable, else the reason."""
    try:
        import psycopg2
        conn = psycopg2.connect(dsn, connect_timeout=3)
        conn.close()
        return ""
    except Exception as exc:  # any failure means: skip with the reason
        return f"PostgreSQL not reachable at {dsn}: {exc}".strip()


PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"

# Redis databases the tests flush. WXF_TEST_REDIS_DB moves them (this one and the one below it) so that
# two checkouts can run their suites at the same time against one Redis.
REDIS_DB = int(os.environ.get("WXF_TEST_REDIS_DB", "15"))
REDIS_TEST_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
REDIS_TEST_URL_2 = f"redis://127.0.0.1:6379/{REDIS_DB - 1}"


@pytest.fixture
def pg_url():
    """A DATABASE_URL on a fresh PostgreSQL schema (dropped afterwards); skips when absent."""
    reason = _postgres_reachable(PG_DSN)
    if reason:
        pytest.skip(reason)
    import uuid

    import psycopg2
    schema = f"t_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_DSN}?options=-csearch_path%3D{schema}"
    finally:
        conn.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


@pytest.fixture
def redis_url():
    """A Redis URL (database 15 unless WXF_TEST_REDIS_DB says, flushed before and after); skips when
    absent."""
    url = REDIS_TEST_URL
    try:
        import redis
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:  # any failure means: skip with the reason
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def emulator(clock):
    """The WeChat emulator on an ephemeral loopback port, on the test's clock, knowing the default
    (development) apps of Settings. Point an app at it with
    ``settings.replace(wechat_api_base=emulator.base_url, wechat_oauth_base=emulator.base_url)``."""
    from miniprogram_stub.emulator import running_emulator
    defaults = Settings()
    with running_emulator(mp_apps=[(defaults.mp_appid, defaults.mp_secret)],
                          oa_apps=[(defaults.oa_appid, defaults.oa_secret)], clock=clock) as emu:
        yield emu


@contextlib.contextmanager
def serve(app, port: int = 0):
    """Serve a WSGI app over real HTTP on loopback (an ephemeral port by default, threaded); yields
    host:port."""
    import threading

    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              name="live-server", daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """The app served over real HTTP; yields its base URL."""
    with serve(app) as address:
        yield f"http://{address}"


def charged_call(merchant_id: int, product: str, raw_key: str, code: str, masked: str = "", *, now,
                 action: str = "") -> bool:
    """A finished call as the session path records it: charged once per key (``pipeline.charge``),
    then its usage record. True when this call paid now."""
    from wx_backend.pipeline import charge
    from wx_backend.result_codes import lookup

    result = lookup(code)
    charged = charge.charge(charge.charge_key(merchant_id, product, raw_key), result, now)
    charge.record_usage(merchant_id, action or product, product, result.tencent, charged, masked, "", now)
    return charged


@pytest.fixture
def sdk_later(monkeypatch):
    """``sdk_later(seconds)``: the official SDK signs as if ``seconds`` later (its retries re-sign after a
    back-off of a second or more; two calls of a test can otherwise fall in one second and carry one
    signature, which the gateway executes once)."""
    import time as real_time
    import types

    from tencentcloud.common import abstract_client

    def shift(seconds: float) -> None:
        shim = types.SimpleNamespace(**{n: getattr(real_time, n) for n in dir(real_time) if not n.startswith("__")})
        shim.time = lambda: real_time.time() + seconds
        monkeypatch.setattr(abstract_client, "time", shim)
    return shift
