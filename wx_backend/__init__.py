"""The web service: WeChat identity, merchants, verification flows, the Tencent-compatible API.

``create_app`` reads as a list: settings, services (every collaborator, built once: see services.py),
the database, features (each registers its blueprints, tables, tasks and CLI commands), error
handlers, commands.
"""
from __future__ import annotations

import importlib
import io
import logging
from typing import Any

from flask import Flask, Request

from . import db
from .clock import Clock
from .services import EXTENSION_KEY, Services, build_services
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


class InMemoryUploadsRequest(Request):
    """Uploaded files stay in memory: Werkzeug would spill any part over 500 KB (a recorded video, a
    large frame) to a temporary file in clear. Memory is bounded by MAX_CONTENT_LENGTH (the whole
    request), which Werkzeug enforces while it reads the body."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


class WxFaceIdApp(Flask):
    request_class = InMemoryUploadsRequest

    def log_exception(self, exc_info) -> None:
        """Flask's own line names the request path, which can carry a BizToken: cut it short."""
        from flask import request

        from .access_log import redact_path
        self.logger.error("Exception on %s [%s]", redact_path(request.path), request.method,
                          exc_info=exc_info)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               overrides: dict[str, Any] | None = None) -> Flask:
    """Build an application. ``overrides`` replaces named collaborators of ``Services`` (tests: fakes
    at process edges, the session's already loaded engine)."""
    settings = settings or load_settings()
    app = WxFaceIdApp(__name__)
    _configure(app, settings)
    svc = build_services(app, settings, clock, overrides)
    app.extensions[EXTENSION_KEY] = svc
    _register_database(app, settings)
    _register_features(app, svc)
    from . import housekeeping
    housekeeping.register(svc)
    housekeeping.register_cli(app, svc)
    _register_transport_security(app, settings)
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


def _register_transport_security(app: Flask, settings: Settings) -> None:
    """Production is served over HTTPS only: browsers are told never to use plain HTTP for this host."""
    if settings.is_production:
        @app.after_request
        def _hsts(response):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
            return response


def _register_database(app: Flask, settings: Settings) -> None:
    db.bind(db.open_database(settings.database_url))

    @app.before_request
    def _open_db():
        db.database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close_db(exc):
        if not db.database.is_closed():
            db.database.close()


def _register_features(app: Flask, svc: Services) -> None:
    for name in FEATURES:
        module = importlib.import_module(name)
        module.init_app(app, svc)
