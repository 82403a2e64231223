"""A Python client that behaves like our mini-program on a phone.

It calls the emulator where the phone would call WeChat (``wx.login``, ``wx.getUserProfile``) and our
service where the mini-program's ``wx.request`` would, carrying the session token as
``Authorization: Bearer <token>``. Later flows (challenge, frames) build on ``get``/``post``::

    mp = MiniProgramClient(api_base="http://127.0.0.1:8000", emulator_base="http://127.0.0.1:8001",
                           appid="wxdevminiprogram0001", user="alice")
    mp.login()
    profile = mp.userinfo()
    status = mp.get(f"/api/biz/{biz_token}/status").json()
"""
from __future__ import annotations

from typing import Any

import requests


class MiniProgramError(Exception):
    """Our service (or the emulator) refused a step of the flow."""

    def __init__(self, step: str, status: int, body: Any):
        self.step, self.status, self.body = step, status, body
        super().__init__(f"{step}: HTTP {status}: {body}")


def _body(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text


class MiniProgramClient:
    def __init__(self, *, api_base: str, emulator_base: str, appid: str, user: str = "alice",
                 timeout_s: float = 10.0, http: requests.Session | None = None):
        self.api_base = api_base.rstrip("/")
        self.emulator_base = emulator_base.rstrip("/")
        self.appid = appid
        self.user = user
        self.timeout_s = timeout_s
        self.http = http or requests.Session()
        self.session_token: str | None = None

    # -- what the phone asks WeChat ------------------------------------------------------------
    def wx_login(self) -> str:
        """wx.login(): a one-time code for this user and app."""
        resp = self.http.post(f"{self.emulator_base}/__emulator__/wx.login",
                              json={"appid": self.appid, "user": self.user}, timeout=self.timeout_s)
        body = _body(resp)
        if resp.status_code != 200 or not isinstance(body, dict) or "code" not in body:
            raise MiniProgramError("wx.login", resp.status_code, body)
        return body["code"]

    def wx_get_user_profile(self, **fault) -> dict:
        """wx.getUserProfile(): ``encryptedData``/``iv`` under the current WeChat session key.
        ``fault`` passes emulator fault knobs (``watermark_appid``)."""
        resp = self.http.post(f"{self.emulator_base}/__emulator__/wx.getUserProfile",
                              json={"appid": self.appid, "user": self.user, **fault},
                              timeout=self.timeout_s)
        body = _body(resp)
        if resp.status_code != 200 or not isinstance(body, dict) or "encryptedData" not in body:
            raise MiniProgramError("wx.getUserProfile", resp.status_code, body)
        return body

    # -- what the mini-program asks our service ------------------------------------------------
    def login(self, code: str | None = None) -> str:
        """wx.login() then POST /api/mp/login; keeps and returns the session token."""
        code = code or self.wx_login()
        resp = self.http.post(f"{self.api_base}/api/mp/login", json={"appid": self.appid, "code": code},
                              timeout=self.timeout_s)
        body = _body(resp)
        if resp.status_code != 200:
            raise MiniProgramError("login", resp.status_code, body)
        self.session_token = body["session_token"]
        return self.session_token

    def userinfo(self, **fault) -> dict:
        packet = self.wx_get_user_profile(**fault)
        resp = self.post("/api/mp/userinfo", json={"encryptedData": packet["encryptedData"],
                                                   "iv": packet["iv"]})
        body = _body(resp)
        if resp.status_code != 200:
            raise MiniProgramError("userinfo", resp.status_code, body)
        return body["userInfo"]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session_token}"} if self.session_token else {}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """Any call to our service as this signed-in mini-program (``path`` starts with /)."""
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", self.timeout_s)
        return self.http.request(method, f"{self.api_base}{path}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)
