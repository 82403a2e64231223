"""Merchant onboarding: applications, review, the industry whitelist, notifications, consoles.

The whitelist (industry_whitelist.yaml, validated at start-up: a broken file stops it with the line)
and the SMS gateway are ``Services`` fields; ``init_app`` registers the consoles and the CLI groups.
Other features use ``review.approve`` and ``seed.create_approved_merchant``.
"""
from __future__ import annotations

import logging

from flask import Flask

from ..services import Services

log = logging.getLogger(__name__)


def init_app(app: Flask, svc: Services) -> None:
    from . import models  # noqa: F401  (registers the tables)

    _warn_about_the_calendar(svc)
    from .cli import register_cli
    from .console_merchant import bp as merchant_bp
    from . import (console_callbacks, console_rules, console_sessions,  # noqa: F401  (their views join
                   console_usage)                                      # the merchant console)
    from .console_review import bp as review_bp
    app.register_blueprint(merchant_bp)
    app.register_blueprint(review_bp)
    register_cli(app)


def _warn_about_the_calendar(svc: Services) -> None:
    """Review deadlines of a year chinesecalendar does not cover count 春节 and 国庆 as working days
    unless the operator listed them: say so at start-up, once per uncovered year."""
    from .workdays import WorkCalendar, local_date

    for message in WorkCalendar.from_settings(svc.settings).coverage_warnings(local_date(svc.clock.now())):
        log.warning(message)
