"""Media intake: turn untrusted bytes or base64 text into an RGB uint8 image; sniff video containers.

One header check (:func:`probe_image`: size, format, completeness, pixel count) stands before
every decoder:

- :func:`decode_image` / :func:`decode_base64_image`: photos (JPEG, PNG, WebP by default), decoded
  by Pillow with EXIF orientation applied, so the array is upright as a person would see it;
- :func:`decode_jpeg_frame`: camera frames (complete JPEGs), decoded by OpenCV (about twice as fast
  as Pillow here; frames drawn on a canvas carry no EXIF orientation, so none is applied);
- :func:`check_image`: a full decode that keeps no pixels (documents stored as they came).

Every refusal raises a :class:`MediaError` subclass whose ``code`` is stable and distinct:

    MediaError
    ├── Base64Invalid        text is not strict RFC 4648 base64 (alphabet, padding)
    ├── ImageTooLarge        more bytes than ``IntakeLimits.max_bytes``
    ├── ImageEmpty           no bytes at all
    ├── UnsupportedFormat    a recognisable image format we do not take (GIF, BMP, TIFF, HEIF, ...)
    ├── ImageDecodeFailed    not an image, or corrupt
    ├── ImageTruncated       a supported image whose data stops early
    └── ImageBomb            more pixels than ``IntakeLimits.max_pixels`` (decompression bomb)

The pixel count is read from the header before any pixel is decoded, so a bomb costs
nothing but the header parse.
"""
from __future__ import annotations

import base64
import binascii
import io
import logging
import re
import struct
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import MediaError

log = logging.getLogger(__name__)

MB = 1024 * 1024


class Base64Invalid(MediaError):
    code = "Base64Invalid"


class ImageTooLarge(MediaError):
    code = "ImageSizeTooLarge"


class ImageEmpty(MediaError):
    code = "ImageEmpty"


class UnsupportedFormat(MediaError):
    code = "ImageFormatUnsupported"


class ImageDecodeFailed(MediaError):
    code = "ImageDecodeFailed"


class ImageTruncated(MediaError):
    code = "ImageTruncated"


class ImageBomb(MediaError):
    code = "ImageDecompressionBomb"


PHOTO_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
# Pillow names a JPEG with a second image appended (some cameras) MPO; its first image is the frame.
_FRAME_FORMATS = frozenset({"JPEG", "MPO"})


@dataclass(frozen=True)
class IntakeLimits:
    """``max_bytes`` applies to the data as received: the base64 text for
    :func:`decode_base64_image` (Tencent states its 3 MB limit on the encoded image), the raw
    bytes for :func:`decode_image`. ``max_pixels`` bounds width x height before decoding;
    40 MP admits any phone photo below 48 MP sensors while capping memory at ~120 MB of RGB.
    ``formats``: the Pillow format names accepted."""

    max_bytes: int = 3 * MB
    max_pixels: int = 40_000_000
    formats: frozenset[str] = PHOTO_FORMATS


@dataclass(frozen=True)
class ImageInfo:
    """What the header says: Pillow's format name and the size in pixels."""

    format: str
    width: int
    height: int


DEFAULT_LIMITS = IntakeLimits()
# Leading bytes of formats we recognise but refuse, so they get UnsupportedFormat and not
# the vaguer ImageDecodeFailed.
_REFUSED_MAGIC = (
    (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"BM", "BMP"),
    (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"\x00\x00\x01\x00", "ICO"),
)
_DATA_URL = re.compile(rb"^data:image/[a-zA-Z0-9.+-]+;base64,")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"IEND\xaeB`\x82"


def decode_base64_image(text: str | bytes, limits: IntakeLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Decode strict RFC 4648 base64 (standard alphabet, padding required, no whitespace).

    A ``data:image/...;base64,`` prefix is tolerated and not counted. Returns RGB uint8
    (H, W, 3), upright.
    """
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise Base64Invalid("base64 text contains non-ASCII characters") from None
    else:
        raw = bytes(text)
    raw = _DATA_URL.sub(b"", raw, count=1)
    if not raw:
        raise ImageEmpty("empty image")
    if len(raw) > limits.max_bytes:
        raise ImageTooLarge(f"encoded image is {len(raw)} bytes, limit {limits.max_bytes}")
    if len(raw) % 4:
        raise Base64Invalid("base64 length is not a multiple of 4 (padding missing or wrong)")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Base64Invalid(f"invalid base64: {exc}") from None
    return decode_image(data, limits=limits)  # decoded bytes < encoded text <= max_bytes


def decode_image(data: bytes, limits: IntakeLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Decode JPEG/PNG/WebP bytes to RGB uint8 (H, W, 3) with EXIF orientation applied."""
    img = _open(data, limits, load=True)
    img = _upright(img)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8)


def check_image(data: bytes, limits: IntakeLimits = DEFAULT_LIMITS) -> ImageInfo:
    """Decode the whole image (corrupt or truncated data fails here) and keep no pixels."""
    img = _open(data, limits, load=True)
    return ImageInfo(img.format, *img.size)


