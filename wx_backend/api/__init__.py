"""The Tencent Cloud API 3.0 surface (POST /): signature, QPS, billing, and the registered actions.

Actions register themselves with ``@action`` (``registry.py`` states the handler contract); this package
registers its own (photo and liveness actions), other features import ``registry.action`` for theirs.
Collaborators put in ``svc.extras``: ``rate_limiter`` and ``challenge_store`` (Redis-backed when
``settings.redis_url``, database-backed otherwise; both hold across gunicorn workers) and
``liveness_kit`` (this process's liveness models, shared with verification sessions; see
wx_backend/liveness.py).
"""
from __future__ import annotations

from flask import Flask

from ..services import Services


def init_app(app: Flask, svc: Services) -> None:
    from . import challenges, liveness_actions, photo_actions, ratelimit  # noqa: F401  (tables, actions)
    from ..liveness import kit_holder
    from .gateway import bp

    svc.extras.setdefault(ratelimit.RATE_LIMITER, ratelimit.build_rate_limiter(svc.settings.redis_url))
    svc.extras.setdefault(challenges.CHALLENGES,
                          challenges.build_challenge_store(svc.settings.redis_url, svc.sealer))
    kit_holder(svc)   # loads on the first video, or in gunicorn's post_worker_init
    app.register_blueprint(bp)
    # POST / is the API; GET / stays the site's. Only when no feature serves a page there, a small one.
    if not any(rule.rule == "/" and "GET" in (rule.methods or ()) for rule in app.url_map.iter_rules()):
        app.add_url_rule("/", "api_index", _index, methods=["GET"])


def _index():
    return ("<!doctype html><meta charset=utf-8><title>人脸核身</title>"
            "<h1>人脸核身服务</h1><p>Tencent Cloud API 3.0 compatible endpoint: POST / "
            "(X-TC-Action, TC3-HMAC-SHA256). See docs/api.md.</p>"), 200
