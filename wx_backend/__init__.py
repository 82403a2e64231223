"""The web service: WeChat identity, merchants, verification flows, the Tencent-compatible API.

``create_app`` reads as a list: settings, extensions (database, sealer, clock, engine), features
(each registers its blueprint, collaborators and CLI commands), error handlers, commands.
"""
from __future__ import annotations

import importlib
import logging
from typing import Any

from flask import Flask

from . import db
from .clock import Clock, SystemClock
from .crypto import Sealer
from .engine_holder import EngineHolder
from .services import EXTENSION_KEY, Services
from .settings import Settings, load_settings

log = logging.getLogger(__name__)

# Feature packages, each with ``init_app(app, services)``; order matters only for URL precedence.
FEATURES = [
    "wx_backend.health",
    "wx_backend.merchants",
    "wx_backend.wechat",
    "wx_backend.registry",
    "wx_backend.billing",
    "wx_backend.api",
    "wx_backend.verification",
    "wx_backend.callbacks",
]


class WxFaceIdApp(Flask):
    def log_exception(self, exc_info) -> None:
        """Flask's own line names the request path, which can carry a BizToken: cut it short."""
        from flask import request

        from .access_log import redact_path
        self.logger.error("Exception on %s [%s]", redact_path(request.path), request.method,
                          exc_info=exc_info)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               overrides: dict[str, Any] | None = None) -> Flask:
    """Build an application. ``overrides`` replaces named collaborators (tests: fakes at process edges)."""
    settings = settings or load_settings()
    app = WxFaceIdApp(__name__)
    _configure(app, settings)
    svc = _register_extensions(app, settings, clock)
    _register_features(app, svc)
    svc.extras.update(overrides or {})
    from .errors import register_error_handlers
    register_error_handlers(app)
    from .commands import register_commands
    register_commands(app)
    return app


def _configure(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client address and scheme as the proxies in front recorded them (the last N hops of
        # X-Forwarded-For); without them configured the headers are ignored, as any client can send them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,
                                x_proto=settings.trusted_proxies)


def _register_extensions(app: Flask, settings: Settings, clock: Clock | None) -> Services:
    from .engine_factory import engine_loader   # the face engine's code, imported only for an app

    database = db.open_database(settings.database_url)
    db.bind(database)
    svc = Services(settings=settings, clock=clock or SystemClock(), sealer=Sealer(settings.data_key),
                   engine=EngineHolder(engine_loader(settings)))
    app.extensions[EXTENSION_KEY] = svc

    @app.before_request
    def _open_db():
        db.database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close_db(exc):
        if not db.database.is_closed():
            db.database.close()

    return svc


def _register_features(app: Flask, svc: Services) -> None:
    for name in FEATURES:
        module = importlib.import_module(name)
        module.init_app(app, svc)
