"""WeChat identities held by the service: mini-program sessions, H5 browser sessions, OAuth states.

Bearer secrets (session tokens, browser session ids, OAuth states) are stored only as keyed digests
(``Sealer.digest``), so a database leak does not hand out live sessions. The mini-program session_key
is sealed (``Sealer.seal``). Times are naive UTC.
"""
from __future__ import annotations

import peewee

from ..db import BaseModel


class MpSession(BaseModel):
    token_digest = peewee.CharField(max_length=64, unique=True)
    appid = peewee.CharField(max_length=64)
    openid = peewee.CharField(max_length=64, index=True)
    unionid = peewee.CharField(max_length=64, default="")
    session_key = peewee.BlobField()                      # sealed; only the decrypt path opens it
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField(index=True)


class H5Session(BaseModel):
    """A browser's server-side session; ``openid`` is set once official-account OAuth completes."""
    sid_digest = peewee.CharField(max_length=64, unique=True)
    appid = peewee.CharField(max_length=64, default="")
    openid = peewee.CharField(max_length=64, null=True, index=True)
    unionid = peewee.CharField(max_length=64, default="")
    scope = peewee.CharField(max_length=32, default="")
    profile = peewee.BlobField(null=True)                 # sealed JSON (snsapi_userinfo only)
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField(index=True)


class OAuthState(BaseModel):
    """A single-use ``state`` issued to one browser session for one trip to the authorize page."""
    state_digest = peewee.CharField(max_length=64, unique=True)
    sid_digest = peewee.CharField(max_length=64, index=True)
    next_path = peewee.TextField()
    scope = peewee.CharField(max_length=32)
    created_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField()
    used_at = peewee.DateTimeField(null=True)
