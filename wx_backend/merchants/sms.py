"""SMS delivery behind a gateway interface.

A real provider (Aliyun, Tencent Cloud SMS, ...) implements ``SmsGateway``; the default
``OutboxSmsGateway`` records each message in the database (SmsOutbox) instead of sending it, and
``MemorySmsGateway`` keeps them in a list for tests. All three must pass tests/merchants/sms_contract.py:
mainland mobile numbers only, a non-empty body of at most MAX_BODY_CHARS, a distinct receipt id per
message, SmsError for anything refused.
"""
from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from typing import Protocol

from ..clock import Clock, utc_naive

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
MAX_BODY_CHARS = 500     # providers split long texts into several billed parts; ours stay short


class SmsError(Exception):
    """The gateway refused or failed to send one message."""


@dataclass(frozen=True)
class SmsReceipt:
    message_id: str


class SmsGateway(Protocol):
    def send(self, phone: str, body: str) -> SmsReceipt:
        """Send one text to a mainland mobile number (11 digits); SmsError when refused."""


def check_message(phone: str, body: str) -> None:
    if not MOBILE_RE.match(phone or ""):
        raise SmsError("not a mainland mobile number")
    if not body or not body.strip():
        raise SmsError("empty message")
    if len(body) > MAX_BODY_CHARS:
        raise SmsError(f"message longer than {MAX_BODY_CHARS} characters")


class OutboxSmsGateway:
    """Default gateway: writes the message to the SmsOutbox table (nothing leaves the host)."""

    def __init__(self, clock: Clock):
        self._clock = clock

    def send(self, phone: str, body: str) -> SmsReceipt:
        from .models import SmsOutbox
        check_message(phone, body)
        row = SmsOutbox.create(phone=phone, body=body, created_at=utc_naive(self._clock.now()))
        return SmsReceipt(f"outbox-{row.id}")


class MemorySmsGateway:
    """In-memory gateway for tests: ``sent`` holds (phone, body) pairs in order."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, phone: str, body: str) -> SmsReceipt:
        check_message(phone, body)
        with self._lock:
            self.sent.append((phone, body))
            return SmsReceipt(f"memory-{next(self._ids)}")
