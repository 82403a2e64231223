"""Attempts: the live-frames attempt (verdict now), the recorded-video attempt (verdict later) and
the one place a verdict is written, charged and settles the session.

Bad input never reaches this module's state changes: callers parse and check media first, and an
attempt that could not be evaluated is voided (it does not count, nothing is charged).
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from dataclasses import dataclass

from .. import db
from ..billing import ledger
from ..callbacks import deliveries as callback_events
from ..clock import Clock, utc_naive
from ..crypto import Sealer
from ..errors import Refused, ServiceError
from ..registry.idcard import mask_id_number
from ..result_codes import lookup
from . import sessions
from .challenges import IssuedChallenge
from .models import DONE, PENDING, VOID, Attempt, VerificationSession

log = logging.getLogger(__name__)

PRODUCT = "live_verification"
# Failed attempts one WeChat user may make across sessions in a window (DESIGN §10).
FAILURE_LIMIT, FAILURE_WINDOW_S = 5, 180
# Frames of a capture kept for the merchant: BestFrame and up to two more (BestFrames).
MAX_BEST_FRAMES = 3


@dataclass(frozen=True)
class Verdict:
    """What one evaluated attempt found. Codes are Tencent strings from the result-code table."""

    code: str
    live_code: str
    compare_code: str = ""
    sim: float | None = None
    liveness_score: float | None = None
    best_frame_jpeg: bytes | None = None
    more_frames_jpeg: tuple[bytes, ...] = ()     # the capture's next best frames (BestFrames), <= 2

    @property
    def success(self) -> bool:
        return self.code == "Success"


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
    if not ledger.has_quota(session.merchant_id, PRODUCT, clock.now()):
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
    """Write the verdict once, charge once (key BizToken:seq) and settle the session.

    Returns False when another run already wrote this attempt's verdict (a re-run of a job whose
    worker was presumed lost but finished after all): nothing is written or charged twice.
    """
    now = utc_naive(clock.now())
    session = VerificationSession.get_by_id(attempt.session_id)
    result = lookup(verdict.code)
    masked = mask_id_number(sealer.open_text(session.id_card_sealed)) if session.id_card_sealed else ""
    # Verdict, session state and charge commit together: a crash leaves either none of them (the
    # job is re-run) or all of them; the charge key (BizToken:seq) is unique besides.
    with db.database.atomic():
        written = Attempt.update(
            state=DONE, code=result.tencent, live_code=lookup(verdict.live_code).tencent,
            compare_code=lookup(verdict.compare_code).tencent if verdict.compare_code else "",
            sim=verdict.sim, liveness_score=verdict.liveness_score,
            best_frame_sealed=sealer.seal(verdict.best_frame_jpeg) if verdict.best_frame_jpeg else None,
            more_frames_sealed=seal_frames(sealer, verdict.more_frames_jpeg),
            is_need_charge=result.billable, finished_at=now,
        ).where((Attempt.id == attempt.id) & (Attempt.state == PENDING)).execute()
        if not written:
            return False
        ended = sessions.settle(session, verdict.success, now)
        if ended:      # the merchant's result callback, in the verdict's transaction (sent after commit)
            callback_events.record_event(session.id, ended, now)
        ledger.charge(session.merchant_id, PRODUCT, f"{session.biz_token}:{attempt.seq}", result.tencent,
                      masked, now=now, action="DetectAuth",
                      request_id=f"{session.request_id}:{attempt.seq}" if session.request_id else "")
    log.info("attempt verdict session=%s seq=%s code=%s", session.id, attempt.seq, result.tencent)
    return True


def outcome(attempt: Attempt) -> AttemptOutcome:
    session = VerificationSession.get_by_id(attempt.session_id)
    fresh = Attempt.get_by_id(attempt.id)
    return AttemptOutcome(seq=fresh.seq, code=fresh.code, finished=session.state != sessions.OPEN,
                          attempts_left=max(0, sessions.MAX_ATTEMPTS - session.attempts_used))


def run_frames_attempt(session: VerificationSession, user_digest: str, challenge: IssuedChallenge,
                       evaluate, *, sealer: Sealer, clock: Clock) -> AttemptOutcome:
    """Live frames (native H5, mini-program): evaluate now. ``evaluate()`` -> Verdict may raise
    ServiceError for input it cannot use or an engine it cannot run; the attempt is then voided."""
    attempt = start_attempt(session, "frames", user_digest, clock)
    try:
        verdict = evaluate()
    except ServiceError as exc:
        void_attempt(attempt, exc.result.tencent, clock)
        raise
    record_verdict(attempt, verdict, sealer=sealer, clock=clock)
    return outcome(attempt)
