"""WeChat tests run the app against the emulator over real loopback HTTP, on one shared clock."""
from __future__ import annotations

import pytest
import requests


@pytest.fixture
def settings(settings, emulator):
    return settings.replace(wechat_api_base=emulator.base_url, wechat_oauth_base=emulator.base_url)


@pytest.fixture
def wx_login(emulator):
    """wx.login() on a phone: a fresh code for (appid, user) from the emulator."""
    def login(appid: str, user: str = "alice") -> str:
        resp = requests.post(f"{emulator.base_url}/__emulator__/wx.login",
                             json={"appid": appid, "user": user}, timeout=5)
        resp.raise_for_status()
        return resp.json()["code"]
    return login
