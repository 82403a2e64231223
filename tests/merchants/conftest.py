from __future__ import annotations

import io

import pytest
from PIL import Image

from wx_backend.merchants.deps import OnboardingDeps
from wx_backend.merchants.seed import licence_png
from wx_backend.merchants.sms import MemorySmsGateway
from wx_backend.services import services

# Real published codes (Tencent Shenzhen, Alibaba China, Huawei, a Fuzhou firm) and one more.
VALID_USCC = ["9144030071526726XG", "91330100799655058B", "914403001922038216",
              "91350100M000100Y43", "91110000802100433B"]


@pytest.fixture
def sms() -> MemorySmsGateway:
    return MemorySmsGateway()


@pytest.fixture
def overrides(sms):
    return {"sms": sms}


@pytest.fixture
def deps(app_ctx) -> OnboardingDeps:
    return OnboardingDeps.from_services(services())


@pytest.fixture
def licence() -> bytes:
    return licence_png()


def jpeg_bytes(size=(800, 600)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 200, 190)).save(buf, "JPEG")
    return buf.getvalue()
