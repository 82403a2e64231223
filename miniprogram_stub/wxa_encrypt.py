"""What WeChat does on the phone for wx.getUserProfile / getUserInfo: the profile, encrypted.

``encryptedData`` = base64(AES-128-CBC(key = session_key, iv, PKCS#7(JSON))) with a ``watermark``
``{"appid", "timestamp"}`` inside, so the developer's server (which holds session_key) can decrypt it and
check that the data was produced for its own app. ``signature`` = sha1(rawData + session_key).
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def encrypt_user_data(session_key: bytes, payload: dict, *, watermark_appid: str,
                      timestamp: int) -> dict:
    """``{"encryptedData", "iv", "rawData", "signature"}`` for ``payload`` (a profile dict)."""
    data = dict(payload, watermark={"appid": watermark_appid, "timestamp": timestamp})
    plaintext = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    iv = secrets.token_bytes(16)
    encryptor = Cipher(algorithms.AES(session_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    raw = json.dumps({k: v for k, v in payload.items() if k not in ("openId", "unionId")},
                     ensure_ascii=False, separators=(",", ":"))
    signature = hashlib.sha1((raw + base64.b64encode(session_key).decode("ascii"))
                             .encode("utf-8")).hexdigest()
    return {"encryptedData": base64.b64encode(ciphertext).decode("ascii"),
            "iv": base64.b64encode(iv).decode("ascii"), "rawData": raw, "signature": signature}
