"""Replays of signed Cloud API calls: one signature, one execution.

A TC3-HMAC-SHA256 signature covers the body, the content type, the host, the credential scope and
X-TC-Timestamp, and the gateway accepts it for MAX_SKEW_S (300 s) either side of its clock. TC3 has no
nonce, so within that window the same bytes, sent again by anyone who saw them once (a proxy, a log, a
compromised client host), cannot be told from the original. So each signature is executed at most once:
the first request claims it in the shared rate-limit store (one slot per merchant and signature, held
for the whole window, atomic across workers and hosts), and a request whose signature is already
claimed is refused with ``AuthFailure.RequestReplayed`` before any parameter is read: not executed, not
charged, recorded as a free call. X-TC-TraceId (not signed) plays no part, so a new trace id does not
make a replay new.

GetLiveCode and GetActionSequence are not claimed: their signed body is ``{}``, so two honest calls in
the same second carry the same signature, and a replay only issues one more challenge value, which is
of no use without the merchant's key.

What is not covered (docs/api.md): X-TC-Action is not signed by the official SDK, so a captured
signature can be presented under another action name; the claim is keyed on the signature alone, so it
still runs once in all, under one action, for the same merchant and the same signed parameters (an
action that needs other parameters refuses them as missing). Transport security (HTTPS) is what keeps the
signature from being seen at all.
"""
from __future__ import annotations

from .ratelimit import RateLimiter
from .signing import MAX_SKEW_S

UNCLAIMED_ACTIONS = frozenset({"GetLiveCode", "GetActionSequence"})
# A signature first seen at any moment of its validity stays claimed until the validity ends.
HOLD_MS = (2 * MAX_SKEW_S + 5) * 1000


def first_use(limiter: RateLimiter, merchant_id: int, action: str, signature: str, now_ms: int) -> bool:
    """True when this request may run: its action claims nothing, or this is the signature's first use."""
    if action in UNCLAIMED_ACTIONS:
        return True
    return limiter.hit(f"replay:{merchant_id}:{signature[:40]}", 1, now_ms, HOLD_MS)
