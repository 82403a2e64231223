"""Rules a merchant manages after onboarding, through the operator CLI and the console's forms:
create, edit, disable; channel rights (whitelist + WeChat review still gate native H5 and the
mini-program), the channel's liveness modes, the compare source, the RedirectUrl allow-list and the
callback URL's SSRF check."""
from __future__ import annotations

import json
import re

import pytest

from wx_backend.merchants import rules
from wx_backend.merchants.models import Rule
from wx_backend.merchants.seed import create_approved_merchant

from .test_consoles import csrf, login

PUBLIC = "93.184.216.34"        # what the fake resolver answers for public names (never connected to)


def resolver(host: str, port: int) -> list[str]:
    """DNS at the process edge: a few names with fixed answers."""
    return {"hooks.example.com": [PUBLIC], "intranet.example.com": ["10.1.2.3"],
            "metadata.example.com": ["169.254.169.254"], "mixed.example.com": [PUBLIC, "127.0.0.1"],
            "v6-loopback.example.com": ["::1"], "mapped.example.com": ["::ffff:192.168.1.1"]}.get(host, [])


@pytest.fixture
def overrides(sms):
    return {"sms": sms, "callback_resolver": resolver}


@pytest.fixture
def run(app, app_ctx):
    runner = app.test_cli_runner()

    def invoke(*args):
        result = runner.invoke(args=list(args))
        return result.exit_code, (json.loads(result.output) if result.exit_code == 0 else result.output)
    return invoke


@pytest.fixture
def plain(deps):
    """Approved, outside the whitelist: ordinary H5 only."""
    return create_approved_merchant(deps, uscc="91330100799655058B", industry="other",
                                    channels=("h5", "api"), username="plain", password="password-123")


@pytest.fixture
def bank(deps):
    """Approved, whitelisted, WeChat-side review passed: native H5 and mini-program too."""
    return create_approved_merchant(deps, uscc="9144030071526726XG", username="bank", password="password-123")


def test_cli_create_edit_disable(run, plain):
    code, rule = run("rule", "create", "--merchant", str(plain.merchant_id), "--channel", "h5",
                     "--mode", "action", "--compare-source", "authority",
                     "--redirect-allow", "https://m.example.com/anything,https://*.shop.example.com",
                     "--callback-url", "https://hooks.example.com/faceid?x=1", "--name", "开户·动作")
    assert code == 0, rule
    assert (rule["channel"], rule["liveness_mode"], rule["compare_source"], rule["active"]) == \
        ("h5", "action", "authority", True)
    assert rule["redirect_allow"] == ["https://m.example.com", "https://*.shop.example.com"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", rule["callback_key"])

    code, edited = run("rule", "edit", rule["rule_id"], "--mode", "silent", "--callback-url", "")
    assert code == 0, edited
    assert edited["liveness_mode"] == "silent" and edited["callback_url"] == ""
    assert edited["redirect_allow"] == rule["redirect_allow"] and edited["name"] == "开户·动作"   # kept

    code, disabled = run("rule", "disable", rule["rule_id"])
    assert code == 0 and disabled["active"] is False
    listed = run("rule", "list", "--merchant", str(plain.merchant_id))[1]
    assert [r["active"] for r in listed if r["rule_id"] == rule["rule_id"]] == [False]
    assert run("rule", "enable", rule["rule_id"])[1]["active"] is True


@pytest.mark.parametrize("args, words", [
    (("--channel", "native_h5", "--mode", "light"), "未开通此渠道"),          # not whitelisted
    (("--channel", "miniprogram", "--mode", "lip"), "未开通此渠道"),
    (("--channel", "h5", "--mode", "light"), "普通H5支持的活体模式"),         # light needs our screen
    (("--channel", "api", "--mode", "lip"), "渠道须为"),
    (("--channel", "h5", "--mode", "lip", "--redirect-allow", "ftp://x.example.com"), "跳转地址白名单"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "http://127.0.0.1:6379/"), "回环地址"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "http://169.254.169.254/latest/"), "链路本地地址"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "https://intranet.example.com/"), "内网地址"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "https://metadata.example.com/"), "链路本地地址"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "https://mixed.example.com/"), "回环地址"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "https://v6-loopback.example.com/"), "回环地址"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "https://mapped.example.com/"), "内网地址"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "https://[::1]:8443/"), "回环地址"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "https://user:pw@hooks.example.com/"), "用户名"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "gopher://hooks.example.com/"), "https://"),
    (("--channel", "h5", "--mode", "lip", "--callback-url", "https://nowhere.example.com/"), "无法解析"),
])
def test_cli_refuses_what_the_merchant_may_not_have(run, plain, args, words):
    before = Rule.select().count()
    code, output = run("rule", "create", "--merchant", str(plain.merchant_id), *args)
    assert code == 1 and words in output, output
    assert Rule.select().count() == before


