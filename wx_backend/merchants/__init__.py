"""Merchant onboarding: applications, review, the industry whitelist, notifications, consoles.

``init_app`` loads and validates industry_whitelist.yaml (a broken file stops start-up with the line),
registers the whitelist and the SMS gateway as collaborators, the two consoles and the CLI groups.
Other features use ``review.approve`` and ``seed.create_approved_merchant``.
"""
from __future__ import annotations

from flask import Flask

from ..services import Services


def init_app(app: Flask, svc: Services) -> None:
    from . import models  # noqa: F401  (registers the tables)
    from .sms import OutboxSmsGateway
    from .whitelist import load

    svc.extras["whitelist"] = load(svc.settings.industry_whitelist_path)
    svc.extras["sms"] = OutboxSmsGateway(svc.clock)
    from .cli import register_cli
    from .console_merchant import bp as merchant_bp
    from .console_review import bp as review_bp
    app.register_blueprint(merchant_bp)
    app.register_blueprint(review_bp)
    register_cli(app)
