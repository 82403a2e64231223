"""The authority ID registry (stands in for the national ID-photo database) and photo verification.

``Services.registry`` is the AuthorityRegistry the services use (LocalRegistry by default; a deployment
with access to a real authority source replaces it). CLI: ``flask --app app authority add``
and ``flask --app app authority import FILE.csv``.
"""
from __future__ import annotations

from flask import Flask

from ..services import Services

def init_app(app: Flask, svc: Services) -> None:
    from . import models  # noqa: F401  (registers the tables)
    from .cli import authority_cli

    app.cli.add_command(authority_cli)
