"""The merchant console in headless Chromium: sign in, create a rule with the form, edit it, run a real
ordinary-H5 session on it (official SDK, WeChat OAuth through the emulator, a synthesised action video,
the background verdict), disable it; and the dashboard's 30-day usage chart, screenshotted, showing the
numbers `billing usage --days 30` prints."""
from __future__ import annotations

import dataclasses

import datetime as dt
import json
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.faceid.v20180301 import models as m

from wx_backend import db
from wx_backend.merchants.deps import OnboardingDeps
from wx_backend.merchants.models import ApiCredential, Rule
from wx_backend.merchants.seed import create_approved_merchant

from ..browser import chrome, needs_browser, screenshot, screenshot_dir  # noqa: F401
from ..conftest import charged_call
from .conftest import GRACE_ID, GRACE_NAME
from .test_cloud_actions import sdk
from .test_h5_video_flow import _upload_action

pytestmark = needs_browser
KEYS = ("AKIDconsolebrowser001", "console-browser-key-0001")


@pytest.fixture
def settings(settings):
    # The rule's callback goes to a receiver on this machine (the callback tests run one).
    return settings.replace(callback_allow_networks=("127.0.0.1/32",))


@pytest.fixture
def console_browser(tmp_path):
    driver = chrome(tmp_path / "profile", window=(1100, 900))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def merchant(svc, vapp):
    from wx_backend.merchants.sms import MemorySmsGateway

    with vapp.app_context(), db.database.connection_context():
        deps = dataclasses.replace(OnboardingDeps.from_services(svc), sms=MemorySmsGateway())
        approval = create_approved_merchant(deps, uscc="91350100M000100Y43", name="示例银行",
                                            username="console", password="console-pass-1")
        ApiCredential.create(merchant=approval.merchant_id, secret_id=KEYS[0],
                             secret_key_sealed=svc.sealer.seal_text(KEYS[1]), created_at=deps.now_naive())
        # Some days of usage for the chart: photo checks five and two days ago, a refused call today.
        now = svc.clock.now()
        for days, n in ((5, 3), (2, 1)):
            for i in range(n):
                charged_call(approval.merchant_id, "photo_verification", f"p{days}-{i}", "Success", "",
                              now=now - dt.timedelta(days=days), action="ImageRecognitionV2")
        charged_call(approval.merchant_id, "photo_verification", "blur", "FailedOperation.ImageBlur", "",
                      now=now - dt.timedelta(days=2), action="ImageRecognitionV2")
    return approval.merchant_id


def fill(driver, field_id: str, text: str) -> None:
    el = driver.find_element(By.ID, field_id)
    el.clear()
    el.send_keys(text)


