"""The one verification pipeline both front doors run (see docs/architecture.md):

    intake      bounded readers over the request's bytes (photos, frames, videos, WAV)
    challenge   one store of one-time challenges, keyed by owner and kind
    verify      verify_capture() -> Verdict: liveness, best frame, reference, similarity
    charge      charge(key, result): at most once per key

``engine_errors`` is the one map from faceengine's exceptions and codes to result codes. A step that
decides the outcome early raises ``wx_backend.errors.Rejected``; nothing here touches Flask.
"""
