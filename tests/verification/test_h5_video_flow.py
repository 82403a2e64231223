"""Ordinary H5 end to end: a merchant without native rights is served on the recorded-video path.

The WeChat browser is a requests.Session with a MicroMessenger User-Agent that follows the
official-account OAuth round trip through the emulator; the video is a WebM (VP8 + Opus) encoded
here from a real face reading the issued code. The job runs eagerly (huey immediate mode), its
state is in the database, the raw video is gone after the verdict, and the merchant pulls the
result with the official SDK.
"""
from __future__ import annotations

import random
from urllib.parse import urlsplit

import pytest
import requests

from wx_backend import db
from wx_backend.billing.models import Charge
from wx_backend.verification.models import VideoJob

from capture_synth import lip as talking
from .conftest import make_merchant, make_rule
from .test_cloud_actions import PLAIN_KEYS, detect_auth, detect_info, sdk

WECHAT_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.47 NetType/WIFI"


class WeChatBrowser:
    """Follows redirects between our server and the emulator's authorize page, keeping cookies."""

    def __init__(self, server: str, user: str):
        self.server, self.user = server, user
        self.http = requests.Session()
        self.http.headers["User-Agent"] = WECHAT_UA

    def open(self, url: str) -> requests.Response:
        for _ in range(6):
            resp = self.http.get(url, allow_redirects=False, timeout=10,
                                 params={"user": self.user} if "/connect/oauth2/authorize" in url else None)
            if resp.status_code not in (301, 302, 303):
                return resp
            # The app's public base URL (settings.public_base_url) is this server.
            location = resp.headers["Location"].split("#")[0].replace("http://testserver", self.server)
            url = location if urlsplit(location).scheme else self.server + location
        raise AssertionError("too many redirects")

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, f"{self.server}{path}", timeout=60, **kwargs)


@pytest.fixture
def plain_h5(svc, enrolled):
    merchant = make_merchant(svc, native=False, secret=PLAIN_KEYS)
    return merchant, make_rule(svc, merchant, "h5", "lip"), make_rule(svc, merchant, "native_h5", "lip")


def record(portrait, challenge: dict, seed: int, container: str = "webm") -> bytes:
    """A video of a real face reading the issued (paced) digits as each appears: duration_ms long."""
    rng = random.Random(seed)
    reading = talking.Reading.following(challenge, rng)
    frames = talking.lip_capture(portrait, reading, rng)
    return talking.encode_video(frames, talking.voiced_audio(reading, rng), container)


def test_ordinary_h5_video_is_verified_in_the_background_and_pulled(server, plain_h5, grace_portrait):
    _, h5_rule, native_rule = plain_h5
    client = sdk(server, PLAIN_KEYS)
    with pytest.raises(Exception) as refused:
        detect_auth(client, native_rule)
    assert refused.value.get_code() == "FailedOperation.ChannelNotAllowed"
    created = detect_auth(client, h5_rule)
    token = created.BizToken

    browser = WeChatBrowser(server, "carol")
    page = browser.open(created.Url.replace("http://testserver", server))
    assert page.status_code == 200 and "MediaRecorder" in page.text and "上传至核身服务器" in page.text
    assert "录制的视频在得出结果后立即删除" in page.text

    assert browser.api("POST", f"/api/biz/{token}/consent",
                       json={"agree": True, "version": "2026-11-v1"}).status_code == 200
    ch = browser.api("GET", f"/api/biz/{token}/challenge").json()
    video = record(grace_portrait, ch["challenge"], 5)
    assert len(video) < 8 * 1024 * 1024
    resp = browser.api("POST", f"/api/biz/{token}/video", data={"nonce": ch["nonce"]},
                       files={"video": ("capture.webm", video, "video/webm")})
    assert resp.status_code == 202, resp.text
    assert resp.json()["attempt"] == 1

    status = browser.api("GET", f"/api/biz/{token}/status").json()
    assert status["state"] == "finished", status
    assert status["last_attempt"]["passed"] is True
    assert status["redirect"] == f"https://m.example.com/back?x=1&token={token}"

    text = detect_info(client, token, h5_rule).Text
    assert text.ErrCode == 0 and float(text.Sim) >= 70 and text.LiveStatus == 0
    with db.database.connection_context():
        [job] = VideoJob.select()
        assert job.state == "done" and job.video_sealed is None and job.runs == 1
        assert Charge.select().count() == 1

    # Another WeChat user holding the link gets nowhere.
    intruder = WeChatBrowser(server, "mallory")
    page = intruder.open(created.Url.replace("http://testserver", server))
    assert page.status_code == 403 and "已绑定其他微信用户" in page.text


