"""The retention purge: after ``result_retention_days`` a session keeps no personal data.

What goes: ID number, name, the merchant's reference photo, best frames, Extra, RedirectUrl, the
WeChat-user digest, attempts, challenges and any video job. What stays: a tombstone (merchant,
rule, times, state "purged") so a late GetDetectInfoEnhanced gets a clear "expired" answer.
"""
from __future__ import annotations

import datetime as dt
import logging

from .. import db
from ..clock import utc_naive
from .models import PURGED, Attempt, Challenge, VerificationSession, VideoJob

log = logging.getLogger(__name__)


def purge_expired(now: dt.datetime, batch: int = 500, erasers=()) -> dict:
    """``erasers``: other features' ``fn(session_ids)`` deleting their rows of those sessions (the
    result callbacks' log)."""
    now = utc_naive(now)
    sessions = 0
    while True:
        ids = [s.id for s in VerificationSession.select(VerificationSession.id).where(
            (VerificationSession.purge_after <= now) & (VerificationSession.state != PURGED)
        ).limit(batch)]
        if not ids:
            break
        with db.database.atomic():
            attempt_ids = Attempt.select(Attempt.id).where(Attempt.session.in_(ids))
            VideoJob.delete().where(VideoJob.attempt.in_(attempt_ids)).execute()
            Attempt.delete().where(Attempt.session.in_(ids)).execute()
            Challenge.delete().where(Challenge.session.in_(ids)).execute()
            for erase in erasers:
                erase(ids)
            VerificationSession.update(
                state=PURGED, id_card_sealed=None, name_sealed=None, ref_image_sealed=None,
                extra="", redirect_url="", user_digest=None,
            ).where(VerificationSession.id.in_(ids)).execute()
        sessions += len(ids)
    challenges = Challenge.delete().where(Challenge.expires_at <= now).execute()
    if sessions:
        log.info("purged %d verification sessions past retention", sessions)
    return {"sessions": sessions, "challenges": challenges}
