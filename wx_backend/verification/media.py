"""Parsing and checking uploaded captures before anything else happens.

Everything here is a pure check of the request's bytes: a refusal raises BadRequest with a
documented code, and no session state has changed yet (no attempt used, no challenge taken).

Frames: multipart files under the field ``frames``, each a JPEG whose filename is its capture time
in milliseconds since the challenge started (``1234.jpg`` or ``1234.5.jpg``); optional ``audio``
(16-bit PCM WAV); the form field ``nonce`` of the challenge. Videos: WebM or MP4 as MediaRecorder
writes them.
"""
from __future__ import annotations

import io
import logging
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from faceengine.errors import MediaError
from faceengine.liveness.capture import Audio, read_wav
from faceengine.liveness.types import Frame

from ..errors import BadRequest

log = logging.getLogger(__name__)

MAX_FRAMES = 150              # 10 s at 15 fps; the checks need ~3-5 s
MAX_CAPTURE_MS = 20_000
MAX_FRAME_BYTES = 512 * 1024  # a 720p JPEG at ordinary quality is ~100 KB
MAX_AUDIO_BYTES = 2 * 1024 * 1024
MAX_FRAME_PIXELS = 1920 * 1920


@dataclass(frozen=True)
class FrameUpload:
    nonce: str
    frames: list[Frame]
    audio: Audio | None


def _timestamp(filename: str) -> float:
    stem = Path(filename or "").stem
    try:
        ts = float(stem)
    except ValueError:
        raise BadRequest("InvalidParameter", "帧文件名必须是毫秒时间戳，如 1234.jpg") from None
    if not 0 <= ts <= MAX_CAPTURE_MS:
        raise BadRequest("InvalidParameterValue", f"帧时间戳须在 0..{MAX_CAPTURE_MS} ms 之内")
    return ts


def parse_frames(files, form) -> FrameUpload:
    """``files`` / ``form``: werkzeug MultiDicts of the request."""
    nonce = (form.get("nonce") or "").strip()
    if not nonce:
        raise BadRequest("MissingParameter", "缺少挑战 nonce")
    uploads = files.getlist("frames")
    if not uploads:
        raise BadRequest("MissingParameter", "没有上传任何帧")
    if len(uploads) > MAX_FRAMES:
        raise BadRequest("InvalidParameterValue", f"最多 {MAX_FRAMES} 帧")
    stamped: list[tuple[float, bytes]] = []
    seen: set[float] = set()
    for up in uploads:
        ts = _timestamp(up.filename)
        if ts in seen:
            raise BadRequest("InvalidParameterValue", "帧时间戳重复")
        seen.add(ts)
        data = up.read(MAX_FRAME_BYTES + 1)
        if len(data) > MAX_FRAME_BYTES:
            raise BadRequest("ImageSizeTooLarge")
        stamped.append((ts, data))
    # OpenCV's decoder releases the GIL: the frames of a capture decode on both cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        images = list(pool.map(decode_frame, [data for _, data in stamped]))
    if len({img.shape for img in images}) != 1:
        raise BadRequest("InvalidParameterValue", "所有帧的尺寸必须相同")
    frames = [Frame(image_rgb=img, timestamp_ms=ts) for (ts, _), img in zip(stamped, images)]
    frames.sort(key=lambda f: f.timestamp_ms)
    audio = None
    wav = files.get("audio")
    if wav is not None:
        audio = _parse_wav(wav.read(MAX_AUDIO_BYTES + 1))
    return FrameUpload(nonce=nonce, frames=frames, audio=audio)


def decode_frame(data: bytes) -> np.ndarray:
    """One camera frame: a complete JPEG (SOI ... EOI) of at most MAX_FRAME_PIXELS, as RGB uint8.

    The header is read first (Pillow, no pixel decoded) so a decompression bomb costs nothing;
    pixels are decoded by OpenCV, about twice as fast as Pillow here. Camera frames drawn on a
    canvas carry no EXIF orientation, so none is applied.
    """
    if not data.startswith(b"\xff\xd8\xff") or not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise BadRequest("ImageDecodeFailed", "帧必须是完整的 JPEG 图片")
    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
    except (UnidentifiedImageError, OSError, ValueError):
        raise BadRequest("ImageDecodeFailed") from None
    if width * height > MAX_FRAME_PIXELS:
        raise BadRequest("ImageSizeTooLarge", "帧分辨率过大")
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise BadRequest("ImageDecodeFailed")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _parse_wav(data: bytes) -> Audio:
    if len(data) > MAX_AUDIO_BYTES:
        raise BadRequest("RequestSizeLimitExceeded", "音频过大")
    # read_wav takes a path (it is shared with the offline tools).
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            return read_wav(Path(tmp.name))
        except MediaError:
            raise BadRequest("InvalidParameterValue", "音频须为 16 位 PCM WAV") from None


def video_suffix(data: bytes) -> str:
    """'.webm' or '.mp4' from the container's magic bytes; refuses anything else."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return ".webm"
    if data[4:8] == b"ftyp":
        return ".mp4"
    raise BadRequest("LipVideoInvalid")


def check_video(data: bytes, max_bytes: int) -> str:
    """Size, container and one decodable video frame; returns the file suffix to store it under."""
    if not data:
        raise BadRequest("LipSizeError")
    if len(data) > max_bytes:
        raise BadRequest("LipSizeError", f"视频不能超过 {max_bytes // (1024 * 1024)} MB")
    suffix = video_suffix(data)
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:
                raise BadRequest("LipVideoInvalid", "视频中没有画面")
            for _frame in container.decode(container.streams.video[0]):
                break
            else:
                raise BadRequest("LipVideoInvalid", "视频中没有可解码的画面")
    except (av.error.FFmpegError, ValueError, IndexError):
        raise BadRequest("LipVideoInvalid") from None
    return suffix
