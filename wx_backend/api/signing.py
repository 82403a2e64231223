"""TC3-HMAC-SHA256 request signatures (Tencent Cloud API 3.0), verified exactly as the official SDKs sign.

    CanonicalRequest = Method \n URI \n Query \n CanonicalHeaders \n SignedHeaders \n hex(SHA256(payload))
    StringToSign     = "TC3-HMAC-SHA256" \n Timestamp \n Date/Service/tc3_request \n hex(SHA256(CanonicalRequest))
    SigningKey       = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), Service), "tc3_request")
    Signature        = hex(HMAC(SigningKey, StringToSign))

Pure functions; the view supplies the request parts and the secret.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "faceid"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_SKEW_S = 300
MAX_TIMESTAMP_DIGITS = 11          # seconds since the epoch stay 10 digits until the year 2286

_AUTH = re.compile(r"^TC3-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{4}-\d{2}-\d{2})/([^/,\s]+)/tc3_request\s*,"
                   r"\s*SignedHeaders=([a-z0-9;\-]+)\s*,\s*Signature=([0-9a-f]{64})\s*$")


class MalformedAuthorization(ValueError):
    pass


@dataclass(frozen=True)
class Authorization:
    secret_id: str
    date: str               # YYYY-MM-DD of the credential scope
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str) -> Authorization:
    match = _AUTH.match(header or "")
    if not match:
        raise MalformedAuthorization("Authorization is not a TC3-HMAC-SHA256 credential")
    secret_id, date, service, signed, signature = match.groups()
    names = tuple(signed.split(";"))
    if "host" not in names or "content-type" not in names:
        raise MalformedAuthorization("SignedHeaders must include content-type and host")
    return Authorization(secret_id, date, service, names, signature)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signature(secret_key: str, *, method: str, uri: str, query: str, headers: dict[str, str],
              signed_headers: tuple[str, ...], payload: bytes, timestamp: str, date: str,
              service: str = SERVICE, unsigned_payload: bool = False) -> str:
    """The hex signature of a request. ``headers`` maps lower-case names to values as received."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    payload_hash = hashlib.sha256(UNSIGNED_PAYLOAD.encode() if unsigned_payload else payload).hexdigest()
    canonical_request = "\n".join([method, uri, query, canonical_headers, ";".join(signed_headers),
                                   payload_hash])
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join([ALGORITHM, timestamp, scope,
                                hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))


def timestamp_fresh(timestamp: int, now: dt.datetime, max_skew_s: int = MAX_SKEW_S) -> bool:
    if not -10 ** MAX_TIMESTAMP_DIGITS < timestamp < 10 ** MAX_TIMESTAMP_DIGITS:
        return False          # far outside any window, and too large to meet a float
    return abs(now.timestamp() - timestamp) <= max_skew_s


def scope_date(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d")
