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


def _message_from_each(adapters, wx_login, user):
    for adapter in adapters:
        openid = adapter.code_to_session(DEV_MP_APPID, wx_login(DEV_MP_APPID, user)).openid
        adapter.send_subscribe_message(DEV_MP_APPID, openid, "TPL-MP", {"thing1": {"value": "完成"}})


def test_workers_without_redis_each_fetch_a_token_and_retire_each_others(settings, emulator, clock, wx_login):
    """Two worker processes (two adapters), each with its own token: WeChat retires the older token
    5 minutes after the newer one is fetched; wechatpy refetches on 40001 and the message still goes."""
    workers = [WeChatAdapter.from_settings(settings) for _ in range(2)]
    _message_from_each(workers, wx_login, "frank")
    assert emulator.world.app_token_fetches[DEV_MP_APPID] == 2
    clock.advance(seconds=360)
    _message_from_each(workers[:1], wx_login, "frank")          # its token was retired: one more fetch
    assert emulator.world.app_token_fetches[DEV_MP_APPID] == 3
    assert len(emulator.world.messages) == 3


def test_workers_share_the_app_token_through_redis(settings, emulator, clock, wx_login, redis_url):
    workers = [WeChatAdapter.from_settings(settings.replace(redis_url=redis_url)) for _ in range(2)]
    _message_from_each(workers, wx_login, "grace")
    clock.advance(seconds=360)
    _message_from_each(workers, wx_login, "grace")
    assert emulator.world.app_token_fetches[DEV_MP_APPID] == 1
    assert len(emulator.world.messages) == 4
    import redis
    assert redis.Redis.from_url(redis_url).ttl(f"wxf:wechat:{DEV_MP_APPID}_access_token") > 0
