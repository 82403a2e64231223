"""Pure computer-vision core: decode, detect, landmarks, quality, embed, compare, liveness.

Images are RGB uint8 (H, W, 3) unless a name says otherwise; coordinates are pixels (x, y);
time is ``timestamp_ms`` supplied by the caller. This package never imports flask, peewee,
wechatpy or wx_backend, and loads no model at import time.
"""
