"""Attempts: the live-frames attempt (verdict now), the recorded-video attempt (verdict later) and
the one place a verdict is written, charged and settles the session.

Bad input never reaches this module's state changes: callers parse and check media first, and an
attempt whose outcome is not a verdict (bad media found late, an engine that could not run: the result
code's kind) is voided: it does not count and nothing is charged.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Callable

from .. import db
from ..callbacks import deliveries as callback_events
from ..clock import Clock, utc_naive
from ..crypto import Sealer
from ..errors import Refused, Rejected
from ..pipeline import charge
from ..pipeline.verify import Verdict
from ..registry.idcard import mask_id_number
from ..result_codes import Kind, lookup
from . import sessions
from .models import DONE, PENDING, VOID, Attempt, VerificationSession

log = logging.getLogger(__name__)

PRODUCT = "live_verification"
# Failed attempts one WeChat user may make across sessions in a window (DESIGN §10).
FAILURE_LIMIT, FAILURE_WINDOW_S = 5, 180
# Frames of a capture kept for the merchant: BestFrame and up to two more (BestFrames).
MAX_BEST_FRAMES = 3


@dataclass(frozen=True)
class AttemptOutcome:
    seq: int
    code: str
    finished: bool            # the session accepts no more attempts
    attempts_left: int


def seal_frames(sealer: Sealer, frames: tuple[bytes, ...]) -> bytes | None:
    """JPEGs sealed as one value (a JSON list of base64), or None when there are none."""
    if not frames:
        return None
    return sealer.seal(json.dumps([base64.b64encode(f).decode("ascii") for f in frames]).encode("ascii"))


def open_frames(sealer: Sealer, sealed: bytes | None) -> list[bytes]:
    if sealed is None:
        return []
    return [base64.b64decode(f) for f in json.loads(sealer.open(sealed))]


def check_failure_rate(user_digest: str, clock: Clock) -> None:
    since = utc_naive(clock.now()) - dt.timedelta(seconds=FAILURE_WINDOW_S)
    failures = (Attempt.select()
                .where((Attempt.user_digest == user_digest) & (Attempt.state == DONE)
                       & (Attempt.code != "Success") & (Attempt.created_at >= since))
                .count())
    if failures >= FAILURE_LIMIT:
        raise Refused("TooManyAttempts")


def check_quota(session: VerificationSession, clock: Clock) -> None:
    if not charge.has_quota(session.merchant_id, PRODUCT, clock.now()):
        raise Refused("UnauthorizedOperation.Arrears")


def start_attempt(session: VerificationSession, kind: str, user_digest: str, clock: Clock) -> Attempt:
    seq = sessions.reserve_attempt(session)
    return Attempt.create(session=session, seq=seq, kind=kind, state=PENDING, user_digest=user_digest,
                          created_at=utc_naive(clock.now()))


def void_attempt(attempt: Attempt, code: str, clock: Clock) -> None:
    """The attempt could not be evaluated: it does not count and is not charged."""
    with db.database.atomic():
        voided = Attempt.update(state=VOID, code=lookup(code).tencent,
                                finished_at=utc_naive(clock.now())).where(
            (Attempt.id == attempt.id) & (Attempt.state == PENDING)).execute()
        if voided:
            sessions.release_attempt(attempt.session)


def record_verdict(attempt: Attempt, verdict: Verdict, *, sealer: Sealer, clock: Clock) -> bool:
    """Write the verdict once, settle the session, and charge the session once (key BizToken).

    A session is charged at its first billable verdict only: a failed comparison followed by a pass is
    one charge, not two (``is_need_charge`` says which verdict paid).

    Returns False when nothing was written: another run already wrote this attempt's verdict (a re-run
    of a job whose worker was presumed lost but finished after all), or another attempt's verdict ended
    the session first (two captures uploaded at once): this attempt is then voided with
    BizTokenFinished, not counted and not charged, so a BizToken yields at most one Success.
    """
    now = utc_naive(clock.now())
    session = VerificationSession.get_by_id(attempt.session_id)
    result = verdict.result
    masked = mask_id_number(sealer.open_text(session.id_card_sealed)) if session.id_card_sealed else ""
    # The best frames are kept only when they went on to the comparison (the merchant's photo of the
    # user): BestFrame, and up to MAX_BEST_FRAMES - 1 more (BestFrames).
    kept = verdict.best_frames_jpeg[:MAX_BEST_FRAMES] if verdict.compare is not None else ()
    best = kept[0] if kept else None
    # Verdict, session state and charge commit together: a crash leaves either none of them (the
    # job is re-run) or all of them; the charge key (BizToken) is unique besides.
    with db.write_atomic():
        # First the session's row, locked until commit: verdicts of one session are recorded one at a
        # time (SQLite: BEGIN IMMEDIATE; PostgreSQL: the row lock, the WHERE re-checked after the wait).
        if not sessions.hold_open(session):
            voided = Attempt.update(state=VOID, code=lookup("BizTokenFinished").tencent, finished_at=now).where(
                (Attempt.id == attempt.id) & (Attempt.state == PENDING)).execute()
            if voided:
                sessions.release_attempt(session)
                log.info("attempt verdict session=%s seq=%s came after the session ended: void", session.id,
                         attempt.seq)
            return False
        written = Attempt.update(
            state=DONE, code=result.tencent, live_code=(verdict.live or result).tencent,
            compare_code=verdict.compare.tencent if verdict.compare is not None else "",
            sim=verdict.sim, liveness_score=verdict.liveness_score,
            best_frame_sealed=sealer.seal(best) if best else None,
            more_frames_sealed=seal_frames(sealer, kept[1:]),
            is_need_charge=False, finished_at=now,
        ).where((Attempt.id == attempt.id) & (Attempt.state == PENDING)).execute()
        if not written:
            return False
        ended = sessions.settle(session, verdict.success, now)
        if ended:      # the merchant's result callback, in the verdict's transaction (sent after commit)
            callback_events.record_event(session.id, ended, now)
        charged = charge.charge(charge.charge_key(session.merchant_id, PRODUCT, session.biz_token), result, now)
        if charged:
            Attempt.update(is_need_charge=True).where(Attempt.id == attempt.id).execute()
        charge.record_usage(session.merchant_id, "DetectAuth", PRODUCT, result.tencent, charged, masked,
                            f"{session.request_id}:{attempt.seq}" if session.request_id else "", now)
    log.info("attempt verdict session=%s seq=%s code=%s", session.id, attempt.seq, result.tencent)
    return True


def outcome(attempt: Attempt) -> AttemptOutcome:
    session = VerificationSession.get_by_id(attempt.session_id)
    fresh = Attempt.get_by_id(attempt.id)
    return AttemptOutcome(seq=fresh.seq, code=fresh.code, finished=session.state != sessions.OPEN,
                          attempts_left=max(0, sessions.MAX_ATTEMPTS - session.attempts_used))


def settle_attempt(attempt: Attempt, verdict: Verdict, *, sealer: Sealer, clock: Clock) -> bool:
    """Record a verdict (once), or void the attempt when the outcome is not a verdict (bad input found
    late, an engine that could not run). Returns False when nothing was recorded: the attempt was voided,
    or another verdict had ended the session first (see record_verdict)."""
    if verdict.result.kind is not Kind.VERDICT:
        void_attempt(attempt, verdict.result.tencent, clock)
        return False
    return record_verdict(attempt, verdict, sealer=sealer, clock=clock)


def run_attempt(session: VerificationSession, user_digest: str, evaluate: Callable[[], Verdict], *,
                sealer: Sealer, clock: Clock) -> AttemptOutcome:
    """Live frames (native H5, mini-program): evaluate now. An outcome that is not a verdict voids the
    attempt and is raised (Rejected), so the client gets its code and may try again; a verdict that
    comes after another capture's verdict ended the session is refused as BizTokenFinished."""
    attempt = start_attempt(session, "frames", user_digest, clock)
    verdict = evaluate()
    if verdict.result.kind is not Kind.VERDICT:
        void_attempt(attempt, verdict.result.tencent, clock)
        raise Rejected(verdict.result)
    if not record_verdict(attempt, verdict, sealer=sealer, clock=clock):
        raise Refused("BizTokenFinished")
    return outcome(attempt)
