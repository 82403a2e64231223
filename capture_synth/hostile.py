"""Captures an attacker would send (issue 14), for the tests and ``bench/abuse.py``: small files that cost
a careless decoder a lot.

- ``static_webm``: a still picture as VP8 at any size, rate and length, with as much (silent) Opus as
  asked: 600 frames of 1920x1080 fit in ~52 KB, and an hour of sound in ~2 MB;
- ``bomb_header_jpeg``: a real 16x16 JPEG whose frame header claims another size (65000x65000);
- ``half_with_end_marker``: the first half of a JPEG with an end-of-image marker appended.
"""
from __future__ import annotations

import io

import cv2
import numpy as np


def static_webm(size: tuple[int, int], fps: int, seconds: float, *, audio_s: int = 0,
                image_rgb: np.ndarray | None = None, bit_rate: int = 20_000) -> bytes:
    """``image_rgb`` (default mid grey) at ``size`` (width, height) for ``seconds`` at ``fps`` (VP8, real-time
    encoder settings), with ``audio_s`` seconds of silent 8 kHz mono Opus."""
    import av

    w, h = size
    picture = cv2.resize(image_rgb, (w, h)) if image_rgb is not None else np.full((h, w, 3), 120, np.uint8)
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as c:
        v = c.add_stream("libvpx", rate=fps)
        v.width, v.height, v.pix_fmt, v.bit_rate = w, h, "yuv420p", bit_rate
        v.options = {"deadline": "realtime", "cpu-used": "16", "auto-alt-ref": "0", "lag-in-frames": "0"}
        a = None
        if audio_s:
            a = c.add_stream("libopus", rate=8000)
            a.layout, a.bit_rate = "mono", 6000
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        for i in range(int(fps * seconds)):
            frame.pts = i
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
        if a is not None:
            silence = np.zeros((1, 8000), np.int16)
            for sec in range(audio_s):
                af = av.AudioFrame.from_ndarray(silence, format="s16", layout="mono")
                af.sample_rate, af.pts = 8000, sec * 8000
                for p in a.encode(af):
                    c.mux(p)
            for p in a.encode():
                c.mux(p)
    return buf.getvalue()


def bomb_header_jpeg(width: int = 65000, height: int = 65000) -> bytes:
    """A small real JPEG whose SOF0 header claims ``width`` x ``height``."""
    ok, buf = cv2.imencode(".jpg", np.full((16, 16, 3), 90, np.uint8))
    data = bytearray(buf.tobytes())
    i = data.index(b"\xff\xc0")
    data[i + 5:i + 7], data[i + 7:i + 9] = height.to_bytes(2, "big"), width.to_bytes(2, "big")
    return bytes(data)


def half_with_end_marker(data: bytes) -> bytes:
    return data[:len(data) // 2] + b"\xff\xd9"
