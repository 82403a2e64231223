"""Business licence scans: JPEG or PNG only, decoded in full before anything is stored.

The format is taken from the bytes (magic number and Pillow's parser), never from a file name or a
client-supplied content type. Limits: Settings.max_licence_bytes, MAX_PIXELS (checked from the header
before decoding, so a decompression bomb is refused without being expanded) and a minimum side so that
the scan is legible to a reviewer.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 40_000_000          # a 600 dpi A4 scan is about 35 MP
MIN_SIDE = 200                   # px; smaller cannot be read by a reviewer
_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}
MIME = {"JPEG": "image/jpeg", "PNG": "image/png"}


class LicenceError(ValueError):
    """Refused licence image; ``too_large`` tells size refusals apart from format ones."""

    def __init__(self, message: str, too_large: bool = False):
        super().__init__(message)
        self.too_large = too_large


@dataclass(frozen=True)
class LicenceImage:
    data: bytes          # the original bytes, unchanged
    mime: str            # image/jpeg | image/png
    width: int
    height: int


def _sniff(data: bytes) -> str:
    for magic, fmt in _MAGIC.items():
        if data.startswith(magic):
            return fmt
    return ""


def check(data: bytes, max_bytes: int) -> LicenceImage:
    """Validate a licence scan; LicenceError (Chinese message) when refused."""
    if not data:
        raise LicenceError("请上传营业执照图片")
    if len(data) > max_bytes:
        raise LicenceError(f"营业执照图片过大（{len(data)} 字节，上限 {max_bytes} 字节）", too_large=True)
    sniffed = _sniff(data)
    if not sniffed:
        raise LicenceError("营业执照图片须为 JPEG 或 PNG 格式")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format != sniffed:
                    raise LicenceError("营业执照图片须为 JPEG 或 PNG 格式")
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise LicenceError(f"营业执照图片像素过多（{width}x{height}）", too_large=True)
                if min(width, height) < MIN_SIDE:
                    raise LicenceError(f"营业执照图片太小（{width}x{height}），短边至少 {MIN_SIDE} 像素")
                img.load()   # full decode: truncated or corrupt data fails here, not in a reviewer's browser
    except LicenceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LicenceError("营业执照图片像素过多", too_large=True) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise LicenceError("营业执照图片无法解码（文件损坏或不完整）") from exc
    return LicenceImage(data=data, mime=MIME[sniffed], width=width, height=height)
