"""Signed result callbacks, end to end: a mini-program session on a rule with a callback URL ends, and a
small HTTP server in this test receives the result. The receiver is down for the first tries (nothing
listening, then 503), gets it after back-off, and verifies the signature with the snippet of
docs/callbacks.md as written there. Time is the injected clock, moved by the test: no sleeps.

SSRF: a URL whose name resolves to a private, loopback or metadata address is refused at save time
and at every try, and a DNS answer that changes after the check (rebinding) never gets a connection.
DNS is replaced at the process edge (``callback_resolver``) where a test needs a name to rebind.
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from faceengine.liveness.challenge import LightChallenge
from wx_backend import callbacks, db
from wx_backend.callbacks import deliveries, safe_http
from wx_backend.callbacks.models import CallbackDelivery
from wx_backend.merchants import rules
from wx_backend.merchants.models import Merchant, Rule

from ..browser import free_port
from .conftest import GRACE_ID, GRACE_NAME, grey_capture, make_merchant
from .test_cloud_actions import NATIVE_KEYS, detect_auth, sdk
from .test_miniprogram_flow import light_frames

DOCS = Path(__file__).resolve().parents[2] / "docs" / "callbacks.md"
PUBLIC = "93.184.216.34"


def documented_verifier():
    """``verify_callback`` exactly as docs/callbacks.md shows it."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```\s*<!-- /verify-snippet -->", text, re.S)
    namespace: dict = {}
    exec(compile(block.group(1), str(DOCS), "exec"), namespace)
    return namespace["verify_callback"]


class Receiver:
    """The merchant's server: answers each POST with the next scripted status (then 200), keeps what came."""

    def __init__(self, port: int, script=()):
        self.port, self.script, self.got = port, list(script), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.got.append((self.headers, body, self.path))
                status = receiver.script.pop(0) if receiver.script else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


RESOLVED: dict[str, list[str]] = {}


def resolver(host: str, port: int) -> list[str]:
    """DNS for this test: names it sets in RESOLVED; anything else is unknown."""
    if host not in RESOLVED:
        raise safe_http.UnsafeUrl(f"无法解析主机名 {host}")
    return list(RESOLVED[host])


@pytest.fixture
def settings(settings):
    return settings.replace(callback_allow_networks=("127.0.0.1/32",))


@pytest.fixture
def overrides():
    RESOLVED.clear()
    return {"callback_resolver": resolver}


@pytest.fixture
def port() -> int:
    return free_port()


def callback_rule(svc, merchant, url: str, channel="miniprogram", mode="light") -> tuple[str, str]:
    """A rule made through the rules service with this callback URL; (RuleId, its callback key)."""
    with db.database.connection_context():
        rule = rules.create(Merchant.get_by_id(merchant.id),
                            rules.RuleSpec(channel, mode, callback_url=url),
                            rules.RuleContext.from_services(svc), svc.clock.now().replace(tzinfo=None))
        return rule.rule_id, rules.callback_key(rule, svc.sealer)


def sweep(svc) -> dict:
    with db.database.connection_context():
        return callbacks.sweep(svc)


def delivery() -> CallbackDelivery:
    with db.database.connection_context():
        [d] = CallbackDelivery.select()
        return d


