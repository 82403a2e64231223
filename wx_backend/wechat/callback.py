"""GET/POST /wechat/callback: the official account's server URL.

WeChat signs each call with sha1 over the sorted [token, timestamp, nonce]; the signature is compared
in constant time. Calls whose timestamp is more than MAX_SKEW_S from our clock are refused, which
bounds how long a captured signed URL can be replayed. GET (the URL check) echoes ``echostr``; POST
carries a plaintext-mode XML message or event, which is parsed and answered ``success`` (no passive
reply). Safe mode (AES-encrypted messages) is not configured.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from xml.parsers.expat import ExpatError

from flask import Blueprint, Response, request
from wechatpy import parse_message

from ..clock import Clock
from ..services import services

log = logging.getLogger(__name__)

bp = Blueprint("wechat_callback", __name__)

MAX_SKEW_S = 300
MAX_TIMESTAMP_DIGITS = 11
MAX_BODY_BYTES = 64 * 1024


def signature_for(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode("utf-8")).hexdigest()


def check_signature(token: str, signature: str, timestamp: str, nonce: str, clock: Clock) -> str | None:
    """None when the call is authentic and fresh, else the reason it is not."""
    if not (signature and timestamp and nonce):
        return "missing signature parameters"
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > MAX_TIMESTAMP_DIGITS:
        return "timestamp is not seconds since the epoch"
    if abs(clock.now().timestamp() - int(timestamp)) > MAX_SKEW_S:
        return "stale timestamp"
    expected = signature_for(token, timestamp, nonce)
    if not hmac.compare_digest(expected.encode("ascii"), signature.lower().encode("utf-8")):
        return "bad signature"
    return None


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, content_type="text/plain; charset=utf-8")


@bp.route("/wechat/callback", methods=["GET", "POST"])
def wechat_callback():
    svc = services()
    a = request.args
    problem = check_signature(svc.settings.oa_token, a.get("signature", ""), a.get("timestamp", ""),
                              a.get("nonce", ""), svc.clock)
    if problem:
        log.warning("official-account callback refused: %s", problem)
        return _text("forbidden", 403)
    if request.method == "GET":
        return _text(a.get("echostr", ""))
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _text("too large", 413)
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY_BYTES:
        return _text("too large", 413)
    try:
        message = parse_message(raw)
    except (ExpatError, ValueError, KeyError, TypeError, AttributeError):
        return _text("bad message", 400)
    if message is None:
        return _text("bad message", 400)
    log.info("official-account message: type=%s event=%s", message.type,
             getattr(message, "event", "-"))
    return _text("success")
