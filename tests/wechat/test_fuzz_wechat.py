"""Fuzzing the WeChat-facing parsers (issue 14): the official account's callback XML (signed, so the
parser is reached), the OAuth start and callback parameters, and the mini-program login and userinfo JSON.
Every answer is a documented status (never 500), and a refusal writes nothing."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wx_backend import db
from wx_backend.wechat.callback import signature_for
from wx_backend.wechat.identity import H5_COOKIE
from wx_backend.wechat.models import H5Session, MpSession, OAuthState

from ..fuzzing import fuzz_settings, hostile_text, json_values, table_counts

pytestmark = pytest.mark.fuzz

# -- the callback's XML ---------------------------------------------------------------------------
_names = st.sampled_from(["xml", "ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "Content",
                          "MsgId", "EventKey", "Ticket", "Latitude", "PicUrl", "MediaId", "a"])
_text = st.one_of(hostile_text, st.integers().map(str), st.sampled_from(
    ["text", "event", "subscribe", "image", "location", "voice", "SCAN", "CLICK", "<![CDATA[x]]>", "&amp;",
     "&lt;", "&#0;", "&#xFFFF;", "&undefined;"]))


def _element(children):
    return st.tuples(_names, children).map(lambda nc: f"<{nc[0]}>{nc[1]}</{nc[0]}>")


_xml_bodies = st.one_of(
    st.recursive(_text.map(lambda t: t.replace("]]>", "")).map(lambda t: f"<![CDATA[{t}]]>") | _text,
                 lambda inner: st.lists(_element(inner), max_size=5).map("".join), max_leaves=12)
    .map(lambda inner: f"<xml>{inner}</xml>"),
    st.sampled_from([
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><xml>&b;</xml>',
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
        "<xml><MsgType>text</MsgType>", "<xml>" * 5000, "", "not xml at all", "<xml></xml>",
        '<?xml version="1.0" encoding="bogus"?><xml/>', "<xml><MsgType><![CDATA[event]]></MsgType></xml>",
    ]),
).map(lambda s: s.encode("utf-8", "surrogatepass"))


@given(body=st.one_of(_xml_bodies, st.binary(max_size=400)))
@fuzz_settings("callback_xml")
def test_callback_xml_gets_success_or_a_refusal(client, settings, clock, body):
    timestamp, nonce = str(int(clock.now().timestamp())), "fuzz"
    query = {"signature": signature_for(settings.oa_token, timestamp, nonce), "timestamp": timestamp,
             "nonce": nonce}
    before = table_counts(db.database)
    resp = client.post("/wechat/callback", query_string=query, data=body, content_type="text/xml")
    assert resp.status_code in (200, 400, 413), (body[:200], resp.status_code)
    assert resp.get_data(as_text=True) in ("success", "bad message", "too large")
    assert table_counts(db.database) == before


# -- OAuth parameters ------------------------------------------------------------------------------
def _qs(params: dict) -> str:
    """A query string as a client puts it on the wire: any text, lone surrogates as their (invalid) UTF-8."""
    from urllib.parse import urlencode
    return urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in params.items() if v is not None})


_paths = st.one_of(hostile_text, st.sampled_from(
    ["/", "/h5/biz/x", "//evil.example", "/\\evil.example", "https://evil.example/", "/\t/evil", "/%2F%2Fevil",
     "javascript:alert(1)", "/ok?next=//evil", "\\\\evil", "/" + "a" * 3000, "/\x7f"]))


@given(next_path=st.one_of(st.none(), _paths), scope=st.one_of(st.none(), hostile_text,
                                                                st.sampled_from(["base", "userinfo", "BASE"])),
       cookie=st.one_of(st.none(), hostile_text))
@fuzz_settings("oauth_start")
def test_oauth_start_redirects_only_to_wechat_or_refuses(client, emulator, next_path, scope, cookie):
    query = _qs({"next": next_path, "scope": scope})
    client.delete_cookie(H5_COOKIE)
    if cookie is not None:
        client.set_cookie(H5_COOKIE, cookie[:1000].encode("utf-8", "surrogatepass").decode("latin-1"))
    before = (H5Session.select().count(), OAuthState.select().count())
    resp = client.get("/h5/oauth/start", query_string=query)
    assert resp.status_code in (302, 400), (query, resp.status_code)
    if resp.status_code == 302:
        assert resp.headers["Location"].startswith(f"{emulator.base_url}/connect/oauth2/authorize?")
        assert OAuthState.select().count() == before[1] + 1
    else:
        assert (H5Session.select().count(), OAuthState.select().count()) == before


@given(state=st.one_of(st.none(), hostile_text), code=st.one_of(st.none(), hostile_text),
       use_issued_state=st.booleans(), own_cookie=st.booleans())
@fuzz_settings("oauth_callback")
def test_oauth_callback_with_made_up_parameters_signs_nobody_in(client, emulator, state, code,
                                                                  use_issued_state, own_cookie):
    from urllib.parse import parse_qs, urlsplit

    client.delete_cookie(H5_COOKIE)
    issued = None
    if use_issued_state:
        start = client.get("/h5/oauth/start", query_string={"next": "/"})
        issued = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        if not own_cookie:
            client.delete_cookie(H5_COOKIE)
    query = _qs({"state": issued or state, "code": code})
    resp = client.get("/h5/oauth/callback", query_string=query)
    # A made-up code for a real state is WeChat's to refuse (the emulator answers 40029): 400.
    assert resp.status_code in (400, 403, 502), (query, resp.status_code)
    assert H5Session.select().where(H5Session.openid.is_null(False)).count() == 0


# -- mini-program JSON -------------------------------------------------------------------------------
@given(body=st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200),
                      st.fixed_dictionaries({}, optional={"appid": json_values, "code": json_values,
                                                          "encryptedData": json_values, "iv": json_values})
                      .map(lambda v: json.dumps(v).encode())),
       path=st.sampled_from(["/api/mp/login", "/api/mp/userinfo"]))
@fuzz_settings("session_json")
def test_mini_program_json_gets_a_documented_refusal(client, emulator, body, path):
    from wx_backend.result_codes import lookup

    before = MpSession.select().count()
    resp = client.post(path, data=body, content_type="application/json")
    assert resp.status_code in (400, 401, 403, 413, 415, 429, 502), (body[:200], resp.status_code)
    payload = resp.get_json(silent=True)
    assert payload is not None and "error" in payload, resp.data[:200]
    code = payload["error"]["code"]
    if code not in ("Bad Request", "Unsupported Media Type"):     # werkzeug's own, for non-JSON bodies
        assert lookup(code).http_status == resp.status_code
    assert MpSession.select().count() == before