def test_receiver_down_first_gets_the_signed_result_after_back_off(server, svc, flow, grace_portrait, enrolled,
                                                                   clock, port, vapp):
    verify = documented_verifier()
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    rule_id, key = callback_rule(svc, merchant, f"http://127.0.0.1:{port}/faceid/result?shop=7")
    token = detect_auth(sdk(server, NATIVE_KEYS), rule_id).BizToken
    f = flow(token)
    f.consent()
    ch = f.challenge()
    result = f.send_frames(ch["nonce"], light_frames(grace_portrait, LightChallenge.from_json(ch["challenge"]), 7))
    assert result["passed"] is True, result

    # Try 1, right after the verdict: nothing listens on the port.
    d = delivery()
    assert (d.state, d.attempts, d.last_status, d.event) == ("pending", 1, None, "finished")
    assert "ConnectionRefused" in d.last_error
    first_retry = d.next_at
    assert (first_retry - d.updated_at).total_seconds() == deliveries.backoff_s(1) == 30

    with Receiver(port, script=[503]) as receiver:
        clock.advance(29)
        assert sweep(svc) == {"expired_events": 0}            # not due yet: nothing sent
        assert receiver.got == []
        clock.advance(1)
        assert sweep(svc)["retry"] == 1                       # try 2: the receiver answers 503
        d = delivery()
        assert (d.state, d.attempts, d.last_status) == ("pending", 2, 503) and d.latency_ms is not None
        assert (d.next_at - d.updated_at).total_seconds() == 60
        clock.advance(60)
        assert sweep(svc)["delivered"] == 1                   # try 3: delivered
        d = delivery()
        assert (d.state, d.attempts, d.last_status, d.last_error) == ("delivered", 3, 200, "")

        assert len(receiver.got) == 2
        headers, body, path = receiver.got[-1]
        assert path == "/faceid/result?shop=7"
        now = clock.now().timestamp()
        assert verify(headers, body, key, now=now)
        # The same snippet refuses a changed body, another key and a replay after 5 minutes.
        assert not verify(headers, body.replace(b'"ErrCode":0', b'"ErrCode":1'), key, now=now)
        assert not verify(headers, body, "another-key", now=now)
        assert not verify(headers, body, key, now=now + 301)
        sent = json.loads(body)
        assert set(sent) == {"EventId", "Event", "BizToken", "RuleId", "ErrCode", "ErrMsg", "Sim",
                             "AttemptsUsed", "Time"}
        assert (sent["BizToken"], sent["RuleId"], sent["Event"], sent["ErrCode"]) == (token, rule_id, "finished", 0)
        assert float(sent["Sim"]) >= 70 and sent["EventId"] == headers["X-Wxf-Event-Id"]
        assert GRACE_ID.encode() not in body and GRACE_NAME.encode() not in body
        # Every try carried the same event, each with its own nonce.
        assert receiver.got[0][0]["X-Wxf-Event-Id"] == sent["EventId"]
        assert receiver.got[0][0]["X-Wxf-Nonce"] != headers["X-Wxf-Nonce"]

        # The console shows the delivery (state, tries, status, latency) and re-sends it.
        from ..merchants.test_consoles import csrf, signed_in_merchant
        c = signed_in_merchant(vapp, merchant.id, "cb-user")
        page = c.get("/merchant/callbacks").get_data(as_text=True)
        row = re.search(rf'id="delivery-{d.id}".*?</tr>', page, re.S).group(0)
        assert "已送达" in row and '<td class="attempts">3</td>' in row and '<td class="status">200</td>' in row
        assert re.search(r'<td class="latency">\d+ ms</td>', row)
        resp = c.post(f"/merchant/callbacks/{d.id}/resend", data={"csrf_token": csrf(c, "/merchant/callbacks")})
        assert resp.status_code == 302
        assert len(receiver.got) == 3 and json.loads(receiver.got[-1][1])["EventId"] == sent["EventId"]
        assert verify(receiver.got[-1][0], receiver.got[-1][1], key, now=clock.now().timestamp())
        assert delivery().attempts == 4


def test_a_receiver_that_never_answers_is_given_up_after_24_hours(svc, clock, port, server):
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    rule_id, _ = callback_rule(svc, merchant, f"http://127.0.0.1:{port}/down")
    token = detect_auth(sdk(server, NATIVE_KEYS), rule_id).BizToken
    clock.advance(7200)                                       # the token runs out unused
    out = sweep(svc)
    assert out["expired_events"] == 1 and out["retry"] == 1
    sent = json.loads(delivery().body)
    assert (sent["BizToken"], sent["Event"], sent["ErrCode"], sent["Sim"]) == (token, "expired", 15, None)
    tries = 1
    while delivery().state == "pending":
        clock.set(delivery().next_at)
        sweep(svc)
        tries += 1
    d = delivery()
    assert d.state == "failed" and d.attempts == tries
    span = (d.updated_at - d.created_at).total_seconds()
    assert 23 * 3600 <= span <= 24 * 3600, span
    # Tries at 0, 30 s, 1.5, 3.5, 7.5, 15.5, 31.5 min, 63.5 min, then hourly: the 30th at 23 h 3.5 min.
    assert tries == 30, tries
    assert sweep(svc) == {"expired_events": 0}                # once each


