"""The collaborators of this application instance, built once in the factory.

Views fetch them with ``services()`` and hand them to domain services as arguments; domain code never
touches ``current_app``, ``request`` or ``g``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from .clock import Clock
from .crypto import Sealer
from .engine_holder import EngineHolder
from .settings import Settings

EXTENSION_KEY = "wxfaceid"


@dataclass
class Services:
    settings: Settings
    clock: Clock
    sealer: Sealer
    engine: EngineHolder
    # Feature collaborators registered by their blueprints' init functions (wechat adapter, sms
    # gateway, rate limiter, job queue, whitelist, ...), keyed by name.
    extras: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        extras = self.__dict__.get("extras", {})
        if name in extras:
            return extras[name]
        raise AttributeError(name)


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]
