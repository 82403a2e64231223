"""Read a recorded capture: video (PyAV), a folder of ``<timestamp_ms>.jpg`` frames, and audio.

Videos and WAV files are read from a path, from bytes or from a binary stream: a service reads an
upload from memory and never writes it to disk in clear. Audio comes out as float32 mono at 16 kHz
in -1..1. PyAV and OpenCV errors become MediaError.
"""
from __future__ import annotations

import io
import logging
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import cv2
import numpy as np

from ..errors import MediaError
from .types import Frame

log = logging.getLogger(__name__)

AUDIO_RATE = 16000

# A file on disk, its whole content, or a readable and seekable binary stream.
Source = Union[Path, str, bytes, bytearray, memoryview, BinaryIO]


def _opened(source: Source):
    """What PyAV and ``wave`` open: a path string or a seekable stream."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(source)
    if isinstance(source, (str, Path)):
        return str(source)
    source.seek(0)
    return source


@dataclass(frozen=True)
class Audio:
    """Mono samples in -1..1 at ``rate`` Hz; sample 0 is at ``start_ms`` on the capture clock."""

    samples: np.ndarray
    rate: int = AUDIO_RATE
    start_ms: float = 0.0

    @property
    def duration_ms(self) -> float:
        return 1000.0 * len(self.samples) / self.rate


def read_frame_folder(folder: Path, max_frames: int = 600) -> list[Frame]:
    """JPEG frames named ``<timestamp_ms>.jpg``, in time order."""
    files = []
    for p in Path(folder).iterdir():
        if p.suffix.lower() in (".jpg", ".jpeg"):
            try:
                files.append((float(p.stem), p))
            except ValueError:
                raise MediaError(f"frame name {p.name!r} is not <timestamp_ms>.jpg", "CaptureBadName")
    files.sort()
    frames = []
    for ts, p in files[:max_frames]:
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is None:
            raise MediaError(f"cannot decode frame {p.name}", "CaptureDecodeFailed")
        frames.append(Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), ts))
    if not frames:
        raise MediaError("no JPEG frames in folder", "CaptureEmpty")
    return frames


@dataclass(frozen=True)
class VideoLimits:
    """Bounds an untrusted recording is read within, enforced while it is decoded (never after):

    ``max_source_pixels``  the video stream's size as declared, and each decoded frame's: larger is
                           refused before (or as soon as) the decoder would allocate it;
    ``max_kept_pixels``    each kept frame is scaled down (aspect kept) to at most this many pixels as it
                           streams, so that memory is bounded by ``max_frames`` x this, whatever came in;
    ``max_duration_ms``    frames after this much of the video are not decoded;
    ``max_decoded``        decoded frames at most (a stream of tiny frame intervals ends here too);
    ``max_audio_ms``       sound after this much is not decoded (a 5 s video may carry an hour of it).
    """

    max_fps: float = 15.0
    max_frames: int = 225
    max_source_pixels: int = 3840 * 2160
    max_kept_pixels: int = 640 * 480
    max_duration_ms: float = 15_000.0
    max_decoded: int = 900
    max_audio_ms: float = 16_000.0


def _kept_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """(width, height) scaled down, aspect kept, to at most ``max_pixels``; even sizes for the scaler."""
    if width * height <= max_pixels:
        return width, height
    scale = (max_pixels / (width * height)) ** 0.5
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def _check_size(width: int, height: int, limits: VideoLimits) -> None:
    if width <= 0 or height <= 0:
        raise MediaError("video stream without a frame size", "CaptureDecodeFailed")
    if width * height > limits.max_source_pixels:
        raise MediaError(f"{width}x{height} video exceeds {limits.max_source_pixels} pixels", "VideoTooLarge")


def read_video(source: Source, max_fps: float = 15.0, max_frames: int = 600,
               limits: VideoLimits | None = None) -> list[Frame]:
    """Frames of a video's first video stream, time from the stream's first frame, thinned to
    at most ``max_fps`` (the checks are designed for ~15 fps; more only costs time).

    With ``limits`` (untrusted uploads) its bounds apply instead of ``max_fps``/``max_frames``: the size
    is checked before decoding, kept frames are scaled down as they stream, and decoding stops at the
    duration, frame and decode caps. Without them (the offline tools, on one's own files) every frame
    is read at full size."""
    import av

    if limits is not None:
        max_fps, max_frames = limits.max_fps, limits.max_frames
    frames: list[Frame] = []
    try:
        with av.open(_opened(source)) as container:
            if not container.streams.video:
                raise MediaError("no video stream", "CaptureNoVideo")
            stream = container.streams.video[0]
            if limits is not None:
                _check_size(stream.codec_context.width, stream.codec_context.height, limits)
            t0, last, decoded = None, -1e9, 0
            for vf in container.decode(stream):
                decoded += 1
                if limits is not None:
                    _check_size(vf.width, vf.height, limits)
                    if decoded > limits.max_decoded:
                        break
                if vf.pts is None or vf.time_base is None:
                    continue
                t = float(vf.pts * vf.time_base) * 1000.0
                t0 = t if t0 is None else t0
                t -= t0
                if limits is not None and t > limits.max_duration_ms:
                    break
                if t - last < 1000.0 / max_fps - 1.0:
                    continue
                last = t
                if limits is None:
                    frames.append(Frame(vf.to_ndarray(format="rgb24"), t))
                else:
                    w, h = _kept_size(vf.width, vf.height, limits.max_kept_pixels)
                    # swscale's bilinear downscale: its default (bicubic) costs ~10x more per 1080p frame.
                    frames.append(Frame(vf.reformat(width=w, height=h, format="rgb24",
                                                    interpolation="BILINEAR").to_ndarray(), t))
                if len(frames) >= max_frames:
                    break
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot decode video: {exc}", "CaptureDecodeFailed") from exc
    if not frames:
        raise MediaError("video has no frames", "CaptureEmpty")
    return frames


def probe_video(source: Source, limits: VideoLimits | None = None) -> None:
    """Cheap check of an upload: a video stream (within ``limits``' size and declared duration) with at
    least one decodable frame; MediaError else."""
    import av

    try:
        with av.open(_opened(source)) as container:
            if not container.streams.video:
                raise MediaError("no video stream", "CaptureNoVideo")
            stream = container.streams.video[0]
            if limits is not None:
                _check_size(stream.codec_context.width, stream.codec_context.height, limits)
                if stream.duration is not None and stream.time_base is not None and \
                        float(stream.duration * stream.time_base) * 1000.0 > limits.max_duration_ms + 1000.0:
                    raise MediaError("video is longer than the checks take", "VideoTooLong")
            for _frame in container.decode(stream):
                return
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise MediaError(f"cannot decode video: {type(exc).__name__}", "CaptureDecodeFailed") from exc
    raise MediaError("video has no decodable frame", "CaptureEmpty")


def _resample(x: np.ndarray, rate: int) -> np.ndarray:
    if rate == AUDIO_RATE:
        return x.astype(np.float32)
    from scipy.signal import resample_poly
    from math import gcd

    k = gcd(rate, AUDIO_RATE)
    return resample_poly(x, AUDIO_RATE // k, rate // k).astype(np.float32)


# Sample rates a microphone records at; anything else is refused before resampling (a WAV that says
# 1 Hz would be upsampled 16000-fold: a memory bomb in a 2 MB upload).
WAV_RATES = (8000, 192000)
WAV_MAX_CHANNELS = 8


def read_wav(source: Source, max_ms: float | None = None) -> Audio:
    """16-bit PCM WAV (8-192 kHz, 1-8 channels) as 16 kHz mono; ``max_ms``: sound past this much is
    not read. A header that contradicts itself or its data is a MediaError, never another exception."""
    try:
        with wave.open(_opened(source), "rb") as w:
            ch, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            if width != 2:
                raise MediaError("only 16-bit PCM WAV is supported", "AudioDecodeFailed")
            if not 1 <= ch <= WAV_MAX_CHANNELS or not WAV_RATES[0] <= rate <= WAV_RATES[1]:
                raise MediaError(f"WAV with {ch} channels at {rate} Hz is not a recording we take",
                                 "AudioDecodeFailed")
            if max_ms is not None:
                n = min(n, int(rate * max_ms / 1000.0))
            raw = w.readframes(n)
    except MediaError:
        raise
    # The wave module reports a malformed file in several ways (RuntimeError from its chunk reader,
    # struct.error, ValueError, EOFError): each is bad input here.
    except (wave.Error, EOFError, RuntimeError, ValueError, struct.error, OSError) as exc:
        raise MediaError(f"cannot read WAV: {type(exc).__name__}", "AudioDecodeFailed") from exc
    frame_bytes = 2 * ch
    raw = raw[:len(raw) // frame_bytes * frame_bytes]     # a last, partial frame is dropped
    if not raw:
        raise MediaError("WAV without samples", "AudioDecodeFailed")
    x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    x = x.reshape(-1, ch).mean(axis=1)
    return Audio(_resample(x, rate))


def read_video_audio(source: Source, max_ms: float | None = None) -> Audio | None:
    """The audio track of a video as 16 kHz mono, time-aligned to the first video frame;
    None when the file has no audio stream. ``max_ms``: sound past this much of the track is not
    decoded (untrusted uploads)."""
    import av

    chunks, start = [], None
    try:
        with av.open(_opened(source)) as container:
            if not container.streams.audio:
                return None
            v0 = None
            if container.streams.video:
                vs = container.streams.video[0]
                if vs.start_time is not None:
                    v0 = float(vs.start_time * vs.time_base) * 1000.0
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
            kept = 0
            for af in container.decode(stream):
                if start is None and af.pts is not None:
                    start = float(af.pts * af.time_base) * 1000.0
                if max_ms is not None and (kept >= max_ms * AUDIO_RATE / 1000.0 or (
                        af.pts is not None and af.time_base is not None and start is not None
                        and float(af.pts * af.time_base) * 1000.0 - start > max_ms)):
                    break
                for out in resampler.resample(af):
                    chunk = out.to_ndarray().reshape(-1)
                    kept += len(chunk)
                    chunks.append(chunk)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot decode audio: {exc}", "AudioDecodeFailed") from exc
    if not chunks:
        return None
    offset = (start or 0.0) - (v0 or 0.0)
    samples = np.concatenate(chunks).astype(np.float32)
    if max_ms is not None:
        samples = samples[:int(max_ms * AUDIO_RATE / 1000.0)]
    return Audio(samples, AUDIO_RATE, offset)
