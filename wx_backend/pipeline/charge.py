"""Charging: at most one charge per idempotency key, from a prepaid pack (oldest first) or postpaid.

    key = charge_key(merchant_id, product, raw)      # raw: "trace:..." | "request:<id>" | "<BizToken>"
    gate before the work:  reserve(key, now) -> Hold  (Cloud API; UnauthorizedOperation.Arrears when none)
                           has_quota(merchant, product, now)   (sessions)
    after the verdict:     charge(key, result, now, hold=None) -> bool

``charge`` is the one path that spends: a billable result becomes a Charge (the reserved unit, or a
unit taken now when nothing was reserved); anything else gives a reserved unit back. Every change of
``remaining`` is a conditional UPDATE (``remaining = remaining - 1 WHERE remaining > 0``) inside
``db.atomic()``, and a Charge's key is UNIQUE, so neither concurrent workers nor a retried request can
spend one unit twice or pay twice for one call. ``record_usage`` writes the per-call record.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass


from .. import db
from ..billing.models import Charge, Reservation, UsageRecord
from ..clock import utc_naive
from ..errors import Refused
from ..merchants.models import Merchant, ResourcePack
from ..result_codes import ResultCode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChargeKey:
    """What one call may be charged once for: a merchant, a product, a stored idempotency key."""

    merchant_id: int
    product: str
    key: str          # merchant-scoped digest, so one merchant's keys never collide with another's


def charge_key(merchant_id: int, product: str, raw: str) -> ChargeKey:
    return ChargeKey(merchant_id, product,
                     hashlib.sha256(f"{merchant_id}\x00{raw}".encode("utf-8")).hexdigest())


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


def reserve(key: ChargeKey, now: dt.datetime) -> Hold:
    """Take one unit before the work; raises Refused(UnauthorizedOperation.Arrears) when there is none."""
    now = utc_naive(now)
    with db.write_atomic():
        if Charge.select().where(Charge.key == key.key).exists():
            return Hold(reservation_id=None, already_charged=True)
        ok, pack_id = _take_unit(key.merchant_id, key.product, now)
        if not ok:
            raise Refused("UnauthorizedOperation.Arrears")
        reservation = Reservation.create(merchant=key.merchant_id, product=key.product, pack=pack_id,
                                         created_at=now)
    return Hold(reservation_id=reservation.id, already_charged=False)


def charge(key: ChargeKey, result: ResultCode, now: dt.datetime, *, hold: Hold | None = None) -> bool:
    """Charge one finished call at most once per key; True when this call paid now.

    With ``hold`` (from ``reserve``) the reserved unit pays or goes back; a hold settles once. Without
    one a unit is taken now; a billable result with no unit left (``has_quota`` before the work
    should prevent it) is logged and not charged: the verdict stands.
    """
    if hold is not None and hold.reservation_id is None:
        return False              # the key had paid before this call reserved anything
    now = utc_naive(now)
    with db.write_atomic():
        have_unit, pack_id = False, None
        if hold is not None:
            closed = (Reservation.update(settled=True)
                      .where((Reservation.id == hold.reservation_id) & (Reservation.settled == False))  # noqa: E712
                      .execute())
            if not closed:
                return False      # settled already: a repeated settle must not charge or refund twice
            have_unit, pack_id = True, Reservation.get_by_id(hold.reservation_id).pack_id
        if result.billable and (have_unit or not Charge.select().where(Charge.key == key.key).exists()):
            if not have_unit:
                have_unit, pack_id = _take_unit(key.merchant_id, key.product, now)
                if not have_unit:
                    log.warning("merchant %s: billable %s verdict without quota", key.merchant_id, key.product)
            if have_unit:
                # The UNIQUE key decides, in one statement (ON CONFLICT DO NOTHING): a key that paid in
                # another transaction meanwhile inserts no row, and the unit goes back below.
                inserted = (Charge.insert(merchant=key.merchant_id, key=key.key, product=key.product,
                                          pack=pack_id, result_code=result.tencent, created_at=now)
                            .on_conflict_ignore().as_rowcount().execute())
                if inserted:
                    return True
                log.info("duplicate charge key for merchant %s: unit given back", key.merchant_id)
        if have_unit:
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
