"""Fixtures of the verification-session tests: the real app over loopback HTTP, the WeChat emulator,
the real face engine and liveness resources (loaded once per test session), merchants with rules.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import pytest

from miniprogram_stub.client import MiniProgramClient
from miniprogram_stub.verify_client import VerifyFlow
from wx_backend import db
from wx_backend.clock import FrozenClock, utc_naive
from wx_backend.engine_holder import EngineHolder
from wx_backend.merchants.models import APPROVED, ApiCredential, Merchant, ResourcePack, Rule
from wx_backend.services import EXTENSION_KEY
from wx_backend.settings import DEV_MP_APPID
from wx_backend.verification import sessions

from ..conftest import serve

FACEDATA_VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "facedata" / "videos"
GRACE_ID = "11010519491231002X"
GRACE_NAME = "Grace Hopper"


@pytest.fixture(scope="session")
def liveness_kit(face_engine):
    from faceengine import LivenessKit
    return LivenessKit(face_engine)


@pytest.fixture
def enrolled(svc, face_engine, grace_rgb):
    """Grace Hopper in the authority registry (her photo's template)."""
    import base64

    from wx_backend.registry.photo_verify import photo_template

    with db.database.connection_context():
        template = photo_template(face_engine, base64.b64encode(jpeg(grace_rgb, 92)).decode(),
                                  svc.settings.max_image_bytes)
        svc.registry.put(GRACE_ID, GRACE_NAME, template.to_bytes(), template.model)


@pytest.fixture
def clock() -> FrozenClock:
    """Starts at the real time: the official SDK signs with the machine's clock."""
    return FrozenClock(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


@pytest.fixture
def settings(settings, emulator):
    return settings.replace(wechat_api_base=emulator.base_url, wechat_oauth_base=emulator.base_url)


@pytest.fixture
def overrides(overrides, face_engine, liveness_kit):
    """The test session's engine and liveness kit, loaded once (as a worker loads them after fork)."""
    return {**overrides, "engine": EngineHolder(lambda: face_engine),
            "liveness": EngineHolder(lambda: liveness_kit)}


@pytest.fixture
def vapp(app):
    return app


@pytest.fixture
def svc(vapp):
    return vapp.extensions[EXTENSION_KEY]


@pytest.fixture
def server(vapp):
    with serve(vapp) as address:
        yield f"http://{address}"


_counter = iter(range(10**6))


def make_merchant(svc, *, native: bool, packs: int = 100, secret: tuple[str, str] | None = None) -> Merchant:
    """An approved merchant; ``native``: whitelisted industry and WeChat-side review passed."""
    n = next(_counter)
    now = utc_naive(svc.clock.now())
    with db.database.connection_context():
        merchant = Merchant.create(
            name=f"商户{n}", uscc=f"91{n:016d}", industry_key="finance.bank" if native else "other",
            phone="13800000000", status=APPROVED, submitted_at=now, review_deadline=now.date(),
            wechat_review=APPROVED if native else "none", qps_limit=1000,
            channels_granted=["native_h5", "miniprogram", "h5", "api"] if native else ["h5", "api"])
        if packs:
            ResourcePack.create(merchant=merchant, product="live_verification", total=packs,
                                remaining=packs, created_at=now - dt.timedelta(days=1))
        if secret:
            ApiCredential.create(merchant=merchant, secret_id=secret[0],
                                 secret_key_sealed=svc.sealer.seal_text(secret[1]), created_at=now)
    return merchant


def make_rule(svc, merchant: Merchant, channel: str, mode: str) -> str:
    rule_id = f"{next(_counter) + 10**9}"
    with db.database.connection_context():
        Rule.create(rule_id=rule_id, merchant=merchant, channel=channel, liveness_mode=mode,
                    created_at=utc_naive(svc.clock.now()))
    return rule_id


def new_session(svc, merchant, rule_id: str, **fields) -> str:
    """DetectAuth's service, called directly (the Cloud API path is tested through the SDK)."""
    request = sessions.DetectAuthRequest(rule_id=rule_id, id_card=fields.get("id_card", GRACE_ID),
                                         name=fields.get("name", GRACE_NAME),
                                         redirect_url=fields.get("redirect_url", "https://m.example.com/done"),
                                         extra=fields.get("extra", ""),
                                         image_base64=fields.get("image_base64", ""))
    with db.database.connection_context():
        return sessions.create_session(merchant, request, settings=svc.settings, clock=svc.clock,
                                       sealer=svc.sealer).biz_token


@pytest.fixture
def native_merchant(svc):
    return make_merchant(svc, native=True)


@pytest.fixture
def plain_merchant(svc):
    return make_merchant(svc, native=False)


@pytest.fixture
def mp_user(server, emulator):
    """A signed-in mini-program user (``user`` names the WeChat account in the emulator)."""
    def sign_in(user: str = "alice") -> MiniProgramClient:
        mp = MiniProgramClient(api_base=server, emulator_base=emulator.base_url, appid=DEV_MP_APPID,
                               user=user)
        mp.login()
        return mp
    return sign_in


@pytest.fixture
def flow(mp_user):
    def open_flow(biz_token: str, user: str = "alice") -> VerifyFlow:
        return VerifyFlow(mp_user(user), biz_token)
    return open_flow


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def grey_capture(duration_ms: float = 3000, fps: float = 15) -> list[tuple[float, bytes]]:
    """A capture with no face at all (a camera pointed at a wall): a verdict, never a pass."""
    img = np.full((480, 640, 3), 128, np.uint8)
    data = jpeg(img)
    return [(round(i * 1000 / fps, 1), data) for i in range(int(duration_ms * fps / 1000) + 1)]
