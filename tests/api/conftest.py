"""Fixtures of the Cloud API tests: the real app served over HTTP, the official SDK client, real faces.

The face engine is the real one, loaded once per test session (MediaPipe + dlib) and shared by the apps.
Merchants are created with the shared models (onboarding's service is not needed to exercise the API).
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import math
import threading
import time

import numpy as np
import pytest
from PIL import Image

from wx_backend import db
from wx_backend.clock import FrozenClock, utc_naive
from wx_backend.engine_holder import EngineHolder
from wx_backend.merchants.models import APPROVED, ApiCredential, Merchant, ResourcePack
from wx_backend.services import EXTENSION_KEY

from ..conftest import FACEDATA, serve  # noqa: F401  (FACEDATA re-exported for the tests)

GRACE_ID = "11010519491231002X"     # a GB 11643-valid number (check character X)
GRACE_NAME = "Grace Hopper"
ASTRONAUT_ID = "440308199001011239"
ASTRONAUT_NAME = "艾琳·柯林斯"


def jpeg_b64(rgb: np.ndarray, quality: int = 90) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return base64.b64encode(buf.getvalue()).decode("ascii")


@pytest.fixture
def clock() -> FrozenClock:
    """Starts at the real time: the official SDK signs with the machine's clock. Tests move it by hand."""
    return FrozenClock(dt.datetime.now(dt.timezone.utc))


@pytest.fixture
def overrides(overrides, face_engine):
    """The test session's engine, loaded once (as a worker loads it after fork)."""
    return {**overrides, "engine": EngineHolder(lambda: face_engine)}


@pytest.fixture
def api_app(app):
    return app


@pytest.fixture
def svc(api_app):
    return api_app.extensions[EXTENSION_KEY]


@pytest.fixture
def server(api_app):
    """The app on a real loopback HTTP port, threaded (several requests at once); yields host:port."""
    with serve(api_app) as address:
        yield address


def make_merchant(svc, *, name="测试商户", secret_id="AKIDtestmerchant0001", secret_key="test-secret-key-0001",
                  status=APPROVED, packs: dict[str, int] | None = None, postpaid=False, qps=20) -> Merchant:
    now = utc_naive(svc.clock.now())
    with db.database.connection_context():
        merchant = Merchant.create(
            name=name, uscc=secret_id[-18:].upper().rjust(18, "9"), industry_key="finance.bank", phone="13800000000",
            status=status, submitted_at=now, review_deadline=now.date(), qps_limit=qps, postpaid=postpaid,
            channels_granted=["api"])
        ApiCredential.create(merchant=merchant, secret_id=secret_id, secret_key_sealed=svc.sealer.seal_text(secret_key),
                             created_at=now)
        for i, (product, calls) in enumerate((packs or {}).items()):
            ResourcePack.create(merchant=merchant, product=product, total=calls, remaining=calls,
                                label=f"pack {i}", created_at=now - dt.timedelta(days=1))
    return merchant


def sdk_client(endpoint: str, secret_id: str, secret_key: str):
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.faceid.v20180301 import faceid_client

    http = HttpProfile(protocol="http", endpoint=endpoint)
    http.reqTimeout = 60
    return faceid_client.FaceidClient(credential.Credential(secret_id, secret_key), "",
                                      ClientProfile(httpProfile=http))


@pytest.fixture
def merchant(svc):
    # A high limit: the injected clock stands still, so every call of a test falls in one second.
    return make_merchant(svc, packs={"photo_verification": 100, "live_verification": 100, "liveness": 100},
                         qps=1000)


@pytest.fixture
def faceid(server, merchant):
    return sdk_client(server, "AKIDtestmerchant0001", "test-secret-key-0001")


@pytest.fixture
def enrolled(svc, face_engine, grace_rgb, astronaut_rgb):
    """Grace Hopper and the astronaut in the authority registry, with their photos' templates."""
    from wx_backend.registry.photo_verify import photo_template

    with db.database.connection_context():
        for id_number, name, rgb in ((GRACE_ID, GRACE_NAME, grace_rgb), (ASTRONAUT_ID, ASTRONAUT_NAME, astronaut_rgb)):
            template = photo_template(face_engine, jpeg_b64(rgb), svc.settings.max_image_bytes)
            svc.registry.put(id_number, name, template.to_bytes(), template.model)


def mp4_b64(frames_rgb: list[np.ndarray], fps: int = 15) -> str:
    """H.264 MP4 (PyAV) of RGB frames, base64."""
    import av

    h, w = frames_rgb[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        for rgb in frames_rgb:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h - h % 2, :w - w % 2]), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def live_code_burst(clients) -> tuple[list[str], float]:
    """One GetLiveCode per client, all released at once: (each call's code, the seconds from the first
    send to the last answer, an interval that holds every arrival at the server)."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.faceid.v20180301 import models

    barrier = threading.Barrier(len(clients))
    outcomes: list[str] = []
    spans: list[float] = []
    lock = threading.Lock()

    def call(client):
        barrier.wait()
        start = time.monotonic()
        try:
            client.GetLiveCode(models.GetLiveCodeRequest())
            outcome = "Success"
        except TencentCloudSDKException as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)
            spans.extend([start, time.monotonic()])

    threads = [threading.Thread(target=call, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes, max(spans) - min(spans)


def assert_limit_held(outcomes: list[str], span_s: float, limit: int) -> None:
    """Sliding one-second log: the first ``limit`` arrivals are always admitted, and no 1 s interval admits
    more than ``limit``, so an interval of span_s admits at most limit * ceil(span_s)."""
    admitted = outcomes.count("Success")
    assert admitted + outcomes.count("RequestLimitExceeded") == len(outcomes), outcomes
    assert limit <= admitted <= limit * max(1, math.ceil(span_s)), (admitted, span_s)
    if span_s < 1.0:
        assert admitted == limit, (admitted, span_s)