def test_bad_videos_are_refused_before_anything_changes(server, plain_h5, svc):
    _, h5_rule, _ = plain_h5
    token = detect_auth(sdk(server, PLAIN_KEYS), h5_rule).BizToken
    browser = WeChatBrowser(server, "dave")
    browser.open(f"{server}/h5/biz/{token}")
    browser.api("POST", f"/api/biz/{token}/consent", json={"agree": True, "version": "2026-11-v1"})
    nonce = browser.api("GET", f"/api/biz/{token}/challenge").json()["nonce"]
    cases = [(b"", "FailedOperation.LipSizeError"), (b"GIF89a" + b"\0" * 100, "FailedOperation.LipVideoInvalid"),
             (b"\x1a\x45\xdf\xa3" + b"\0" * 500, "FailedOperation.LipVideoInvalid"),
             (b"\x1a\x45\xdf\xa3" + b"\0" * (svc.settings.max_video_bytes + 1), "FailedOperation.LipSizeError")]
    for data, code in cases:
        resp = browser.api("POST", f"/api/biz/{token}/video", data={"nonce": nonce},
                           files={"video": ("capture.webm", data, "video/webm")})
        assert resp.json()["error"]["code"] == code, (len(data), resp.text)
    status = browser.api("GET", f"/api/biz/{token}/status").json()
    assert status["attempts_used"] == 0 and status["state"] == "open"
    with db.database.connection_context():
        assert VideoJob.select().count() == 0


def test_native_h5_page_for_a_whitelisted_merchant(server, svc):
    from .test_cloud_actions import NATIVE_KEYS
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    rule = make_rule(svc, merchant, "native_h5", "light")
    token = detect_auth(sdk(server, NATIVE_KEYS), rule).BizToken
    page = WeChatBrowser(server, "grace").open(f"{server}/h5/biz/{token}")
    assert page.status_code == 200
    assert "getUserMedia" in page.text and '"frames"' in page.text and "MediaRecorder" not in page.text
    assert "不保存视频" in page.text


def action_video(portrait, sequence: str, seed: int) -> bytes:
    """A real face doing the issued actions in the issued order (1 = open mouth, 2 = blink), as WebM."""
    from capture_synth.liveness import animated_capture, none, pulse

    times = dict(zip(sequence.split(","), (600, 2200)))
    mouth = pulse(times["1"], 700, 0.45) if "1" in times else none
    eyes = pulse(times["2"], 300) if "2" in times else none
    frames = animated_capture(portrait, mouth, eyes, 3500, random.Random(seed))
    return talking.encode_video(frames, None, "webm")


@pytest.fixture
def plain_action(svc, enrolled):
    merchant = make_merchant(svc, native=False, secret=PLAIN_KEYS)
    return make_rule(svc, merchant, "h5", "action")


def _upload_action(server, token, portrait, user, order_of) -> dict:
    browser = WeChatBrowser(server, user)
    assert browser.open(f"{server}/h5/biz/{token}").status_code == 200
    browser.api("POST", f"/api/biz/{token}/consent", json={"agree": True, "version": "2026-11-v1"})
    ch = browser.api("GET", f"/api/biz/{token}/challenge").json()
    sequence = ch["challenge"]["sequence"]
    resp = browser.api("POST", f"/api/biz/{token}/video", data={"nonce": ch["nonce"]},
                       files={"video": ("capture.webm", action_video(portrait, order_of(sequence), 7),
                                        "video/webm")})
    assert resp.status_code == 202, resp.text
    return browser.api("GET", f"/api/biz/{token}/status").json()


def test_ordinary_h5_action_session_passes_in_the_issued_order(server, plain_action, grace_portrait):
    client = sdk(server, PLAIN_KEYS)
    token = detect_auth(client, plain_action).BizToken
    status = _upload_action(server, token, grace_portrait, "erin", lambda seq: seq)
    assert status["state"] == "finished" and status["last_attempt"]["passed"] is True, status
    text = detect_info(client, token, plain_action).Text
    assert text.ErrCode == 0 and float(text.Sim) >= 70


def test_ordinary_h5_action_in_the_reverse_order_fails_uncharged(server, plain_action, grace_portrait):
    client = sdk(server, PLAIN_KEYS)
    token = detect_auth(client, plain_action).BizToken
    issued = []
    status = _upload_action(server, token, grace_portrait, "frank",
                            lambda seq: issued.append(seq) or ",".join(reversed(seq.split(","))))
    assert status["last_attempt"]["passed"] is False
    # Both actions were made, in the other order: the user is told so, with the order asked for.
    assert status["last_attempt"]["code"] == "FailedOperation.ActionOrderError", status
    first, second = ({"1": "张嘴", "2": "眨眼"}[a] for a in issued[0].split(","))
    assert status["last_attempt"]["hint"] == f"动作顺序不对：请先{first}，再{second}。"
    with db.database.connection_context():
        assert Charge.select().count() == 0