def probe_image(data: bytes, limits: IntakeLimits = DEFAULT_LIMITS) -> ImageInfo:
    """The header checks alone: size, format, completeness and pixel count; no pixel is decoded."""
    img = _open(data, limits, load=False)
    return ImageInfo(img.format, *img.size)


def decode_jpeg_frame(data: bytes, limits: IntakeLimits) -> np.ndarray:
    """One camera frame: a complete JPEG (SOI ... EOI, trailing zero padding allowed) as RGB uint8.

    The header is checked first (:func:`probe_image`), so a decompression bomb costs nothing. The
    pixels are decoded by libjpeg-turbo (simplejpeg) in strict mode: entropy-coded data that ends
    before the image does is refused (``ImageTruncated``), also when an end-of-image marker was
    appended to half a file; OpenCV and Pillow would fill the missing part with grey and call the
    frame good.
    """
    if not data.startswith(b"\xff\xd8\xff") or not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        if not data:
            raise ImageEmpty("empty frame")
        raise ImageDecodeFailed("a frame must be a complete JPEG")
    probe_image(data, IntakeLimits(limits.max_bytes, limits.max_pixels, _FRAME_FORMATS))
    import simplejpeg

    try:
        return simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True)
    except ValueError as exc:
        # libjpeg's own words: "premature end of data segment", "Premature end of JPEG file", ...
        if "premature end" in str(exc).lower():
            raise ImageTruncated("the frame's image data ends before the image does") from None
        raise ImageDecodeFailed("corrupt JPEG frame") from None


def _open(data: bytes, limits: IntakeLimits, *, load: bool) -> Image.Image:
    """The image opened by Pillow after every header check; its pixels decoded when ``load``."""
    if not data:
        raise ImageEmpty("empty image")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"image is {len(data)} bytes, limit {limits.max_bytes}")
    for magic, name in _REFUSED_MAGIC:
        if data.startswith(magic):
            raise UnsupportedFormat(f"{name} images are not accepted")
    _check_container_complete(data)
    fmt = "image"
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past 2x its own limit raises) on huge images; ours is stricter.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format
            if fmt not in limits.formats:
                raise UnsupportedFormat(f"{fmt} images are not accepted; send {'/'.join(sorted(limits.formats))}")
            w, h = img.size
            if w * h > limits.max_pixels:
                raise ImageBomb(f"{w}x{h} pixels exceeds the limit of {limits.max_pixels}")
            if w == 0 or h == 0:
                raise ImageDecodeFailed("image has no pixels")
            if load:
                img.load()
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageBomb(str(exc)) from None
    except UnidentifiedImageError:
        raise ImageDecodeFailed("not a recognised image") from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as exc:
        if "truncated" in str(exc):
            raise ImageTruncated("image data ends early") from None
        raise ImageDecodeFailed(f"corrupt {fmt} image") from None
    return img


def encode_jpeg(image_rgb: np.ndarray, quality: int = 90) -> bytes:
    """An RGB uint8 image as JPEG bytes (OpenCV's encoder)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise MediaError("cannot encode the image as JPEG", "ImageEncodeFailed")
    return buf.tobytes()


def video_container(data: bytes) -> str:
    """The container of a recorded video from its leading bytes: "webm", "mp4", "avi", or ""."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "avi"
    return ""


def _check_container_complete(data: bytes) -> None:
    """Structural truncation checks Pillow does not make reliably (it accepts a PNG without
    IEND, reports a cut WebP only as a decoder failure, and a JPEG cut inside its headers as
    a syntax error)."""
    if data.startswith(b"\xff\xd8\xff"):
        # No end-of-image marker anywhere: the file was cut. (A cut file can still hold the
        # EOI of its EXIF thumbnail; Pillow reports those as truncated while decoding.)
        if b"\xff\xd9" not in data:
            raise ImageTruncated("JPEG has no end-of-image marker")
    elif data.startswith(_PNG_MAGIC):
        if _PNG_IEND not in data[-64:]:
            raise ImageTruncated("PNG has no IEND chunk")
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 12:
        declared = struct.unpack("<I", data[4:8])[0] + 8
        if len(data) < declared:
            raise ImageTruncated(f"WebP declares {declared} bytes, got {len(data)}")


def _upright(img: Image.Image) -> Image.Image:
    """``img`` turned as its EXIF orientation says, in place: exif_transpose's default returns a copy even
    when nothing turns (most photos), which for a 12 MP photo is 36 MB written for nothing."""
    try:
        ImageOps.exif_transpose(img, in_place=True)
        return img
    except (OSError, ValueError, KeyError, TypeError, struct.error, SyntaxError):
        # A malformed EXIF block is common on edited photos; the pixels are still good, so
        # keep them as stored rather than refuse the photo.
        log.debug("ignoring unreadable EXIF orientation")
        return img