def test_exhausted_sessions_post_the_last_reason(svc, server, flow, port, enrolled):
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    rule_id, key = callback_rule(svc, merchant, f"http://127.0.0.1:{port}/r")
    token = detect_auth(sdk(server, NATIVE_KEYS), rule_id).BizToken
    f = flow(token)
    f.consent()
    with Receiver(port) as receiver:
        for _ in range(3):
            ch = f.challenge()
            result = f.send_frames(ch["nonce"], grey_capture())
        assert result["finished"] is True and result["passed"] is False
        [(headers, body, _)] = receiver.got
    sent = json.loads(body)
    assert sent["Event"] == "exhausted" and sent["AttemptsUsed"] == 3 and sent["ErrCode"] == result["saas_code"]
    assert documented_verifier()(headers, body, key, now=svc.clock.now().timestamp())


@pytest.mark.parametrize("answers, why", [
    (["10.0.0.7"], "内网地址"), (["169.254.169.254"], "链路本地地址"), (["127.0.0.2"], "回环地址"),
    ([PUBLIC, "192.168.0.1"], "内网地址"), (["::ffff:10.1.1.1"], "内网地址"), (["fd00::1"], "内网地址"),
])
def test_an_ssrf_target_is_refused_when_saved(svc, answers, why):
    merchant = make_merchant(svc, native=True)
    RESOLVED["hooks.example.com"] = answers
    with pytest.raises(Exception) as err:
        callback_rule(svc, merchant, "https://hooks.example.com/cb")
    assert why in str(err.value) and err.value.result.tencent == "InvalidParameterValue.CallbackUrlUnsafe"


def test_dns_rebinding_after_the_check_gets_no_connection(svc, server, clock):
    """The name was public when the rule was saved; at delivery it answers the metadata service."""
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    RESOLVED["hooks.example.com"] = [PUBLIC]
    rule_id, _ = callback_rule(svc, merchant, "https://hooks.example.com/cb")
    detect_auth(sdk(server, NATIVE_KEYS), rule_id)
    RESOLVED["hooks.example.com"] = ["169.254.169.254"]
    clock.advance(7200)
    assert sweep(svc)["failed"] == 1
    d = delivery()
    assert d.state == "failed" and d.last_error.startswith("已拒绝") and "169.254.169.254" in d.last_error
    assert d.latency_ms is None and d.last_status is None        # no request was made


def test_the_connection_goes_to_the_checked_address(port):
    """Pinned: the resolver's checked answer is where the socket connects (the system's DNS does not
    know this name), while Host names the URL's host."""
    RESOLVED["merchant.test"] = ["127.0.0.1"]
    transport = safe_http.PinnedTransport(production=False, allow=("127.0.0.1/32",), resolver=resolver)
    with Receiver(port) as receiver:
        answer = transport.post(f"http://merchant.test:{port}/x", b"{}", {"Content-Type": "application/json"})
    assert answer.status == 200 and receiver.got[0][0]["Host"] == f"merchant.test:{port}"
    strict = safe_http.PinnedTransport(production=True, resolver=resolver)
    with pytest.raises(safe_http.UnsafeUrl, match="https"):
        strict.post(f"http://merchant.test:{port}/x", b"{}", {})
    RESOLVED["merchant.test"] = ["127.0.0.1"]
    with pytest.raises(safe_http.UnsafeUrl, match="回环地址"):
        strict.post(f"https://merchant.test:{port}/x", b"{}", {})


def test_rules_without_a_callback_post_nothing(svc, server, clock):
    merchant = make_merchant(svc, native=True, secret=NATIVE_KEYS)
    with db.database.connection_context():
        rule = Rule.create(rule_id="5550001111", merchant=merchant, channel="native_h5", liveness_mode="lip",
                           created_at=clock.now().replace(tzinfo=None))
    detect_auth(sdk(server, NATIVE_KEYS), rule.rule_id)
    clock.advance(7200)
    assert sweep(svc) == {"expired_events": 0}
    with db.database.connection_context():
        assert CallbackDelivery.select().count() == 0
