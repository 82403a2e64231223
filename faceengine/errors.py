"""Exceptions of the face engine: "could not evaluate", never "not live" or "no match".

    FaceEngineError
    ├── EngineUnavailable      a model or native library is missing or failed to load
    └── MediaError             the input could not be used as media; ``code`` names why
        (subclasses are added by the intake module, one per reason)

Verdicts (no face, poor quality, not live, low similarity) are results, not exceptions.
"""
from __future__ import annotations


class FaceEngineError(Exception):
    """Base of every error the engine raises."""

    code = "FaceEngineError"


class EngineUnavailable(FaceEngineError):
    code = "EngineUnavailable"


class MediaError(FaceEngineError):
    """Input media could not be used. ``code`` is a stable identifier of the reason."""

    code = "MediaError"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
