"""What a merchant used and what it has left: one summary for the CLI and the merchant console."""
from __future__ import annotations

import datetime as dt

import peewee

from ..clock import utc_naive
from ..merchants.models import ResourcePack
from .models import UsageRecord


def usage_summary(merchant_id: int, since: dt.datetime | None = None) -> dict:
    """Per-action totals, charged calls and the packs' remaining calls, as plain JSON-able data.

    ``actions`` maps action -> {"calls", "charged", "results": {result code: calls}}; ``since`` (UTC) bounds
    the usage records, not the packs (those are always shown as they are now).
    """
    query = UsageRecord.select(UsageRecord.action, UsageRecord.result_code, UsageRecord.charged,
                               peewee.fn.COUNT(UsageRecord.id).alias("n")).where(
        UsageRecord.merchant == merchant_id)
    if since is not None:
        query = query.where(UsageRecord.created_at >= utc_naive(since))
    query = query.group_by(UsageRecord.action, UsageRecord.result_code, UsageRecord.charged)
    actions: dict[str, dict] = {}
    for row in query:
        entry = actions.setdefault(row.action, {"calls": 0, "charged": 0, "results": {}})
        entry["calls"] += row.n
        if row.charged:
            entry["charged"] += row.n
        entry["results"][row.result_code] = entry["results"].get(row.result_code, 0) + row.n
    packs = [{"id": p.id, "product": p.product, "label": p.label, "total": p.total, "remaining": p.remaining,
              "created_at": p.created_at.isoformat(),
              "expires_at": p.expires_at.isoformat() if p.expires_at else None}
             for p in ResourcePack.select().where(ResourcePack.merchant == merchant_id)
             .order_by(ResourcePack.created_at, ResourcePack.id)]
    return {
        "merchant": merchant_id,
        "since": utc_naive(since).isoformat() if since else None,
        "actions": dict(sorted(actions.items())),
        "calls": sum(a["calls"] for a in actions.values()),
        "charged_calls": sum(a["charged"] for a in actions.values()),
        "packs": packs,
    }
