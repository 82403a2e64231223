"""Business licence scans: JPEG or PNG only, decoded in full before anything is stored.

The format is taken from the bytes (faceengine's intake: magic number and Pillow's parser), never from
a file name or a client-supplied content type. Limits: Settings.max_licence_bytes, MAX_PIXELS (checked
from the header before decoding, so a decompression bomb is refused without being expanded: the same
header check every image upload goes through) and a minimum side so that the scan is legible to a
reviewer.
"""
from __future__ import annotations

from dataclasses import dataclass

from faceengine import IntakeLimits, MediaError, check_image

MAX_PIXELS = 40_000_000          # a 600 dpi A4 scan is about 35 MP
MIN_SIDE = 200                   # px; smaller cannot be read by a reviewer
FORMATS = frozenset({"JPEG", "PNG"})
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
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


def check(data: bytes, max_bytes: int) -> LicenceImage:
    """Validate a licence scan; LicenceError (Chinese message) when refused."""
    if not data:
        raise LicenceError("请上传营业执照图片")
    if len(data) > max_bytes:
        raise LicenceError(f"营业执照图片过大（{len(data)} 字节，上限 {max_bytes} 字节）", too_large=True)
    if not data.startswith(_MAGIC):          # not even the start of a JPEG or PNG: say which formats
        raise LicenceError("营业执照图片须为 JPEG 或 PNG 格式")
    try:
        info = check_image(data, IntakeLimits(max_bytes=max_bytes, max_pixels=MAX_PIXELS, formats=FORMATS))
    except MediaError as exc:
        if exc.code == "ImageDecompressionBomb":
            raise LicenceError("营业执照图片像素过多", too_large=True) from None
        if exc.code == "ImageFormatUnsupported":
            raise LicenceError("营业执照图片须为 JPEG 或 PNG 格式") from None
        raise LicenceError("营业执照图片无法解码（文件损坏或不完整）") from None
    if min(info.width, info.height) < MIN_SIDE:
        raise LicenceError(f"营业执照图片太小（{info.width}x{info.height}），短边至少 {MIN_SIDE} 像素")
    return LicenceImage(data=data, mime=MIME[info.format], width=info.width, height=info.height)
