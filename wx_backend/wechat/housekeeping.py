"""Removing expired WeChat sessions and OAuth states (they are useless after expiry, and keeping
openids around longer than needed is not)."""
from __future__ import annotations

import datetime as dt

from ..clock import Clock, utc_naive
from .models import H5Session, MpSession, OAuthState

# Spent or expired states are kept a little while so that a replay is reported as a replay.
STATE_GRACE = dt.timedelta(hours=1)


def purge_expired(clock: Clock) -> dict[str, int]:
    """Delete what has expired; returns the number of rows removed per kind."""
    now = utc_naive(clock.now())
    return {
        "mp_sessions": MpSession.delete().where(MpSession.expires_at <= now).execute(),
        "h5_sessions": H5Session.delete().where(H5Session.expires_at <= now).execute(),
        "oauth_states": OAuthState.delete().where(OAuthState.expires_at <= now - STATE_GRACE).execute(),
    }
