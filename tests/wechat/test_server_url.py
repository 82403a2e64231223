"""GET/POST /wechat/callback: WeChat's signature over (token, timestamp, nonce), freshness, messages."""
from __future__ import annotations

import pytest

from wx_backend.wechat.callback import MAX_SKEW_S, signature_for

EVENT = b"""<xml><ToUserName><![CDATA[gh_123456789abc]]></ToUserName>
<FromUserName><![CDATA[oABCDEFGHIJKLMNOPQRSTUVWXYZ0]]></FromUserName>
<CreateTime>1764464400</CreateTime><MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[subscribe]]></Event></xml>"""


@pytest.fixture
def signed(settings, clock):
    def make(offset_s: int = 0, token: str | None = None, **extra) -> dict:
        timestamp = str(int(clock.now().timestamp()) + offset_s)
        nonce = "1234567890"
        return {"signature": signature_for(token or settings.oa_token, timestamp, nonce),
                "timestamp": timestamp, "nonce": nonce, **extra}
    return make


def test_url_check_echoes_echostr(client, signed):
    resp = client.get("/wechat/callback", query_string=signed(echostr="7329847329"))
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "7329847329"


@pytest.mark.parametrize("tamper", [
    lambda q: dict(q, signature="0" * 40),
    lambda q: dict(q, nonce="other-nonce"),
    lambda q: {k: v for k, v in q.items() if k != "signature"},
    lambda q: {k: v for k, v in q.items() if k != "timestamp"},
    lambda q: dict(q, timestamp="soon"),
])
def test_bad_signature_is_refused(client, signed, tamper):
    resp = client.get("/wechat/callback", query_string=tamper(signed(echostr="e")))
    assert resp.status_code == 403 and resp.get_data(as_text=True) != "e"


def test_a_signature_under_another_token_is_refused(client, signed):
    resp = client.get("/wechat/callback", query_string=signed(token="someone-elses", echostr="e"))
    assert resp.status_code == 403


@pytest.mark.parametrize("offset_s, status", [(-MAX_SKEW_S - 1, 403), (MAX_SKEW_S + 1, 403),
                                              (-MAX_SKEW_S, 200), (MAX_SKEW_S, 200)])
def test_stale_timestamps_are_refused(client, signed, offset_s, status):
    resp = client.get("/wechat/callback", query_string=signed(offset_s, echostr="e"))
    assert resp.status_code == status


def test_signed_event_is_acknowledged(client, signed):
    resp = client.post("/wechat/callback", query_string=signed(), data=EVENT,
                       content_type="text/xml")
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "success"


def test_unsigned_event_is_refused(client, signed):
    resp = client.post("/wechat/callback", query_string=dict(signed(), signature="f" * 40), data=EVENT,
                       content_type="text/xml")
    assert resp.status_code == 403


@pytest.mark.parametrize("body", [b"<xml><MsgType>", b"not xml", b"", b"<xml><A>1</A></xml>"])
def test_malformed_message_is_a_bad_request(client, signed, body):
    resp = client.post("/wechat/callback", query_string=signed(), data=body, content_type="text/xml")
    assert resp.status_code == 400


def test_oversized_message_is_refused(client, signed):
    resp = client.post("/wechat/callback", query_string=signed(), data=b"<xml>" + b"a" * 70000,
                       content_type="text/xml")
    assert resp.status_code == 413


@pytest.mark.parametrize("timestamp", ["9" * 500, "1" * 12, "-5", "１２３４", "1e9", ""])
def test_absurd_timestamps_are_refused_not_crashed(client, settings, timestamp):
    """Before issue 14: a 500-digit timestamp answered HTTP 500 (float overflow)."""
    query = {"signature": signature_for(settings.oa_token, timestamp, "n"), "timestamp": timestamp,
             "nonce": "n", "echostr": "e"}
    for method in (client.get, client.post):
        resp = method("/wechat/callback", query_string=query, data=EVENT)
        assert resp.status_code == 403 and resp.get_data(as_text=True) == "forbidden"
