"""What the ordinary-H5 recording page shows, state by state, in a real headless Chromium: the recording
indicator and countdown, the spinner with the true queue position, not passed (why, what to do, attempts
left), the third failure, passed, the wrong action order named as such, the silent mode's wording, and
the light page's guidance before it starts. Screenshots of each state are saved (tests/browser.py).

The job queue is not run eagerly here: the video waits in the real (SQLite) Huey queue behind others,
and the test plays the worker. Where the verdict matters to what the page must show and a still camera
cannot produce it (a pass, both actions in the wrong order), the test writes that verdict through the
service the worker uses (``attempts.record_verdict``); every other verdict is the real engine's on the
video the browser recorded (``jobs.process_video``).
"""
from __future__ import annotations

import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from wx_backend import db
from wx_backend.pipeline import intake
from wx_backend.pipeline.verify import Verdict
from wx_backend.result_codes import lookup
from wx_backend.verification import attempts, jobs, user_text
from wx_backend.verification.models import JOB_DONE, Attempt, VerificationSession, VideoJob

from ..browser import needs_browser, screenshot, screenshot_dir  # noqa: F401
from .conftest import make_merchant, make_rule, new_session
from .test_browser_pages import (browser, fake_camera, open_capture, outcome_text, page_server,  # noqa: F401
                                 port)
from .test_cloud_actions import GRACE_ID, GRACE_NAME, sdk

pytestmark = needs_browser
KEYS = ("AKIDoutcomemerchant01", "outcome-merchant-key")
ACTION_NAMES = {"1": "张嘴", "2": "眨眼"}

# Every text an element shows while the test looks elsewhere (window.seen[id]).
WATCH = """
window.seen = window.seen || {};
for (const id of arguments[0]) {
  const el = document.getElementById(id);
  window.seen[id] = [el.textContent];
  new MutationObserver(() => window.seen[id].push(el.textContent))
      .observe(el, {childList: true, characterData: true, subtree: true});
}
"""


@pytest.fixture
def settings(settings, port):
    # The OAuth redirect comes back to the address the browser uses; videos wait in the queue
    # (SQLite Huey, no consumer) until the test runs them.
    return settings.replace(public_base_url=f"http://127.0.0.1:{port}", huey_immediate=False)


def start(svc, page_server, mode: str) -> tuple[str, str, str]:
    """An ordinary-H5 session whose RedirectUrl is on this server; (BizToken, page URL, redirect)."""
    from tencentcloud.faceid.v20180301 import models as m

    merchant = make_merchant(svc, native=False, secret=KEYS)
    rule = make_rule(svc, merchant, "h5", mode)
    back = f"{page_server}/healthz?from=merchant"
    req = m.DetectAuthRequest()
    req.from_json_string(json.dumps({"RuleId": rule, "IdCard": GRACE_ID, "Name": GRACE_NAME,
                                     "RedirectUrl": back}))
    token = sdk(page_server, KEYS).DetectAuth(req).BizToken
    return token, f"{page_server}/h5/biz/{token}", back


def queue_others(svc, n: int) -> list[int]:
    """``n`` other users' videos, queued before ours (undecodable: their worker voids them)."""
    merchant = make_merchant(svc, native=False)
    rule = make_rule(svc, merchant, "h5", "silent")
    ids = []
    for i in range(n):
        with db.database.connection_context():
            other = VerificationSession.get(VerificationSession.biz_token == new_session(svc, merchant, rule))
            attempt = jobs.submit_video(other, f"other-{i}", {}, intake.Video(b"\x1a\x45\xdf\xa3 not a video", "webm"),
                                        svc)
            ids.append(VideoJob.get(VideoJob.attempt == attempt.id).id)
    return ids


def our_job(token: str) -> VideoJob:
    with db.database.connection_context():
        session = VerificationSession.get(VerificationSession.biz_token == token)
        attempt = session.attempts.order_by(Attempt.seq.desc()).first()
        return VideoJob.get(VideoJob.attempt == attempt.id)


def run_job(svc, job_id: int) -> str:
    with db.database.connection_context():
        return jobs.process_video(job_id, svc)


def decide(svc, job_id: int, verdict: Verdict) -> None:
    """The worker's last step with a given verdict: written and charged once, the video gone."""
    with db.database.connection_context():
        assert jobs.claim(job_id, svc.clock.now(), svc.settings.job_lease_s)
        job = VideoJob.get_by_id(job_id)
        with db.database.atomic():
            assert attempts.record_verdict(Attempt.get_by_id(job.attempt_id), verdict, sealer=svc.sealer,
                                           clock=svc.clock)
            VideoJob.update(state=JOB_DONE, video_sealed=None).where(VideoJob.id == job_id).execute()


def record(browser) -> None:
    """Click to record; return once the upload is done (the page shows the queue)."""
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "checking").is_displayed()
        and "上传" not in d.find_element(By.ID, "progress").text)


def seen(browser, element_id: str) -> list[str]:
    return [t for t in browser.execute_script("return window.seen[arguments[0]]", element_id)]


