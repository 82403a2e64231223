"""Media intake: every refusal has its own error class and code; good images come out RGB upright."""
from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from faceengine import intake
from faceengine.errors import MediaError
from faceengine.intake import IntakeLimits, decode_base64_image, decode_image

from .conftest import encode


def _pil_bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _gradient(w: int = 64, h: int = 48) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 128)], axis=-1).astype(np.uint8)


def _png_with_size(width: int, height: int) -> bytes:
    """A valid PNG whose IHDR claims width x height (pixel data of a 1x1 image)."""
    png = _pil_bytes(Image.new("L", (1, 1)), "PNG")
    ihdr_data = struct.pack(">II", width, height) + png[24:29]
    chunk = b"IHDR" + ihdr_data
    return png[:12] + chunk + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF) + png[33:]


def _jpeg() -> bytes:
    return encode(_gradient(), ".jpg", quality=90)


ERROR_CASES = [
    ("empty", lambda: decode_image(b""), intake.ImageEmpty),
    ("too_large", lambda: decode_image(_jpeg(), IntakeLimits(max_bytes=100)), intake.ImageTooLarge),
    ("gif", lambda: decode_image(_pil_bytes(Image.new("RGB", (8, 8)), "GIF")), intake.UnsupportedFormat),
    ("bmp", lambda: decode_image(_pil_bytes(Image.new("RGB", (8, 8)), "BMP")), intake.UnsupportedFormat),
    ("tiff", lambda: decode_image(_pil_bytes(Image.new("RGB", (8, 8)), "TIFF")), intake.UnsupportedFormat),
    ("text", lambda: decode_image(b"hello, this is not an image at all"), intake.ImageDecodeFailed),
    ("corrupt_jpeg", lambda: decode_image(_jpeg()[:20] + b"\x00" * 400 + _jpeg()[420:]), intake.ImageDecodeFailed),
    ("truncated_jpeg", lambda: decode_image(_jpeg()[: len(_jpeg()) // 2]), intake.ImageTruncated),
    ("truncated_png", lambda: decode_image(encode(_gradient(), ".png")[:-20]), intake.ImageTruncated),
    ("truncated_webp", lambda: decode_image(_pil_bytes(Image.fromarray(_gradient()), "WEBP")[:-30]),
     intake.ImageTruncated),
    ("bomb", lambda: decode_image(_png_with_size(50_000, 50_000)), intake.ImageBomb),
    ("bomb_own_limit", lambda: decode_image(_jpeg(), IntakeLimits(max_pixels=1000)), intake.ImageBomb),
    ("b64_bad_char", lambda: decode_base64_image("ab$d"), intake.Base64Invalid),
    ("b64_no_padding", lambda: decode_base64_image(base64.b64encode(_jpeg()).rstrip(b"=")[:-1]),
     intake.Base64Invalid),
    ("b64_whitespace", lambda: decode_base64_image(base64.encodebytes(_jpeg())), intake.Base64Invalid),
    ("b64_urlsafe", lambda: decode_base64_image("ab-_"), intake.Base64Invalid),
    ("b64_non_ascii", lambda: decode_base64_image("abcé"), intake.Base64Invalid),
    ("b64_too_large", lambda: decode_base64_image(base64.b64encode(_jpeg()), IntakeLimits(max_bytes=100)),
     intake.ImageTooLarge),
    ("b64_empty", lambda: decode_base64_image(""), intake.ImageEmpty),
    ("b64_not_image", lambda: decode_base64_image(base64.b64encode(b"plain text, no image")),
     intake.ImageDecodeFailed),
]


@pytest.mark.parametrize("name,call,error", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_each_refusal_raises_its_own_error(name, call, error):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error  # not a sibling or the base class
    assert isinstance(info.value, MediaError)
    assert info.value.code == error.code


def test_error_codes_are_distinct():
    classes = [intake.Base64Invalid, intake.ImageTooLarge, intake.ImageEmpty, intake.UnsupportedFormat,
               intake.ImageDecodeFailed, intake.ImageTruncated, intake.ImageBomb]
    assert len({c.code for c in classes}) == len(classes)
    assert all(c.code != MediaError.code for c in classes)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats_decode_to_rgb_uint8(fmt):
    src = _gradient()
    out = decode_image(_pil_bytes(Image.fromarray(src), fmt, **({"quality": 95} if fmt != "PNG" else {})))
    assert out.dtype == np.uint8 and out.shape == src.shape
    tol = 0 if fmt == "PNG" else 12
    assert np.abs(out.astype(int) - src).mean() <= tol


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "LA"])
def test_other_png_modes_become_rgb(mode):
    img = Image.fromarray(_gradient()).convert(mode)
    out = decode_image(_pil_bytes(img, "PNG"))
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("orientation,rotate", [(3, 2), (6, -1), (8, 1)])
def test_exif_orientation_is_applied(orientation, rotate):
    src = _gradient(64, 48)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _pil_bytes(Image.fromarray(src), "JPEG", quality=95, exif=exif.tobytes())
    out = decode_image(data)
    expected = np.rot90(src, k=rotate)  # k=-1: 90 deg clockwise, as orientation 6 asks
    assert out.shape == expected.shape
    assert np.abs(out.astype(int) - expected).mean() < 6


def test_base64_round_trip_and_data_url_prefix():
    data = _jpeg()
    plain = decode_image(data)
    text = base64.b64encode(data).decode("ascii")
    assert np.array_equal(decode_base64_image(text), plain)
    assert np.array_equal(decode_base64_image("data:image/jpeg;base64," + text), plain)
    assert np.array_equal(decode_base64_image(text.encode("ascii")), plain)


def test_base64_limit_applies_to_encoded_text():
    text = base64.b64encode(_jpeg())
    decode_base64_image(text, IntakeLimits(max_bytes=len(text)))
    with pytest.raises(intake.ImageTooLarge):
        decode_base64_image(text, IntakeLimits(max_bytes=len(text) - 1))
