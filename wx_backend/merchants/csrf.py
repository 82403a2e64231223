"""CSRF protection for the console forms: one random token per session, required on every POST."""
from __future__ import annotations

import hmac

from flask import Blueprint, abort, request, session

from ..crypto import new_token

SESSION_KEY = "csrf"


def token() -> str:
    if SESSION_KEY not in session:
        session[SESSION_KEY] = new_token()
    return session[SESSION_KEY]


def protect(bp: Blueprint) -> None:
    @bp.before_request
    def _check():
        if request.method == "POST":
            sent = request.form.get("csrf_token", "")
            expected = session.get(SESSION_KEY, "")
            if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
                abort(400, description="表单已失效，请刷新页面后重试（CSRF）")

    @bp.app_context_processor
    def _inject():
        return {"csrf_token": token}
