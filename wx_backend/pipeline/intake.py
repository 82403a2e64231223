"""Intake: the request's bytes checked and read, bounded, before any state changes.

Every reader here refuses with ``Rejected`` (a documented bad-input code) and changes nothing: no
attempt is used, no challenge taken, nothing charged. Nothing is written to disk: videos and audio
are decoded from memory (faceengine reads bytes), so no clear-text copy of a capture exists outside
the process.

- photos: ``photo_bytes`` (base64 text -> the image's bytes, decoded once to check them);
- live frames: ``parse_frames`` (multipart JPEG files named by their capture time in ms, an optional
  16-bit PCM WAV ``audio`` and the challenge's ``nonce``);
- recorded videos: ``video_base64`` (the Cloud API's VideoBase64), ``video_upload`` (a session's
  upload), then ``read_capture`` (frames thinned to the checks' rate, and the sound for the digit mode).
"""
from __future__ import annotations

import base64
import binascii
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from faceengine import (Audio, Frame, IntakeLimits, VideoLimits, decode_base64_image, decode_jpeg_frame,
                        probe_video, read_video, read_video_audio, read_wav, video_container)

from ..errors import Rejected
from .engine_errors import ENGINE_ERRORS, Stage, rejected

log = logging.getLogger(__name__)

MAX_FRAMES = 150              # 10 s at 15 fps; the checks need ~3-5 s
MAX_CAPTURE_MS = 20_000
MAX_FRAME_BYTES = 512 * 1024  # a 720p JPEG at ordinary quality is ~100 KB
MAX_AUDIO_BYTES = 2 * 1024 * 1024
MAX_AUDIO_MS = 16_000.0     # a recording is read for 15 s at most; its sound no further
MAX_FRAME_PIXELS = 1920 * 1920
# Recorded videos, bounded while they are decoded (faceengine.VideoLimits): the checks are designed for
# ~15 fps and need 3-8 s (the longest, a paced digit reading, ~7.5 s plus the page's tail); a longer,
# denser or larger video only costs time and memory. Kept frames are scaled down to 640x480 pixels at
# most as they stream (an H5 recording at 640x480 is kept as it is), so 225 frames (15 s at 15 fps) hold
# at most ~210 MB whatever resolution came in; 900 decoded frames, sound to 16 s.
VIDEO_LIMITS = VideoLimits(max_fps=15.0, max_frames=225, max_source_pixels=3840 * 2160,
                           max_kept_pixels=640 * 480, max_duration_ms=15_000.0, max_decoded=900,
                           max_audio_ms=MAX_AUDIO_MS)
# Containers each front door takes: the Cloud API also takes AVI; the H5 page's MediaRecorder
# writes WebM (or MP4 on iOS).
API_CONTAINERS = ("mp4", "webm", "avi")
SESSION_CONTAINERS = ("webm", "mp4")


@dataclass(frozen=True)
class Capture:
    """What liveness runs on: frames in time order and, for the digit mode, the sound."""

    frames: list[Frame]
    audio: Audio | None = None


@dataclass(frozen=True)
class FrameUpload:
    nonce: str
    capture: Capture


@dataclass(frozen=True)
class Video:
    data: bytes
    container: str           # "webm" | "mp4" | "avi"

    @property
    def suffix(self) -> str:
        return "." + self.container


# -- photos ---------------------------------------------------------------------------------------
def photo_bytes(image_base64: str, max_bytes: int) -> bytes:
    """The bytes of a base64 photo (a ``data:`` prefix allowed), checked by decoding it once."""
    try:
        decode_base64_image(image_base64, IntakeLimits(max_bytes=max_bytes))
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.PHOTO) from None
    text = image_base64.split(",", 1)[1] if image_base64.startswith("data:") else image_base64
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected("FailedOperation.ImageDecodeFailed") from None


# -- live frames ----------------------------------------------------------------------------------
def _timestamp(filename: str) -> float:
    stem = Path(filename or "").stem
    try:
        ts = float(stem)
    except ValueError:
        raise Rejected("InvalidParameter", "帧文件名必须是毫秒时间戳，如 1234.jpg") from None
    if not 0 <= ts <= MAX_CAPTURE_MS:
        raise Rejected("InvalidParameterValue", f"帧时间戳须在 0..{MAX_CAPTURE_MS} ms 之内")
    return ts


