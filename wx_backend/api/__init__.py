"""The Tencent Cloud API 3.0 surface (POST /): signature, QPS, billing, and the registered actions.

Actions register themselves with ``@action`` (``registry.py`` states the handler contract); this package
registers its own (photo and liveness actions), other features import ``registry.action`` for theirs.
Its collaborators are ``Services`` fields: ``rate_limiter`` and ``challenges`` (Redis-backed when
``settings.redis_url``, database-backed otherwise; both hold across gunicorn workers), ``engine`` and
``liveness`` (this process's models, shared with the verification sessions).
"""
from __future__ import annotations

from flask import Flask

from ..services import Services


def init_app(app: Flask, svc: Services) -> None:
    from . import liveness_actions, photo_actions, ratelimit  # noqa: F401  (tables, actions)
    from .gateway import bp

    app.register_blueprint(bp)
    # POST / is the API; GET / stays the site's. Only when no feature serves a page there, a small one.
    if not any(rule.rule == "/" and "GET" in (rule.methods or ()) for rule in app.url_map.iter_rules()):
        app.add_url_rule("/", "api_index", _index, methods=["GET"])


def _index():
    return ("<!doctype html><meta charset=utf-8><title>人脸核身</title>"
            "<h1>人脸核身服务</h1><p>Tencent Cloud API 3.0 compatible endpoint: POST / "
            "(X-TC-Action, TC3-HMAC-SHA256). See docs/api.md.</p>"), 200
