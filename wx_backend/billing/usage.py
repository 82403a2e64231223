"""What a merchant used and what it has left: one summary for the CLI and the merchant console.

``usage_summary`` totals a window per action; with ``days`` it adds the daily breakdown of the last
``days`` Beijing calendar days (the chart and the CSV of the console are drawn from it, so they show
exactly what ``flask --app app billing usage --days 30`` prints). Per action and day: ``calls`` (every
usage record), ``billable`` (calls of a charged product whose result code is billable: Success,
IdNameMisMatch, CompareLowSimilarity; free actions such as GetLiveCode never are) and ``charged`` (calls
that took a unit from a pack or the postpaid account: billable and not already paid under the same key).
The product has no prices: a charge is one call's unit.
"""
from __future__ import annotations

import datetime as dt

import peewee

from ..clock import utc_naive
from ..merchants.models import ResourcePack
from ..merchants.workdays import BEIJING, local_date
from ..result_codes import UnknownResultCode, lookup
from .models import UsageRecord

METRICS = ("calls", "billable", "charged")


def _billable(code: str) -> bool:
    try:
        return lookup(code).billable
    except UnknownResultCode:     # a code an older version wrote: it was not charged for being unknown
        return False


def action_totals(merchant_id: int, since: dt.datetime | None = None,
                  until: dt.datetime | None = None) -> dict[str, dict]:
    """action -> {"calls", "billable", "charged", "results": {result code: calls}}, for records with
    ``since <= created_at < until`` (UTC; either bound may be None)."""
    query = UsageRecord.select(UsageRecord.action, UsageRecord.product, UsageRecord.result_code,
                               UsageRecord.charged, peewee.fn.COUNT(UsageRecord.id).alias("n")).where(
        UsageRecord.merchant == merchant_id)
    if since is not None:
        query = query.where(UsageRecord.created_at >= utc_naive(since))
    if until is not None:
        query = query.where(UsageRecord.created_at < utc_naive(until))
    query = query.group_by(UsageRecord.action, UsageRecord.product, UsageRecord.result_code,
                           UsageRecord.charged)
    actions: dict[str, dict] = {}
    for row in query:
        entry = actions.setdefault(row.action, {"calls": 0, "billable": 0, "charged": 0, "results": {}})
        entry["calls"] += row.n
        if row.product and _billable(row.result_code):
            entry["billable"] += row.n
        if row.charged:
            entry["charged"] += row.n
        entry["results"][row.result_code] = entry["results"].get(row.result_code, 0) + row.n
    return dict(sorted(actions.items()))


def beijing_day_start(day: dt.date) -> dt.datetime:
    """00:00 Beijing time of ``day``, as aware UTC."""
    return dt.datetime.combine(day, dt.time(), BEIJING).astimezone(dt.timezone.utc)


def daily_usage(merchant_id: int, days: int, now: dt.datetime) -> list[dict]:
    """The last ``days`` Beijing days up to and including today, oldest first:
    [{"date": "2026-11-30", "actions": {action: {"calls", "billable", "charged"}}}], every day listed
    (an idle day has no actions). One indexed query per day (merchant, created_at)."""
    today = local_date(now)
    out = []
    for back in range(days - 1, -1, -1):
        day = today - dt.timedelta(days=back)
        totals = action_totals(merchant_id, beijing_day_start(day),
                               beijing_day_start(day + dt.timedelta(days=1)))
        out.append({"date": day.isoformat(),
                    "actions": {a: {m: t[m] for m in METRICS} for a, t in totals.items()}})
    return out


def usage_summary(merchant_id: int, since: dt.datetime | None = None, *, days: int | None = None,
                  now: dt.datetime | None = None) -> dict:
    """Per-action totals, charged calls and the packs' remaining calls, as plain JSON-able data.

    ``actions`` maps action -> {"calls", "billable", "charged", "results": {result code: calls}};
    ``since`` (UTC) bounds the usage records, not the packs (those are always shown as they are now).
    ``days`` (with ``now``) adds ``daily``, the breakdown of the last ``days`` Beijing days.
    """
    actions = action_totals(merchant_id, since)
    packs = [{"id": p.id, "product": p.product, "label": p.label, "total": p.total, "remaining": p.remaining,
              "created_at": p.created_at.isoformat(),
              "expires_at": p.expires_at.isoformat() if p.expires_at else None}
             for p in ResourcePack.select().where(ResourcePack.merchant == merchant_id)
             .order_by(ResourcePack.created_at, ResourcePack.id)]
    summary = {
        "merchant": merchant_id,
        "since": utc_naive(since).isoformat() if since else None,
        "actions": actions,
        "calls": sum(a["calls"] for a in actions.values()),
        "billable_calls": sum(a["billable"] for a in actions.values()),
        "charged_calls": sum(a["charged"] for a in actions.values()),
        "packs": packs,
    }
    if days is not None:
        if now is None:
            raise ValueError("daily usage needs now")
        summary["daily"] = daily_usage(merchant_id, days, now)
    return summary
