"""The request side of the consoles' sign-in (both consoles): the form, the cookie, the headers.

The rules (throttle, equal work, server-side sessions) are in ``signin``; this module reads the
request and the signed cookie and hands them over. ``protect_console`` adds the response headers every
console page carries: a content security policy that allows only this site's scripts, styles, images
and form targets and no framing (CSP frame-ancestors, and X-Frame-Options for older browsers),
no MIME sniffing, no referrer to other sites, no caching of pages that show account data; HSTS is
added app-wide in production (see wx_backend/__init__.py).
"""
from __future__ import annotations

from flask import Blueprint, request, session

from ..services import services
from . import signin

CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def client_address() -> str:
    """The address the request came from (the proxy's, unless the deployment configures ProxyFix)."""
    return request.remote_addr or ""


def current_user_id(kind: str) -> int | None:
    svc = services()
    return signin.session_user_id(kind, session.get(signin.SESSION_KEY), sealer=svc.sealer, clock=svc.clock)


def try_sign_in(kind: str, lookup) -> signin.SignIn:
    """The posted user name and password against ``lookup``; on success the session is replaced by a
    new server-side one (no fixation: a fresh session and CSRF token per sign-in)."""
    svc = services()
    result = signin.attempt(kind, request.form.get("username", ""), request.form.get("password", ""),
                            client=client_address(), lookup=lookup, limiter=svc.rate_limiter,
                            sealer=svc.sealer, clock=svc.clock)
    if result.user is not None:
        sign_in(kind, result.user.id)
    return result


def sign_in(kind: str, user_id: int) -> None:
    svc = services()
    signin.close_session(session.get(signin.SESSION_KEY), sealer=svc.sealer)
    session.clear()
    session[signin.SESSION_KEY] = signin.open_session(kind, user_id, sealer=svc.sealer, clock=svc.clock)


def sign_out() -> None:
    signin.close_session(session.get(signin.SESSION_KEY), sealer=services().sealer)
    session.clear()


def protect_console(bp: Blueprint) -> None:
    @bp.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CONSOLE_CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        return response