def decode_frame(data: bytes):
    """One camera frame as RGB uint8 (a complete JPEG of at most MAX_FRAME_PIXELS)."""
    try:
        return decode_jpeg_frame(data, IntakeLimits(max_bytes=MAX_FRAME_BYTES, max_pixels=MAX_FRAME_PIXELS))
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.FRAMES) from None


def parse_frames(files, form) -> FrameUpload:
    """``files`` / ``form``: werkzeug MultiDicts of the request."""
    nonce = (form.get("nonce") or "").strip()
    if not nonce:
        raise Rejected("MissingParameter", "缺少挑战 nonce")
    uploads = files.getlist("frames")
    if not uploads:
        raise Rejected("MissingParameter", "没有上传任何帧")
    if len(uploads) > MAX_FRAMES:
        raise Rejected("InvalidParameterValue", f"最多 {MAX_FRAMES} 帧")
    stamped: list[tuple[float, bytes]] = []
    seen: set[float] = set()
    for up in uploads:
        ts = _timestamp(up.filename)
        if ts in seen:
            raise Rejected("InvalidParameterValue", "帧时间戳重复")
        seen.add(ts)
        data = up.read(MAX_FRAME_BYTES + 1)
        if len(data) > MAX_FRAME_BYTES:
            raise Rejected("FailedOperation.ImageSizeTooLarge")
        stamped.append((ts, data))
    # OpenCV's decoder releases the GIL: the frames of a capture decode on both cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        images = list(pool.map(decode_frame, [data for _, data in stamped]))
    if len({img.shape for img in images}) != 1:
        raise Rejected("InvalidParameterValue", "所有帧的尺寸必须相同")
    frames = [Frame(image_rgb=img, timestamp_ms=ts) for (ts, _), img in zip(stamped, images)]
    frames.sort(key=lambda f: f.timestamp_ms)
    audio = None
    wav = files.get("audio")
    if wav is not None:
        audio = read_audio(wav.read(MAX_AUDIO_BYTES + 1))
    return FrameUpload(nonce=nonce, capture=Capture(frames, audio))


def read_audio(data: bytes) -> Audio:
    """A 16-bit PCM WAV upload, from memory."""
    if len(data) > MAX_AUDIO_BYTES:
        raise Rejected("RequestSizeLimitExceeded", "音频过大")
    try:
        return read_wav(data, max_ms=MAX_AUDIO_MS)
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.AUDIO) from None


# -- recorded videos ------------------------------------------------------------------------------
def _container(data: bytes, accepted: tuple[str, ...]) -> Video:
    container = video_container(data)
    if container not in accepted:
        raise Rejected("FailedOperation.LipVideoInvalid")
    return Video(data, container)


def video_base64(text: str, max_encoded: int) -> Video:
    """The Cloud API's VideoBase64 (the limit applies to the encoded text, as the cloud states it)."""
    if len(text) > max_encoded:
        raise Rejected("FailedOperation.LipSizeError")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise Rejected("FailedOperation.LipVideoInvalid") from None
    if not data:
        raise Rejected("FailedOperation.LipSizeError")
    return _container(data, API_CONTAINERS)


def video_upload(data: bytes, max_bytes: int) -> Video:
    """A session's recorded video: size, container and one decodable video frame, checked before the
    upload is queued (so that a bad file is refused now, not found out by the background job)."""
    if not data:
        raise Rejected("FailedOperation.LipSizeError")
    if len(data) > max_bytes:
        raise Rejected("FailedOperation.LipSizeError", f"视频不能超过 {max_bytes // (1024 * 1024)} MB")
    video = _container(data, SESSION_CONTAINERS)
    try:
        probe_video(data, VIDEO_LIMITS)
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.VIDEO) from None
    return video


def read_capture(video: bytes, mode: str) -> Capture:
    """A recorded video's frames and, for the digit mode, its sound, read from memory within
    VIDEO_LIMITS (enforced while decoding: size, duration, frame counts, the sound's length)."""
    try:
        frames = read_video(video, limits=VIDEO_LIMITS)
        audio = read_video_audio(video, max_ms=VIDEO_LIMITS.max_audio_ms) if mode == "lip" else None
        return Capture(frames, audio)
    except ENGINE_ERRORS as exc:
        raise rejected(exc, Stage.VIDEO) from None
