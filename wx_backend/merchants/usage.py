"""Usage figures for the merchant console: packs now, call counts when billing records them."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import peewee

from .models import ResourcePack

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsageLine:
    product: str
    calls: int
    charged: int


def packs(merchant) -> list[ResourcePack]:
    return list(ResourcePack.select().where(ResourcePack.merchant == merchant)
                .order_by(ResourcePack.product, ResourcePack.created_at))


def usage_lines(merchant) -> list[UsageLine]:
    """Calls and charged calls per product from billing's UsageRecord; empty when billing is absent."""
    try:
        from ..billing.models import UsageRecord
    except ImportError:
        return []
    fn = peewee.fn
    try:
        rows = (UsageRecord.select(UsageRecord.product, fn.COUNT(UsageRecord.id).alias("calls"),
                                   fn.SUM(UsageRecord.charged.cast("integer")).alias("charged"))
                .where(UsageRecord.merchant == merchant).group_by(UsageRecord.product).tuples())
        return [UsageLine(p or "-", int(c), int(ch or 0)) for p, c, ch in rows]
    except peewee.DatabaseError as exc:     # table not created yet on this database
        log.warning("usage unavailable: %s", type(exc).__name__)
        return []
