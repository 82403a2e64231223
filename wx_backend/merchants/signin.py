"""Console sign-in: throttled password checks and server-side sessions, for both consoles.

Throttle. Failed sign-ins are counted per account (console + user name, also for names that do not
exist) and per client address, in a sliding window of FAIL_WINDOW_S, in the shared rate-limit store
(so every worker and host sees the same counts). After FREE_FAILURES failures the next try must wait
a delay that doubles with each failure (capped at MAX_DELAY_S); a try inside the delay is refused
before the password is looked at and is not counted. At LOCK_ACCOUNT failures of one account, or
LOCK_CLIENT failures from one address, sign-in is locked until the oldest failure leaves the window.
The password is never checked while refused, so a locked account cannot be probed, and the delay is
answered at once rather than slept in a worker (a sleeping worker would be the attacker's win).

Equal work. An unknown user name costs the same password hash as a known one (a dummy hash), and is
throttled the same way, so neither the answer nor its time tells whether the name exists.

Sessions. A successful sign-in creates a ConsoleSession row (a random id, stored as a keyed digest,
with its absolute and idle expiry); the signed cookie carries only that id. Signing out deletes the
row, so a copy of the cookie is worthless afterwards, and a cookie forged with a leaked SECRET_KEY
names no session.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass

import peewee
from werkzeug.security import check_password_hash, generate_password_hash

from ..clock import Clock, utc_naive
from ..crypto import Sealer, new_token
from ..db import BaseModel

log = logging.getLogger(__name__)

FAIL_WINDOW_S = 15 * 60
FREE_FAILURES = 3
MAX_DELAY_S = 60
LOCK_ACCOUNT = 10
LOCK_CLIENT = 20                   # reachable within the window despite the delays (~13 min)
SESSION_TTL_S = 8 * 3600           # absolute: a console session lasts one working day at most
SESSION_IDLE_S = 3600              # idle: an unattended browser is signed out after an hour
_TOUCH_EVERY_S = 60                # last_seen is written at most once a minute
SID_PURPOSE = "console-session"
SESSION_KEY = "console_sid"        # the signed cookie's one entry for sign-in


class ConsoleSession(BaseModel):
    sid_digest = peewee.CharField(max_length=64, unique=True)
    kind = peewee.CharField(max_length=16)           # "merchant" | "reviewer"
    user_id = peewee.IntegerField()
    created_at = peewee.DateTimeField()
    last_seen_at = peewee.DateTimeField()
    expires_at = peewee.DateTimeField(index=True)


@dataclass(frozen=True)
class SignIn:
    """The outcome of one try: ``user`` on success; otherwise ``refused`` says why."""

    user: object | None = None
    refused: str = ""                 # "" | "wrong" | "wait" | "locked"
    retry_after_s: int = 0

    @property
    def message(self) -> str:
        if self.refused == "locked":
            return f"登录失败次数过多，已暂时锁定，请 {_minutes(self.retry_after_s)} 分钟后再试"
        if self.refused == "wait":
            return f"登录失败次数较多，请 {self.retry_after_s} 秒后再试"
        return "登录名或密码错误"


def _minutes(seconds: int) -> int:
    return max(1, -(-seconds // 60))


@functools.cache
def _dummy_hash() -> str:
    """A hash of nothing anyone knows, made like the real ones (computed once, on first use)."""
    return generate_password_hash(new_token())


def delay_s(failures: int) -> int:
    """Seconds to wait after ``failures`` failures in the window before the next try."""
    if failures < FREE_FAILURES:
        return 0
    return min(MAX_DELAY_S, 2 ** (failures - FREE_FAILURES))


def _keys(kind: str, username: str, client: str, sealer: Sealer) -> tuple[str, str]:
    # Digests: the store's keys name no user and no address in clear.
    return (f"signin:acct:{sealer.digest(f'{kind}:{username}', 'signin')[:40]}",
            f"signin:client:{sealer.digest(client, 'signin-client')[:40]}")


def attempt(kind: str, username: str, password: str, *, client: str, lookup, limiter, sealer: Sealer,
            clock: Clock) -> SignIn:
    """One sign-in try. ``lookup(username)`` -> the user row (with ``password_hash``) or None."""
    now_ms = int(clock.now().timestamp() * 1000)
    window_ms = FAIL_WINDOW_S * 1000
    account, client_key = _keys(kind, username, client, sealer)
    by_account = limiter.recent(account, now_ms, window_ms)
    by_client = limiter.recent(client_key, now_ms, window_ms)
    for failures, lock_at in ((by_account, LOCK_ACCOUNT), (by_client, LOCK_CLIENT)):
        if len(failures) >= lock_at:
            retry = (failures[len(failures) - lock_at] + window_ms - now_ms) // 1000 + 1
            log.warning("console sign-in locked: console=%s client=%s failures=%d", kind,
                        client_key[-8:], len(failures))
            return SignIn(refused="locked", retry_after_s=int(retry))
    worst = max((by_account, by_client), key=len)
    if worst:
        wait_ms = delay_s(len(worst)) * 1000 - (now_ms - worst[-1])
        if wait_ms > 0:
            return SignIn(refused="wait", retry_after_s=int(-(-wait_ms // 1000)))
    user = lookup(username) if username else None
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password or "")
    if ok and user is not None:
        limiter.clear(account)
        return SignIn(user=user)
    for key, cap in ((account, LOCK_ACCOUNT), (client_key, LOCK_CLIENT)):
        limiter.hit(key, cap, now_ms, window_ms)
    log.info("console sign-in failed: console=%s client=%s failures=%d", kind, client_key[-8:],
             len(by_account) + 1)
    return SignIn(refused="wrong")


def open_session(kind: str, user_id: int, *, sealer: Sealer, clock: Clock) -> str:
    """A new server-side session for a signed-in user; returns its id (for the signed cookie)."""
    now = utc_naive(clock.now())
    sid = new_token()
    ConsoleSession.create(sid_digest=sealer.digest(sid, SID_PURPOSE), kind=kind, user_id=user_id,
                          created_at=now, last_seen_at=now, expires_at=now + dt.timedelta(seconds=SESSION_TTL_S))
    return sid


def session_user_id(kind: str, sid: str | None, *, sealer: Sealer, clock: Clock) -> int | None:
    """The user id of a live session of console ``kind``; None when there is none (or it expired)."""
    if not sid or not isinstance(sid, str) or len(sid) > 64:
        return None
    row = ConsoleSession.get_or_none(ConsoleSession.sid_digest == sealer.digest(sid, SID_PURPOSE))
    now = utc_naive(clock.now())
    if row is None or row.kind != kind:
        return None
    if row.expires_at <= now or row.last_seen_at + dt.timedelta(seconds=SESSION_IDLE_S) <= now:
        row.delete_instance()
        return None
    if now - row.last_seen_at >= dt.timedelta(seconds=_TOUCH_EVERY_S):
        ConsoleSession.update(last_seen_at=now).where(ConsoleSession.id == row.id).execute()
    return row.user_id


def close_session(sid: str | None, *, sealer: Sealer) -> None:
    if sid and isinstance(sid, str):
        ConsoleSession.delete().where(ConsoleSession.sid_digest == sealer.digest(sid, SID_PURPOSE)).execute()


def purge_expired(clock: Clock) -> int:
    """Sessions past their absolute or idle expiry (the worker's housekeeping)."""
    now = utc_naive(clock.now())
    return ConsoleSession.delete().where(
        (ConsoleSession.expires_at <= now)
        | (ConsoleSession.last_seen_at <= now - dt.timedelta(seconds=SESSION_IDLE_S))).execute()
