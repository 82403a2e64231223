"""The face engine of this worker process: loaded once, after gunicorn forks, never per request."""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)


class EngineHolder:
    """Loads the engine on first use (or on ``warm()`` from gunicorn's post_fork) and keeps it.

    ``factory`` builds the engine; it runs at most once per process unless loading failed.
    """

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory
        self._engine: Any = None
        self._error: str = ""
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    try:
                        self._engine = self._factory()
                        self._error = ""
                    except Exception as exc:  # any loader failure is reported, then re-raised
                        self._error = f"{type(exc).__name__}: {exc}"
                        log.error("face engine failed to load: %s", self._error)
                        raise
        return self._engine

    def warm(self) -> None:
        try:
            self.get()
        except Exception:  # already logged; /healthz reports it and requests get LivessSystemError
            pass

    @property
    def state(self) -> str:
        if self._engine is not None:
            return "ready"
        return f"error: {self._error}" if self._error else "not loaded"
