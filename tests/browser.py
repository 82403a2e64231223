"""Headless Chromium for the page tests (H5 capture pages, merchant console), and their screenshots.

Tests that use ``chrome`` carry ``needs_browser``: they skip with the reason where Chromium or
chromedriver is not installed (.ci/run installs both). Screenshots go to ``$WXF_TEST_SCREENSHOTS``
when it is set (to keep them: the closing notes show them), else to the test session's temp dir.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                   reason="headless Chromium + chromedriver not installed "
                                          "(apt-get install chromium chromium-driver; .ci/run does)")

WECHAT_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2701(0x28003237) NetType/WIFI")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chrome(profile_dir: Path, *, user_agent: str = "", fake_camera: Path | None = None,
           window: tuple[int, int] = (480, 900)):
    """A headless Chromium driven by chromedriver (the caller quits it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             f"--user-data-dir={profile_dir}", f"--window-size={window[0]},{window[1]}",
             "--autoplay-policy=no-user-gesture-required", "--lang=zh-CN"]
    if user_agent:
        flags.append(f"--user-agent={user_agent}")
    if fake_camera is not None:
        flags += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={fake_camera}"]
    for flag in flags:
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    wanted = os.environ.get("WXF_TEST_SCREENSHOTS", "")
    path = Path(wanted) if wanted else tmp_path_factory.mktemp("screens")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def screenshot(screenshot_dir):
    """``screenshot(driver, "name")`` saves the whole page as name.png and returns its path."""
    def take(driver, name: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        height = driver.execute_script("return Math.max(document.body.scrollHeight, window.innerHeight)")
        width = driver.get_window_size()["width"]
        driver.set_window_size(width, min(int(height) + 140, 4000))
        path = screenshot_dir / f"{safe}.png"
        driver.save_screenshot(str(path))
        return path
    return take