def test_recording_queue_failures_and_the_end(svc, enrolled, page_server, browser, screenshot):
    token, url, back = start(svc, page_server, "silent")
    ahead = queue_others(svc, 2)
    open_capture(browser, url)

    # Silent mode says what its check needs: natural motion, not "keep still".
    guide = browser.find_element(By.ID, "guide").text
    assert "自然眨眼" in guide and "保持不动" not in guide
    browser.execute_script(WATCH, ["countdown", "prompt"])

    # Recording: a visible indicator and a countdown of the seconds left.
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "rec").is_displayed())
    assert "录制中" in browser.find_element(By.ID, "rec").text
    screenshot(browser, "h5-silent-recording")
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "checking").is_displayed()
        and "上传" not in d.find_element(By.ID, "progress").text)
    seconds = [int(t.split()[1]) for t in dict.fromkeys(seen(browser, "countdown")) if t.startswith("剩余")]
    assert seconds[0] == 5 and seconds[-1] <= 1 and seconds == sorted(seconds, reverse=True), seconds
    assert not browser.find_element(By.ID, "rec").is_displayed()          # gone once stopped
    assert "请自然眨眼，可轻微转动头部" in seen(browser, "prompt")

    # Checking: a spinner and the true place in the queue, moving as the videos ahead are done.
    assert browser.find_element(By.CSS_SELECTOR, "#checking .spinner").is_displayed()
    WebDriverWait(browser, 10).until(lambda d: "前面还有 2 位" in d.find_element(By.ID, "progress").text)
    screenshot(browser, "h5-silent-queued")
    assert run_job(svc, ahead[0]) == "void"
    WebDriverWait(browser, 10).until(lambda d: "前面还有 1 位" in d.find_element(By.ID, "progress").text)
    assert run_job(svc, ahead[1]) == "void"
    WebDriverWait(browser, 10).until(lambda d: "即将开始核验" in d.find_element(By.ID, "progress").text)

    # The real verdict on what the browser recorded (a still photo): not passed, why, what to do,
    # the attempts left and a retry.
    for attempt_no in (1, 2, 3):
        if attempt_no > 1:
            browser.find_element(By.ID, "retry").click()
            record(browser)
        assert run_job(svc, our_job(token).id) == "done"
        shown = outcome_text(browser, 30)
        with db.database.connection_context():
            code = lookup(our_job(token).attempt.code)
        assert code.tencent in {lookup(c).tencent for c in ("SilentDetectFail", "LivessDetectFake",
                                                          "LivessDetectFail")}, code
        assert code.message in shown and user_text.hint(code.tencent) in shown
        if attempt_no < 3:
            assert "本次未通过" in shown and f"还可尝试 {3 - attempt_no} 次" in shown, shown
            if attempt_no == 1:
                screenshot(browser, "h5-silent-not-passed-retry")

    # The third failure ends it: not passed, the reason, no retry, the fallback, then back to the merchant.
    assert "核身未通过" in shown and "尝试次数已用完" in shown and "其他核验方式" in shown, shown
    assert not browser.find_element(By.ID, "retry").is_displayed()
    assert browser.find_element(By.ID, "back-link").get_attribute("href").startswith(back)
    screenshot(browser, "h5-silent-not-passed-final")
    WebDriverWait(browser, 15).until(lambda d: d.current_url.startswith(back) and f"token={token}" in d.current_url)

    # Opening the link again shows how it ended (server-rendered), with the last reason.
    browser.get(url)
    ended = browser.find_element(By.ID, "ended").text
    assert "核身未通过" in ended and code.message in ended and user_text.hint(code.tencent) in ended
    screenshot(browser, "h5-silent-ended-reopened")


def test_wrong_action_order_is_named_then_a_pass(svc, enrolled, page_server, browser, screenshot):
    token, url, back = start(svc, page_server, "action")
    open_capture(browser, url)
    browser.execute_script(WATCH, ["prompt"])
    record(browser)
    job = our_job(token)
    sequence = json.loads(job.challenge_payload)["sequence"]
    first, second = (ACTION_NAMES[a] for a in sequence.split(","))
    # Each step was named as it came, in the issued order.
    steps = [t for t in dict.fromkeys(seen(browser, "prompt")) if t.startswith("第")]
    assert steps == [f"第 1 步：请{first}", f"第 2 步：请{second}"], steps
    assert browser.find_element(By.ID, "guide").text.startswith(f"请先{first}，再{second}")

    # Both actions seen, the other way round: the page names the order, not a missing action.
    code = lookup("ActionOrderError")
    decide(svc, job.id, Verdict(code, live=code, liveness_score=1.0))
    shown = outcome_text(browser, 15)
    assert f"动作顺序不对：请先{first}，再{second}。" in shown and "还可尝试 2 次" in shown, shown
    assert "未检测到张嘴动作" not in shown
    screenshot(browser, "h5-action-order")

    browser.find_element(By.ID, "retry").click()
    record(browser)
    ok = lookup("Success")
    decide(svc, our_job(token).id, Verdict(ok, live=ok, compare=ok, sim=91.5, liveness_score=1.0))
    shown = outcome_text(browser, 15)
    assert "核身通过" in shown and "还可尝试" not in shown, shown
    assert browser.find_element(By.ID, "outcome").get_attribute("class") == "passed"
    assert "秒后自动返回" in browser.find_element(By.ID, "back-count").text
    screenshot(browser, "h5-action-passed")
    WebDriverWait(browser, 15).until(lambda d: d.current_url.startswith(back))


def test_light_page_gives_its_guidance_before_it_starts(svc, page_server, browser, screenshot):
    merchant = make_merchant(svc, native=True, secret=KEYS)
    rule = make_rule(svc, merchant, "native_h5", "light")
    from .test_cloud_actions import detect_auth
    token = detect_auth(sdk(page_server, KEYS), rule).BizToken
    open_capture(browser, f"{page_server}/h5/biz/{token}")
    guide = browser.find_element(By.ID, "guide")
    assert guide.is_displayed() and "避免强光" in guide.text and "闪烁" in guide.text
    assert browser.find_element(By.ID, "go").is_displayed()          # before the start
    screenshot(browser, "native-light-guidance")
