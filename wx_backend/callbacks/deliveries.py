"""Result callbacks: an event when a session ends, its signed delivery, retries with back-off for 24 h.

    session finishes / is exhausted (attempts.record_verdict, in the verdict's transaction)
    session expires unused (``record_expired``, from the sweep)
        -> CallbackDelivery(pending, next_at=now)            when the session's rule has a callback URL
    ``deliver`` (the job queue: at once after the verdict commits, then the sweep every minute)
        claim (conditional UPDATE: due and pending -> leased) -> POST, signed -> 2xx: delivered
        anything else: attempts += 1, next_at = now + back-off (30 s doubling, at most 1 h), until 24 h
        after the event, then failed. A refused URL (SSRF check at connect time) fails at once.

Delivery is at least once: a worker lost between the POST and the row update leaves a lease that
runs out and the event is sent again with the same EventId (receivers dedupe on it). Times are naive
UTC from the injected clock; the transport (safe_http.PinnedTransport) is the network edge.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import uuid

from .. import db
from ..clock import utc_naive
from ..crypto import Sealer, SealError
from ..merchants.models import Rule
from ..result_codes import lookup
from ..verification.models import DONE, OPEN, PENDING as ATTEMPT_PENDING, Attempt, VerificationSession
from . import safe_http, signing
from .models import DELIVERED, EXHAUSTED, EXPIRED, FAILED, FINISHED, PENDING, CallbackDelivery

log = logging.getLogger(__name__)

RETRY_WINDOW = dt.timedelta(hours=24)
FIRST_DELAY_S, MAX_DELAY_S = 30, 3600
LEASE_S = 120                # a claimed delivery whose worker vanished is tried again after this
EXPIRY_LOOKBACK = dt.timedelta(days=1)
EVENTS = (FINISHED, EXHAUSTED, EXPIRED)


def backoff_s(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed try: 30, 60, 120, ... at most 3,600."""
    return min(FIRST_DELAY_S * 2 ** max(0, attempts - 1), MAX_DELAY_S)


