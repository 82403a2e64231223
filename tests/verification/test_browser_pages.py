"""The H5 capture pages in a real headless Chromium: OAuth through the emulator, consent, the camera
(Chromium's fake camera playing a real face photo), the page's own JavaScript capturing and uploading,
and the verdict the page shows.

The fake camera shows a still photo, so the correct outcome is a failed liveness check: what these tests
prove is the page's whole path (getUserMedia, canvas JPEG frames or MediaRecorder video, upload, status
polling) working against the real server, and the server's verdict on what the browser really sent.
Skipped where Chromium and chromedriver are not installed (.ci/run installs them).
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from wx_backend import db
from wx_backend.result_codes import lookup
from wx_backend.pipeline.challenge import OneTimeChallenge
from wx_backend.verification import user_text
from wx_backend.verification.models import Attempt

from ..browser import WECHAT_UA, chrome, free_port, needs_browser, screenshot, screenshot_dir  # noqa: F401
from ..conftest import serve
from .conftest import make_merchant, make_rule
from .test_cloud_actions import detect_auth, sdk

pytestmark = needs_browser
KEYS = ("AKIDbrowsermerchant01", "browser-merchant-key")


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(settings, port):
    # The OAuth redirect must come back to the address the browser uses.
    return settings.replace(public_base_url=f"http://127.0.0.1:{port}")


@pytest.fixture
def page_server(vapp, port):
    with serve(vapp, port=port) as address:
        yield f"http://{address}"


@pytest.fixture
def fake_camera(tmp_path, grace_rgb) -> Path:
    """A Y4M clip of Grace Hopper's photo, 640x480, which Chromium plays as the camera."""
    h, w = grace_rgb.shape[:2]
    scale = 440 / h
    face = cv2.resize(grace_rgb, (int(w * scale), 440))
    canvas = np.full((480, 640, 3), 200, np.uint8)
    x = (640 - face.shape[1]) // 2
    canvas[20:460, x:x + face.shape[1]] = face
    yuv = cv2.cvtColor(canvas, cv2.COLOR_RGB2YUV_I420)
    path = tmp_path / "camera.y4m"
    with path.open("wb") as fh:
        fh.write(b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg\n")
        for _ in range(15):
            fh.write(b"FRAME\n" + yuv.tobytes())
    return path


@pytest.fixture
def browser(fake_camera, tmp_path):
    driver = chrome(tmp_path / "profile", user_agent=WECHAT_UA, fake_camera=fake_camera)
    try:
        yield driver
    finally:
        driver.quit()


def _start_session(svc, page_server, channel: str, mode: str) -> tuple[str, str]:
    merchant = make_merchant(svc, native=True, secret=KEYS)
    rule = make_rule(svc, merchant, channel, mode)
    created = detect_auth(sdk(page_server, KEYS), rule)
    return created.BizToken, f"{page_server}/h5/biz/{created.BizToken}"


# Records every text the #prompt element shows (window.prompts), however briefly: each change is a
# DOM mutation (setting textContent replaces the text node, or removes it for ""), so nothing
# depends on how often the test looks.
WATCH_PROMPT = """
const el = document.getElementById('prompt');
window.prompts = [el.textContent];
new MutationObserver(records => records.forEach(r => window.prompts.push(
    r.type === 'characterData' ? r.target.data : [...r.addedNodes].map(n => n.textContent).join(''))))
    .observe(el, {childList: true, characterData: true, subtree: true});
"""


def open_capture(browser, url: str) -> None:
    """Through OAuth to the page, consent, and the camera live."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)      # -> our OAuth start -> the emulator's authorize page -> our callback -> the page
    wait = WebDriverWait(browser, 20)
    wait.until(ec.element_to_be_clickable((By.ID, "agree"))).click()
    # The camera is live once the video element has frames.
    wait.until(lambda d: d.execute_script("return document.getElementById('cam').videoWidth") > 0)


def outcome_text(browser, timeout_s: float) -> str:
    """Wait for the attempt's outcome panel; its text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, timeout_s).until(lambda d: d.find_element(By.ID, "outcome").is_displayed())
    return browser.find_element(By.ID, "outcome").text


def _consent_and_capture(browser, url: str, timeout_s: float) -> str:
    from selenium.webdriver.common.by import By

    open_capture(browser, url)
    browser.execute_script(WATCH_PROMPT)
    browser.find_element(By.ID, "go").click()
    return outcome_text(browser, timeout_s)


def _attempts() -> list[Attempt]:
    with db.database.connection_context():
        return list(Attempt.select().order_by(Attempt.id))


# What the server may answer for a capture it could decode and judge, but that is not live.
NOT_LIVE = {lookup(c).tencent for c in ("ReflectionFail", "LivessDetectFake", "LivessDetectFail",
                                        "SilentDetectFail", "LipMoveSmall")}


@pytest.mark.parametrize("channel, mode, kind", [
    # native H5: the page flashes the colours and uploads canvas JPEG frames; verdict at once
    ("native_h5", "light", "frames"),
    # ordinary H5: MediaRecorder WebM, verified in the background, the page polls /status
    ("h5", "silent", "video"),
])
def test_page_captures_uploads_and_shows_the_verdict(svc, enrolled, page_server, browser, channel, mode, kind,
                                                    screenshot):
    _, url = _start_session(svc, page_server, channel, mode)
    shown = _consent_and_capture(browser, url, timeout_s=90)
    [attempt] = _attempts()
    # Not passed, why (the code's message and what to do), the attempts left, and a way to retry.
    result = lookup(attempt.code)
    assert "本次未通过" in shown and result.message in shown and "还可尝试 2 次" in shown, shown
    assert user_text.hint(result.tencent) in shown
    from selenium.webdriver.common.by import By
    assert browser.find_element(By.ID, "retry").is_displayed()
    screenshot(browser, f"{channel}-{mode}-not-passed")
    # The capture really arrived and was judged: a still photo neither reflects the flashed colours
    # nor moves like a face.
    assert attempt.kind == kind and attempt.live_code in NOT_LIVE, attempt.live_code
    assert attempt.is_need_charge is False


@pytest.mark.parametrize("channel, kind", [("native_h5", "frames"), ("h5", "video")])
def test_digit_page_shows_the_digits_one_at_a_time_at_their_moments(svc, enrolled, page_server, browser,
                                                                   channel, kind):
    """Paced digit challenge: a get-ready hint, then each digit alone, in the issued order, with a
    blank before each (a repeated digit is seen to appear again); the whole code is never on
    screen (reading it ahead would not follow the digits' moments)."""
    _, url = _start_session(svc, page_server, channel, "lip")
    _consent_and_capture(browser, url, timeout_s=90)
    with db.database.connection_context():
        [issued] = [json.loads(svc.sealer.open(c.payload_sealed)) for c in OneTimeChallenge.select()]
    assert len(issued["show_ms"]) == len(issued["code"])
    shown = [text for text, _ in itertools.groupby(browser.execute_script("return window.prompts"))]
    expected = ["", "准备"] + [x for digit in issued["code"] for x in ("", digit)] + [""]
    assert shown == expected, (shown, issued["code"])
    [attempt] = _attempts()
    # The capture arrived and was judged: a still photo's mouth does not move with the digits.
    assert attempt.kind == kind and attempt.live_code in NOT_LIVE, attempt.live_code
    assert attempt.is_need_charge is False
