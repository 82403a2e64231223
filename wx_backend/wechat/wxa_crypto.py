"""Decrypting mini-program ``encryptedData`` (wx.getUserProfile and friends).

WeChat encrypts with AES-128-CBC under the session's ``session_key``, PKCS#7-padded JSON, and puts a
``watermark`` ``{"appid", "timestamp"}`` inside so the server can tell the data was made for its app.
"""
from __future__ import annotations

import base64
import binascii
import json

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class DecryptFailed(Exception):
    """The data cannot be decrypted with this session's key (stale session, corrupt input)."""


class WatermarkMismatch(Exception):
    """The data decrypts but was produced for another app."""


def decrypt_user_data(session_key: bytes, encrypted_b64: str, iv_b64: str, appid: str) -> dict:
    """The decrypted JSON object, without its watermark, after checking the watermark's appid."""
    try:
        ciphertext = base64.b64decode(encrypted_b64, validate=True)
        iv = base64.b64decode(iv_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise DecryptFailed("encryptedData/iv are not base64") from None
    if len(iv) != 16 or not ciphertext or len(ciphertext) % 16:
        raise DecryptFailed("bad iv or ciphertext length")
    decryptor = Cipher(algorithms.AES(session_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    try:
        unpadder = padding.PKCS7(128).unpadder()
        plaintext = unpadder.update(padded) + unpadder.finalize()
        data = json.loads(plaintext.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise DecryptFailed("wrong key or corrupt data") from None
    if not isinstance(data, dict):
        raise DecryptFailed("not a JSON object")
    watermark = data.pop("watermark", None)
    if not isinstance(watermark, dict) or watermark.get("appid") != appid:
        raise WatermarkMismatch("watermark appid differs")
    return data