def _iso(when: dt.datetime) -> str:
    return when.replace(tzinfo=dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def result_body(session: VerificationSession, event: str, now: dt.datetime, event_id: str) -> dict:
    """What the merchant is told: never the ID number, the name or an image."""
    done = list(Attempt.select().where((Attempt.session == session.id) & (Attempt.state == DONE))
                .order_by(Attempt.seq))
    final = next((a for a in done if a.code == "Success"), done[-1] if done else None)
    code = lookup("BizTokenExpired") if event == EXPIRED or final is None else lookup(final.code)
    return {"EventId": event_id, "Event": event, "BizToken": session.biz_token, "RuleId": session.rule_id,
            "ErrCode": code.saas, "ErrMsg": code.message,
            "Sim": f"{final.sim:.2f}" if final is not None and final.sim is not None and event != EXPIRED
            else None,
            "AttemptsUsed": len(done), "Time": _iso(now)}


def record_event(session_id: int, event: str, now: dt.datetime) -> CallbackDelivery | None:
    """The session ended (``event``): a pending delivery when its rule posts results. Idempotent
    (one per session and event); call inside the transaction that ended the session."""
    if event not in EVENTS:
        raise ValueError(f"unknown callback event {event!r}")
    now = utc_naive(now)
    session = VerificationSession.get_by_id(session_id)
    rule = Rule.get_or_none(Rule.rule_id == session.rule_id)
    if rule is None or not rule.callback_url:
        return None
    if CallbackDelivery.select().where((CallbackDelivery.session == session_id)
                                       & (CallbackDelivery.event == event)).exists():
        return None
    event_id = uuid.uuid4().hex
    body = json.dumps(result_body(session, event, now, event_id), ensure_ascii=False, separators=(",", ":"))
    return CallbackDelivery.create(
        event_id=event_id, merchant=session.merchant_id, session=session_id, biz_token=session.biz_token,
        rule_id=session.rule_id, event=event, body=body, url=rule.callback_url, state=PENDING, attempts=0,
        next_at=now, give_up_at=now + RETRY_WINDOW, created_at=now, updated_at=now)


def record_expired(now: dt.datetime) -> int:
    """Expiry events for sessions of the last day that ran out unused (no verdict pending), once each."""
    now = utc_naive(now)
    notified = CallbackDelivery.select(CallbackDelivery.session)
    pending = Attempt.select(Attempt.session).where(Attempt.state == ATTEMPT_PENDING)
    with_callback = Rule.select(Rule.rule_id).where(Rule.callback_url != "")
    candidates = (VerificationSession.select(VerificationSession.id)
                  .where((VerificationSession.state == OPEN) & (VerificationSession.expires_at <= now)
                         & (VerificationSession.expires_at > now - EXPIRY_LOOKBACK)
                         & VerificationSession.rule_id.in_(with_callback)
                         & VerificationSession.id.not_in(notified) & VerificationSession.id.not_in(pending)))
    made = 0
    for row in candidates:
        with db.database.atomic():
            if record_event(row.id, EXPIRED, now) is not None:
                made += 1
    return made


def due(now: dt.datetime, limit: int = 100) -> list[int]:
    now = utc_naive(now)
    return [d.id for d in CallbackDelivery.select(CallbackDelivery.id)
            .where((CallbackDelivery.state == PENDING) & (CallbackDelivery.next_at <= now))
            .order_by(CallbackDelivery.next_at).limit(limit)]


def claim(delivery_id: int, now: dt.datetime) -> bool:
    """Take a due delivery for one try (a lease): two workers never send the same try."""
    now = utc_naive(now)
    return CallbackDelivery.update(
        next_at=now + dt.timedelta(seconds=LEASE_S), attempts=CallbackDelivery.attempts + 1, updated_at=now,
    ).where((CallbackDelivery.id == delivery_id) & (CallbackDelivery.state == PENDING)
            & (CallbackDelivery.next_at <= now)).execute() == 1


def _close(delivery_id: int, **fields) -> None:
    CallbackDelivery.update(**fields).where(CallbackDelivery.id == delivery_id).execute()


def deliver(delivery_id: int, *, now: dt.datetime, transport, sealer: Sealer) -> str:
    """One try of one delivery: 'delivered', 'retry', 'failed' or 'skipped' (not due / taken)."""
    now = utc_naive(now)
    if not claim(delivery_id, now):
        return "skipped"
    d = CallbackDelivery.get_by_id(delivery_id)
    rule = Rule.get_or_none(Rule.rule_id == d.rule_id)
    try:
        key = sealer.open_text(rule.callback_key_sealed) if rule is not None and rule.callback_key_sealed else ""
    except SealError:
        key = ""
    if rule is None or not rule.callback_url or not key:
        _close(d.id, state=FAILED, last_error="规则已无回调地址", updated_at=now)
        return "failed"
    body = d.body.encode("utf-8")
    headers = signing.signed_headers(key, int(now.replace(tzinfo=dt.timezone.utc).timestamp()), body, d.event_id)
    try:
        response = transport.post(rule.callback_url, body, headers)
    except safe_http.UnsafeUrl as exc:
        log.warning("callback %s refused: %s", d.id, exc)
        _close(d.id, state=FAILED, url=rule.callback_url, last_status=None, latency_ms=None,
               last_error=f"已拒绝：{exc}"[:200], updated_at=now)
        return "failed"
    except OSError as exc:
        return _retry(d, now, rule.callback_url, None, None, f"{type(exc).__name__}: {exc}")
    if 200 <= response.status < 300:
        _close(d.id, state=DELIVERED, url=rule.callback_url, last_status=response.status,
               latency_ms=response.latency_ms, last_error="", delivered_at=now, updated_at=now)
        return "delivered"
    return _retry(d, now, rule.callback_url, response.status, response.latency_ms, f"HTTP {response.status}")


def _retry(d: CallbackDelivery, now: dt.datetime, url: str, status: int | None, latency: int | None,
           error: str) -> str:
    attempts = CallbackDelivery.get_by_id(d.id).attempts
    next_at = now + dt.timedelta(seconds=backoff_s(attempts))
    gave_up = next_at > d.give_up_at
    _close(d.id, state=FAILED if gave_up else PENDING, next_at=next_at, url=url, last_status=status,
           latency_ms=latency, last_error=error[:200], updated_at=now)
    log.info("callback %s try %d failed (%s)%s", d.id, attempts, status or "no answer",
             "; giving up" if gave_up else "")
    return "failed" if gave_up else "retry"


def resend(merchant_id: int, delivery_id: int, now: dt.datetime) -> CallbackDelivery | None:
    """The merchant asks for one again (delivered or failed): due now, another 24 h of retries."""
    now = utc_naive(now)
    updated = CallbackDelivery.update(state=PENDING, next_at=now, give_up_at=now + RETRY_WINDOW, updated_at=now).where(
        (CallbackDelivery.id == delivery_id) & (CallbackDelivery.merchant == merchant_id)).execute()
    return CallbackDelivery.get_by_id(delivery_id) if updated else None


def erase(session_ids) -> int:
    """Every delivery of these sessions (retention purge, the merchant's deletion)."""
    return CallbackDelivery.delete().where(CallbackDelivery.session.in_(session_ids)).execute()
