"""Charging calls against prepaid packs or the postpaid account, at most once per idempotency key.

Two ways in:

* Cloud API actions (the dispatcher): ``reserve`` one unit BEFORE the work (``UnauthorizedOperation.Arrears``
  when the merchant has neither a pack with calls left nor postpaid), then ``settle`` with the verdict: a
  billable verdict turns the reservation into a Charge, anything else gives the unit back.
* Verification sessions: ``has_quota`` before the work, then ``charge(merchant, product, key, result_code,
  masked_id)`` with key = BizToken + attempt number.

Every change of ``remaining`` is a conditional UPDATE (``remaining = remaining - 1 WHERE remaining > 0``)
inside ``db.atomic()``, and a Charge's key is UNIQUE, so neither concurrent workers nor a retried request
can spend one unit twice or pay twice for one call.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

import peewee

from .. import db
from ..clock import utc_naive
from ..errors import Refused
from ..merchants.models import Merchant, ResourcePack
from ..result_codes import ResultCode, lookup
from .models import Charge, Reservation, UsageRecord

log = logging.getLogger(__name__)


def charge_key(merchant_id: int, raw: str) -> str:
    """The stored idempotency key: merchant-scoped so one merchant's keys can never collide with another's."""
    return hashlib.sha256(f"{merchant_id}\x00{raw}".encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Hold:
    """One reserved unit of quota (``reservation_id``), or nothing to hold because the key already paid."""

    reservation_id: int | None
    already_charged: bool


def _usable_packs(merchant_id: int, product: str, now: dt.datetime):
    return (ResourcePack.select(ResourcePack.id)
            .where((ResourcePack.merchant == merchant_id) & (ResourcePack.product == product)
                   & (ResourcePack.remaining > 0)
                   & (ResourcePack.expires_at.is_null() | (ResourcePack.expires_at > now)))
            .order_by(ResourcePack.created_at, ResourcePack.id))


def _take_unit(merchant_id: int, product: str, now: dt.datetime) -> tuple[bool, int | None]:
    """Inside a transaction: (True, pack id) from the oldest pack, (True, None) postpaid, (False, None)."""
    for pack in _usable_packs(merchant_id, product, now):
        taken = (ResourcePack.update(remaining=ResourcePack.remaining - 1)
                 .where((ResourcePack.id == pack.id) & (ResourcePack.remaining > 0)).execute())
        if taken:
            return True, pack.id
    postpaid = (Merchant.select(Merchant.postpaid).where(Merchant.id == merchant_id).scalar())
    return (True, None) if postpaid else (False, None)


def _give_back(pack_id: int | None) -> None:
    if pack_id is not None:
        ResourcePack.update(remaining=ResourcePack.remaining + 1).where(ResourcePack.id == pack_id).execute()


def has_quota(merchant_id: int, product: str, now: dt.datetime) -> bool:
    now = utc_naive(now)
    if _usable_packs(merchant_id, product, now).exists():
        return True
    return bool(Merchant.select(Merchant.postpaid).where(Merchant.id == merchant_id).scalar())


def reserve(merchant_id: int, product: str, key: str, now: dt.datetime) -> Hold:
    """Take one unit before the work; raises Refused(UnauthorizedOperation.Arrears) when there is none."""
    now = utc_naive(now)
    with db.write_atomic():
        if Charge.select().where(Charge.key == key).exists():
            return Hold(reservation_id=None, already_charged=True)
        ok, pack_id = _take_unit(merchant_id, product, now)
        if not ok:
            raise Refused("UnauthorizedOperation.Arrears")
        reservation = Reservation.create(merchant=merchant_id, product=product, pack=pack_id, created_at=now)
    return Hold(reservation_id=reservation.id, already_charged=False)


def settle(hold: Hold, merchant_id: int, product: str, key: str, result: ResultCode,
           now: dt.datetime) -> bool:
    """Close a reservation with the verdict; True when this call was charged (at most once per key)."""
    if hold.reservation_id is None:
        return False
    now = utc_naive(now)
    with db.write_atomic():
        closed = (Reservation.update(settled=True)
                  .where((Reservation.id == hold.reservation_id) & (Reservation.settled == False))  # noqa: E712
                  .execute())
        if not closed:
            return False          # settled already (a repeated settle must not charge or refund twice)
        pack_id = Reservation.get_by_id(hold.reservation_id).pack_id
        if result.billable:
            try:
                with db.database.atomic():   # savepoint: a duplicate key must not abort the outer transaction
                    Charge.create(merchant=merchant_id, key=key, product=product, pack=pack_id,
                                  result_code=result.tencent, created_at=now)
                return True
            except peewee.IntegrityError:
                log.info("duplicate charge key for merchant %s: unit given back", merchant_id)
        _give_back(pack_id)
    return False


def release_stale(older_than: dt.datetime) -> int:
    """Give back units of reservations a crashed worker never settled; returns how many."""
    older_than = utc_naive(older_than)
    released = 0
    stale = list(Reservation.select().where((Reservation.settled == False)  # noqa: E712
                                            & (Reservation.created_at < older_than)))
    for reservation in stale:
        with db.write_atomic():
            if Reservation.update(settled=True).where((Reservation.id == reservation.id)
                                                      & (Reservation.settled == False)).execute():  # noqa: E712
                _give_back(reservation.pack_id)
                released += 1
    return released


def record_usage(merchant_id: int, action: str, product: str | None, result_code: str, charged: bool,
                 masked_id: str, request_id: str, now: dt.datetime) -> None:
    UsageRecord.create(merchant=merchant_id, created_at=utc_naive(now), action=action, product=product or "",
                       result_code=result_code, charged=charged, masked_id=masked_id, request_id=request_id)


def charge(merchant: Merchant | int, product: str, key: str, result_code: str, masked_id: str, *,
           now: dt.datetime, action: str = "", request_id: str = "") -> bool:
    """Charge one finished call (verification sessions): idempotent on ``key`` (e.g. f"{biz_token}:{attempt}").

    Also writes the usage record. Returns True when this call paid now; False when the verdict is not
    billable, the key already paid, or — which ``has_quota`` before the work should prevent — no quota
    was left (logged; the verdict stands, the call is recorded as not charged).
    """
    merchant_id = merchant if isinstance(merchant, int) else merchant.id
    result = lookup(result_code)
    stored_key = charge_key(merchant_id, key)
    charged = False
    if result.billable:
        when = utc_naive(now)
        with db.write_atomic():
            if not Charge.select().where(Charge.key == stored_key).exists():
                ok, pack_id = _take_unit(merchant_id, product, when)
                if not ok:
                    log.warning("merchant %s: billable %s verdict without quota", merchant_id, product)
                else:
                    try:
                        with db.database.atomic():
                            Charge.create(merchant=merchant_id, key=stored_key, product=product, pack=pack_id,
                                          result_code=result.tencent, created_at=when)
                        charged = True
                    except peewee.IntegrityError:
                        _give_back(pack_id)
    record_usage(merchant_id, action or product, product, result.tencent, charged, masked_id, request_id, now)
    return charged
