"""Who is calling: the WeChat identity behind the current request, for any view that needs it.

- Mini-program: header ``Authorization: Bearer <session_token>`` (the token from POST /api/mp/login).
  ``current_mp_session()`` returns an ``MpSessionInfo`` (appid, openid, unionid, expires_at) or None;
  ``require_mp_session()`` raises FailedOperation.SessionRequired instead of returning None;
  ``@mp_session_required`` does the same for a whole view and leaves the session in ``g.mp_session``.
- H5 (official-account visitors): the ``wxf_h5`` cookie set by /h5/oauth/callback.
  ``current_h5_identity()`` returns an ``H5Identity`` or None; ``current_h5_openid()`` just the openid.
"""
from __future__ import annotations

import functools

from flask import g, request

from ..errors import Refused
from ..services import services
from . import h5, mp

H5_COOKIE = "wxf_h5"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_mp_session() -> mp.MpSessionInfo | None:
    if "mp_session" not in g:
        svc = services()
        g.mp_session = mp.resolve(svc.sealer, svc.clock, bearer_token())
    return g.mp_session


def require_mp_session() -> mp.MpSessionInfo:
    found = current_mp_session()
    if found is None:
        raise Refused("FailedOperation.SessionRequired")
    return found


def mp_session_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        require_mp_session()
        return view(*args, **kwargs)
    return wrapper


def current_h5_identity() -> h5.H5Identity | None:
    if "h5_identity" not in g:
        svc = services()
        g.h5_identity = h5.resolve(svc.sealer, svc.clock, request.cookies.get(H5_COOKIE))
    return g.h5_identity


def current_h5_openid() -> str | None:
    found = current_h5_identity()
    return found.openid if found else None
