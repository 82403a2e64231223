"""Merchant onboarding: applications, review, the industry whitelist, notifications, consoles."""
from __future__ import annotations

from flask import Flask

from ..services import Services


def init_app(app: Flask, svc: Services) -> None:
    from . import models  # noqa: F401  (registers the tables)