def test_rules_in_the_console_and_a_session_on_a_new_one(svc, vapp, server, merchant, console_browser,
                                                         enrolled, grace_portrait, screenshot, sdk_later):
    b = console_browser
    b.get(f"{server}/merchant/login")
    b.find_element(By.NAME, "username").send_keys("console")
    b.find_element(By.NAME, "password").send_keys("console-pass-1")
    b.find_element(By.NAME, "password").submit()
    WebDriverWait(b, 10).until(lambda d: d.find_elements(By.ID, "new-rule"))

    # Create: ordinary H5, action, authority, an allow-list and a callback URL.
    b.find_element(By.ID, "new-rule").click()
    Select(b.find_element(By.ID, "channel")).select_by_value("h5")
    Select(b.find_element(By.ID, "liveness_mode")).select_by_value("action")
    Select(b.find_element(By.ID, "compare_source")).select_by_value("authority")
    fill(b, "name", "开户·动作")
    fill(b, "redirect_allow", "https://m.example.com")
    fill(b, "callback_url", "http://127.0.0.1:9/faceid-result")
    b.find_element(By.ID, "save").click()
    WebDriverWait(b, 10).until(lambda d: d.find_elements(By.ID, "rule-id"))
    rule_id = b.find_element(By.ID, "rule-id").text
    with db.database.connection_context():
        rule = Rule.get(Rule.rule_id == rule_id)
    assert (rule.merchant_id, rule.channel, rule.liveness_mode, rule.compare_source, rule.active) == \
        (merchant, "h5", "action", "authority", True)
    assert rule.redirect_allow == ["https://m.example.com"] and rule.callback_url.endswith("/faceid-result")
    assert b.find_element(By.ID, "callback-key").text
    screenshot(b, "console-rule-created")

    # Edit: a refused callback URL shows the reason and saves nothing; then a valid edit.
    fill(b, "callback_url", "http://169.254.169.254/latest/meta-data/")
    b.find_element(By.ID, "save").click()
    WebDriverWait(b, 10).until(lambda d: d.find_elements(By.ID, "form-error"))
    assert "链路本地地址" in b.find_element(By.ID, "form-error").text
    screenshot(b, "console-rule-ssrf-refused")
    fill(b, "callback_url", "")
    fill(b, "redirect_allow", "https://m.example.com\nhttps://*.example.org")
    b.find_element(By.ID, "save").click()
    WebDriverWait(b, 10).until(lambda d: "已保存" in d.page_source)
    with db.database.connection_context():
        rule = Rule.get(Rule.rule_id == rule_id)
    assert rule.redirect_allow == ["https://m.example.com", "https://*.example.org"] and rule.callback_url == ""

    # A session on the new rule: the merchant's DetectAuth, the user's capture, the verdict.
    client = sdk(server, KEYS)
    req = m.DetectAuthRequest()
    req.from_json_string(json.dumps({"RuleId": rule_id, "IdCard": GRACE_ID, "Name": GRACE_NAME,
                                     "RedirectUrl": "https://shop.example.org/back"}))
    token = client.DetectAuth(req).BizToken
    status = _upload_action(server, token, grace_portrait, "zoe", lambda seq: seq)
    assert status["state"] == "finished" and status["last_attempt"]["passed"] is True, status

    # Disable: the rules table says so, and DetectAuth refuses the rule.
    b.find_element(By.ID, "toggle-active").click()
    WebDriverWait(b, 10).until(lambda d: d.find_elements(By.ID, f"rule-{rule_id}"))
    assert b.find_element(By.CSS_SELECTOR, f"#rule-{rule_id} .state").text == "已停用"
    sdk_later(1)                # the same DetectAuth again: a new call, signed anew
    with pytest.raises(TencentCloudSDKException) as err:
        client.DetectAuth(req)
    assert err.value.get_code() == "FailedOperation.RuleDisabled"

    # The dashboard's chart: loaded as an image, its bars carrying the CLI's daily numbers.
    chart = b.find_element(By.ID, "usage-chart")
    WebDriverWait(b, 20).until(lambda d: d.execute_script("return arguments[0].complete && "
                                                          "arguments[0].naturalWidth > 0", chart))
    b.execute_script("arguments[0].scrollIntoView()", chart)
    screenshot(b, "console-dashboard-rules-and-usage-chart")
    cli = json.loads(vapp.test_cli_runner().invoke(
        args=["billing", "usage", "--merchant", str(merchant), "--days", "30"]).output)
    svg = b.execute_script("const r = new XMLHttpRequest(); r.open('GET', arguments[0], false); r.send();"
                           "return r.responseText;", chart.get_attribute("src"))
    bars = {(mt, a, d): int(v) for mt, a, d, v in
            re.findall(r'id="bar:(\w+):([^:"]+):(\d{4}-\d\d-\d\d):(\d+)"', svg)}
    expected = {(mt, a, day["date"]): n for day in cli["daily"] for a, row in day["actions"].items()
                for mt, n in row.items()}
    assert expected and all(bars[k] == v for k, v in expected.items())
    assert sum(v for (mt, _, _), v in bars.items() if mt == "calls") == \
        sum(n for (mt, _, _), n in expected.items() if mt == "calls")
    assert expected[("charged", "DetectAuth", cli["daily"][-1]["date"])] == 1     # the session, today
