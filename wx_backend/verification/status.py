"""What the user's page sees of a session: progress, the outcome, and where to go when done."""
from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit, urlencode, parse_qsl

from ..clock import Clock, utc_naive
from ..result_codes import lookup
from . import user_text
from .jobs import MAX_RUNS
from .models import DONE, OPEN, PENDING, QUEUED, Attempt, MAX_ATTEMPTS, VerificationSession, VideoJob


def redirect_url(session: VerificationSession) -> str | None:
    """``RedirectUrl?token=<BizToken>`` (query merged), or None when the merchant gave none."""
    if not session.redirect_url:
        return None
    parts = urlsplit(session.redirect_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "token"]
    query.append(("token", session.biz_token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def describe(session: VerificationSession, clock: Clock) -> dict:
    session = VerificationSession.get_by_id(session.id)
    rows = list(session.attempts.order_by(Attempt.seq))
    latest = rows[-1] if rows else None
    expired = utc_naive(clock.now()) >= session.expires_at
    if session.state != OPEN:
        state = session.state                     # finished | exhausted
    elif latest is not None and latest.state == PENDING:
        state = "processing"
    elif expired:
        state = "expired"
    else:
        state = "open"
    done = state in ("finished", "exhausted", "expired")
    body = {"state": state, "channel": session.channel, "mode": session.liveness_mode,
            "consented": session.consent_at is not None,
            "attempts_used": session.attempts_used,
            "attempts_left": max(0, MAX_ATTEMPTS - session.attempts_used), "attempts_max": MAX_ATTEMPTS,
            "last_attempt": None, "done": done, "redirect": redirect_url(session) if done else None}
    if latest is not None:
        code = lookup(latest.code) if latest.code else None
        body["last_attempt"] = {
            "attempt": latest.seq, "state": latest.state,
            "passed": latest.state == DONE and latest.code == "Success",
            "code": code.tencent if code else None, "saas_code": code.saas if code else None,
            "message": code.message if code else lookup("VideoProcessing").message,
            "hint": user_text.hint(code.tencent, _challenge_of(latest)) if code and not code.is_success else ""}
        if state == "processing":
            body["progress"] = job_progress(latest)
    return body


def _challenge_of(attempt: Attempt) -> dict:
    """The challenge a recorded attempt answered (the action order it was asked for); {} otherwise."""
    job = VideoJob.get_or_none(VideoJob.attempt == attempt.id)
    try:
        return json.loads(job.challenge_payload) if job else {}
    except ValueError:
        return {}


def job_progress(attempt: Attempt) -> dict | None:
    """Where a recorded video's job is: {"job": "queued", "ahead": N} or {"job": "running"}.

    ``ahead`` counts the videos that will start before this one: those queued earlier and not yet taken
    by a worker (the queue is first in, first out), leaving out those no worker will run again (their
    MAX_RUNS runs spent: the sweep gives them up). Jobs already running are not in the queue any more.
    """
    job = VideoJob.get_or_none(VideoJob.attempt == attempt.id)
    if job is None:
        return None
    if job.state != QUEUED:
        return {"job": job.state}
    ahead = VideoJob.select().where((VideoJob.state == QUEUED) & (VideoJob.id < job.id)
                                    & (VideoJob.runs < MAX_RUNS)).count()
    return {"job": QUEUED, "ahead": ahead}
