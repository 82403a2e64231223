"""The callback signature: HMAC-SHA256, keyed with the rule's callback key, over

    timestamp + "\n" + nonce + "\n" + body

(timestamp: the X-Wxf-Timestamp header, Unix seconds as ASCII digits; nonce: X-Wxf-Nonce, 32 hex
characters; body: the request body's bytes as sent), lower-case hex in X-Wxf-Signature.
docs/callbacks.md has the receiver's side, which the tests run as written there.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

TIMESTAMP, NONCE, SIGNATURE, EVENT_ID = "X-Wxf-Timestamp", "X-Wxf-Nonce", "X-Wxf-Signature", "X-Wxf-Event-Id"


def signature(key: str, timestamp: int, nonce: str, body: bytes) -> str:
    message = f"{timestamp}\n{nonce}\n".encode("ascii") + body
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(key: str, timestamp: int, body: bytes, event_id: str) -> dict[str, str]:
    nonce = secrets.token_hex(16)
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": "wxfaceid-callback/1",
            TIMESTAMP: str(timestamp), NONCE: nonce, SIGNATURE: signature(key, timestamp, nonce, body),
            EVENT_ID: event_id}
