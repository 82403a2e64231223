"""The retention purge, and the merchant's deletion of one BizToken: then a session keeps no personal data.

What goes: ID number, name, the merchant's reference photo, best frames, Extra, RedirectUrl, the
WeChat-user digest, attempts (with their similarity and best frames), any video job, and the rows
other features registered an eraser for (the result callbacks' log); expired challenges go from the
challenge store (a session's challenges expire within minutes, long before its retention ends); a
deletion also blanks
the masked ID number of the session's usage records. What stays: a tombstone (merchant, rule, times,
state "purged", and when and how it was deleted) so a late GetDetectInfoEnhanced gets a clear answer.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from .. import db
from ..billing.models import UsageRecord
from ..clock import utc_naive
from ..errors import NotFound
from .models import PURGED, Attempt, VerificationSession, VideoJob

log = logging.getLogger(__name__)


def purge_expired(now: dt.datetime, challenges, erasers=(), batch: int = 500) -> dict:
    """``challenges``: the application's ChallengeStore; ``erasers``: other features'
    ``fn(session_ids)`` deleting their rows of those sessions (the result callbacks' log)."""
    now = utc_naive(now)
    sessions = 0
    while True:
        ids = [s.id for s in VerificationSession.select(VerificationSession.id).where(
            (VerificationSession.purge_after <= now) & (VerificationSession.state != PURGED)
        ).limit(batch)]
        if not ids:
            break
        with db.database.atomic():
            _erase(ids, erasers)
        sessions += len(ids)
    purged_challenges = challenges.purge(now)
    if sessions:
        log.info("purged %d verification sessions past retention", sessions)
    return {"sessions": sessions, "challenges": purged_challenges}


def _erase(ids: list[int], erasers, **tombstone) -> None:
    """Inside a transaction: the sessions keep only their tombstone."""
    attempt_ids = Attempt.select(Attempt.id).where(Attempt.session.in_(ids))
    VideoJob.delete().where(VideoJob.attempt.in_(attempt_ids)).execute()
    Attempt.delete().where(Attempt.session.in_(ids)).execute()
    for erase in erasers:
        erase(ids)
    VerificationSession.update(
        state=PURGED, id_card_sealed=None, name_sealed=None, ref_image_sealed=None,
        extra="", redirect_url="", user_digest=None, user_kind="", **tombstone,
    ).where(VerificationSession.id.in_(ids)).execute()


@dataclass(frozen=True)
class Deletion:
    biz_token: str
    deleted: bool            # False: it had been purged or deleted already


def delete_session(merchant_id: int, biz_token: str, now: dt.datetime, *, via: str, erasers=()) -> Deletion:
    """The merchant deletes one BizToken's data now (PIPL: the user asked): what the purge removes,
    plus the masked ID number on its usage records; the tombstone answers GetDetectInfoEnhanced as a
    purged session does. Another merchant's or an unknown token is BizTokenIllegal."""
    if not isinstance(biz_token, str) or not biz_token or len(biz_token) > 64:
        raise NotFound("BizTokenIllegal")
    now = utc_naive(now)
    with db.database.atomic():
        session = VerificationSession.get_or_none((VerificationSession.biz_token == biz_token)
                                                  & (VerificationSession.merchant == merchant_id))
        if session is None:
            raise NotFound("BizTokenIllegal")
        if session.state == PURGED:
            return Deletion(biz_token, False)
        if session.request_id:
            UsageRecord.update(masked_id="").where(
                (UsageRecord.merchant == merchant_id)
                & ((UsageRecord.request_id == session.request_id)
                   | UsageRecord.request_id.startswith(session.request_id + ":"))).execute()
        _erase([session.id], erasers, deleted_at=now, deleted_via=via)
    log.info("session %s deleted by its merchant (%s)", session.id, via)
    return Deletion(biz_token, True)