def test_native_channels_need_the_whitelist_and_wechat_review(run, bank, deps):
    from wx_backend.merchants import review

    code, rule = run("rule", "create", "--merchant", str(bank.merchant_id), "--channel", "native_h5",
                     "--mode", "lip")
    assert code == 0 and rule["channel"] == "native_h5"
    # WeChat revokes its approval: no new native rule, and a disabled one cannot come back.
    run("rule", "disable", rule["rule_id"])
    review.set_wechat_review(deps, bank.merchant_id, approved=False)
    code, output = run("rule", "create", "--merchant", str(bank.merchant_id), "--channel", "miniprogram",
                       "--mode", "light")
    assert code == 1 and "未开通此渠道" in output
    assert run("rule", "enable", rule["rule_id"])[0] == 1


def test_production_wants_https_callbacks_and_origins(plain, app_ctx):
    from wx_backend.merchants.models import Merchant
    from wx_backend.services import services

    ctx = rules.RuleContext(sealer=services().sealer, production=True, resolver=resolver)
    merchant = Merchant.get_by_id(plain.merchant_id)
    with pytest.raises(Exception, match="https"):
        rules.create(merchant, rules.RuleSpec("h5", "lip", callback_url="http://hooks.example.com/"), ctx, None)
    with pytest.raises(Exception, match="https"):
        rules.create(merchant, rules.RuleSpec("h5", "lip", redirect_allow=("http://m.example.com",)), ctx, None)


def test_disabling_the_default_moves_it(run, plain):
    rules_before = run("rule", "list", "--merchant", str(plain.merchant_id))[1]
    [default] = [r for r in rules_before if r["default"]]
    code, new = run("rule", "create", "--merchant", str(plain.merchant_id), "--channel", "h5", "--mode", "silent")
    assert new["default"] is False
    run("rule", "disable", default["rule_id"])
    after = {r["rule_id"]: r for r in run("rule", "list", "--merchant", str(plain.merchant_id))[1]}
    assert after[default["rule_id"]]["default"] is False and after[new["rule_id"]]["default"] is True


@pytest.mark.parametrize("url, origins, ok", [
    ("https://m.example.com/back?x=1", ["https://m.example.com"], True),
    ("https://m.example.com:8443/back", ["https://m.example.com"], False),      # another port
    ("http://m.example.com/back", ["https://m.example.com"], False),            # another scheme
    ("https://evil.com/?https://m.example.com", ["https://m.example.com"], False),
    ("https://m.example.com.evil.com/", ["https://m.example.com"], False),
    ("https://a.shop.example.com/x", ["https://*.shop.example.com"], True),
    ("https://shop.example.com/x", ["https://*.shop.example.com"], False),
    ("https://evilshop.example.com/x", ["https://*.shop.example.com"], False),
    ("https://user@m.example.com/", ["https://m.example.com"], False),
    ("https://anything.example.org/", [], True),                                 # no list: any
])
def test_redirect_allow_list(url, origins, ok):
    assert rules.redirect_allowed(url, origins) is ok


def test_console_forms_create_edit_disable(app, plain):
    """The same through the console's forms (the browser test drives them in Chromium)."""
    c = app.test_client()
    assert login(c, "/merchant", "plain", "password-123").status_code == 302
    token = csrf(c, "/merchant/rules/new")
    resp = c.post("/merchant/rules/new", data={"csrf_token": token, "channel": "h5", "liveness_mode": "light",
                                               "compare_source": "either"})
    assert resp.status_code == 400 and "普通H5支持的活体模式" in resp.get_data(as_text=True)
    resp = c.post("/merchant/rules/new", data={"csrf_token": token, "channel": "h5", "liveness_mode": "action",
                                               "compare_source": "photo", "name": "自拍比对",
                                               "redirect_allow": "https://m.example.com\nhttps://*.example.org",
                                               "callback_url": "https://hooks.example.com/cb"})
    assert resp.status_code == 302
    rule = Rule.get(Rule.name == "自拍比对")
    assert (rule.channel, rule.liveness_mode, rule.compare_source) == ("h5", "action", "photo")
    page = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert rules.callback_key(rule, app.extensions["wxfaceid"].sealer) in page
    resp = c.post(f"/merchant/rules/{rule.rule_id}", data={
        "csrf_token": token, "channel": "h5", "liveness_mode": "silent", "compare_source": "photo",
        "name": "自拍比对", "redirect_allow": "", "callback_url": "http://127.0.0.1/"})
    assert resp.status_code == 400 and "回环地址" in resp.get_data(as_text=True)
    assert Rule.get_by_id(rule.id).liveness_mode == "action"                       # nothing saved
    c.post(f"/merchant/rules/{rule.rule_id}/active", data={"csrf_token": token, "active": "0"})
    assert Rule.get_by_id(rule.id).active is False


def test_a_merchant_cannot_touch_another_merchants_rule(app, plain, bank):
    other = Rule.select().where(Rule.merchant == bank.merchant_id).first()
    c = app.test_client()
    assert login(c, "/merchant", "plain", "password-123").status_code == 302
    token = csrf(c, "/merchant/rules/new")
    assert c.get(f"/merchant/rules/{other.rule_id}").status_code == 404
    assert c.post(f"/merchant/rules/{other.rule_id}/active", data={"csrf_token": token, "active": "0"}
                  ).status_code == 404
    assert Rule.get_by_id(other.id).active is True
