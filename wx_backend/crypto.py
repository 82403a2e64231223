"""Encryption at rest, keyed hashes and random tokens.

One data key (Settings.data_key) is stretched with HKDF into independent sub-keys: a Fernet key for
sealing (session keys, API secrets, face templates, best frames) and an HMAC key for lookup digests
of identifiers (ID numbers, tokens) so that they can be found without being stored in clear.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SealError(Exception):
    """Sealed data could not be opened (wrong key or tampered)."""


def _derive(master: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"wxfaceid/v1",
                info=purpose).derive(master.encode("utf-8"))


class Sealer:
    """Authenticated encryption (Fernet: AES-128-CBC + HMAC-SHA256) and keyed digests."""

    def __init__(self, data_key: str):
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(data_key, b"seal")))
        self._mac_key = _derive(data_key, b"lookup-hmac")

    def seal(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(bytes(sealed))
        except InvalidToken as exc:
            raise SealError("sealed value cannot be opened") from exc

    def seal_text(self, text: str) -> bytes:
        return self.seal(text.encode("utf-8"))

    def open_text(self, sealed: bytes) -> str:
        return self.open(sealed).decode("utf-8")

    def digest(self, value: str, purpose: str = "id") -> str:
        """Hex HMAC-SHA256 of a value under the lookup key (stable across restarts)."""
        return hmac.new(self._mac_key, f"{purpose}:{value}".encode("utf-8"), hashlib.sha256).hexdigest()


def new_token(nbytes: int = 24) -> str:
    """A URL-safe random token (default 192 bits)."""
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
