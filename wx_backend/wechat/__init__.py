"""WeChat identity: mini-program sessions, official-account OAuth for H5 visitors, the server URL.

For other features (import from here):

- ``current_mp_session()`` -> ``MpSessionInfo(appid, openid, unionid, expires_at)`` or None, from the
  request's ``Authorization: Bearer <session_token>``; ``require_mp_session()`` raises
  FailedOperation.SessionRequired instead; ``@mp_session_required`` guards a whole view.
- ``current_h5_identity()`` -> ``H5Identity(appid, openid, unionid, scope, expires_at, profile)`` or None,
  from the ``wxf_h5`` cookie; ``current_h5_openid()`` -> the openid or None. Send a visitor to
  ``/h5/oauth/start?next=<local path>&scope=base|userinfo`` to sign them in.
- ``services().wechat`` is the ``WeChatAdapter`` (message sends etc.); tests replace it via
  ``create_app(..., overrides={"wechat": ...})``.
"""
from __future__ import annotations

from flask import Flask

from ..services import Services
from .adapter import MpLogin, OAuthGrant, WeChatAdapter, WeChatError
from .h5 import H5Identity
from .identity import (current_h5_identity, current_h5_openid, current_mp_session,
                       mp_session_required, require_mp_session)
from .mp import MpSessionInfo

__all__ = ["init_app", "WeChatAdapter", "WeChatError", "MpLogin", "OAuthGrant", "MpSessionInfo",
           "H5Identity", "current_mp_session", "require_mp_session", "mp_session_required",
           "current_h5_identity", "current_h5_openid"]


def init_app(app: Flask, svc: Services) -> None:
    from . import callback, h5_views, models, mp_views  # noqa: F401  (models registers the tables)
    app.register_blueprint(mp_views.bp)
    app.register_blueprint(h5_views.bp)
    app.register_blueprint(callback.bp)
    _register_commands(app, svc)


def _register_commands(app: Flask, svc: Services) -> None:
    import json

    import click
    from flask.cli import AppGroup

    from .. import db
    from .housekeeping import purge_expired

    group = AppGroup("wechat", help="WeChat sessions and OAuth states.")

    @group.command("purge")
    def purge():
        """Delete expired mini-program sessions, H5 sessions and OAuth states."""
        with db.database.connection_context():
            click.echo(json.dumps({"status": "ok", "deleted": purge_expired(svc.clock)}))

    app.cli.add_command(group)
