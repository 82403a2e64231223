"""The wechatpy adapter against the emulator: every URL (access-token fetch included) at the configured
base, vendor exceptions turned into WeChatError."""
from __future__ import annotations

import pytest
import requests

from wx_backend.settings import DEV_MP_APPID, DEV_OA_APPID
from wx_backend.wechat import WeChatAdapter, WeChatError


@pytest.fixture
def adapter(settings):
    return WeChatAdapter.from_settings(settings)


def test_subscribe_and_template_messages_reach_the_emulator(adapter, emulator, wx_login):
    mp_openid = adapter.code_to_session(DEV_MP_APPID, wx_login(DEV_MP_APPID, "erin")).openid
    adapter.send_subscribe_message(DEV_MP_APPID, mp_openid, "TPL-MP", {"thing1": {"value": "完成"}},
                                   page="pages/verify/verify")
    emulator.world.issue_code(DEV_OA_APPID, "erin")       # erin follows the official account
    oa_openid = emulator.world.openid(DEV_OA_APPID, "erin")
    adapter.send_template_message(oa_openid, "TPL-OA", {"first": {"value": "核身结果"}},
                                  url="http://127.0.0.1:8000/h5/result")
    sent = requests.get(f"{emulator.base_url}/__emulator__/messages", timeout=5).json()["messages"]
    assert [(m["kind"], m["appid"], m["touser"], m["template_id"]) for m in sent] == [
        ("subscribe", DEV_MP_APPID, mp_openid, "TPL-MP"),
        ("template", DEV_OA_APPID, oa_openid, "TPL-OA")]
    assert sent[0]["page"] == "pages/verify/verify" and sent[1]["url"].endswith("/h5/result")


def test_a_message_to_a_stranger_is_a_wechat_error(adapter):
    with pytest.raises(WeChatError) as err:
        adapter.send_template_message("o" + "z" * 27, "TPL", {})
    assert err.value.errcode == 40003


def test_authorize_url_points_at_the_configured_oauth_base(adapter, emulator):
    url = adapter.authorize_url("http://127.0.0.1:8000/h5/oauth/callback", "snsapi_base", "st")
    assert url.startswith(f"{emulator.base_url}/connect/oauth2/authorize?appid={DEV_OA_APPID}&")
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A8000%2Fh5%2Foauth%2Fcallback" in url
    with pytest.raises(ValueError):
        adapter.authorize_url("http://x/cb", "snsapi_everything", "st")


def test_login_result_hides_its_secrets_from_repr(adapter, wx_login):
    login = adapter.code_to_session(DEV_MP_APPID, wx_login(DEV_MP_APPID))
    assert len(login.session_key) == 16
    assert login.openid not in repr(login) and repr(login.session_key) not in repr(login)


def test_a_server_that_is_not_wechat_is_unavailable(settings, emulator):
    # The emulator's 404 JSON for unknown paths stands in for any non-WeChat answer.
    broken = WeChatAdapter.from_settings(settings.replace(wechat_api_base=emulator.base_url + "/nope"))
    with pytest.raises(WeChatError) as err:
        broken.code_to_session(DEV_MP_APPID, "code")
    assert err.value.errcode is None
