"""The merchant console's usage chart (SVG) and its CSV export: the last USAGE_DAYS Beijing days of
``billing usage --days``, drawn from ``usage.daily_usage`` so the picture and the file show the CLI's
numbers."""
from __future__ import annotations

from flask import Response

from ..billing.chart import usage_csv, usage_svg
from ..billing.usage import daily_usage
from ..services import services
from .console_merchant import USAGE_DAYS, bp, merchant_required
from .models import MerchantUser


def _daily(user: MerchantUser) -> list[dict]:
    return daily_usage(user.merchant_id, USAGE_DAYS, services().clock.now())


@bp.get("/usage.svg")
@merchant_required
def usage_chart(user: MerchantUser):
    svg = usage_svg(_daily(user))
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, no-cache"})


@bp.get("/usage.csv")
@merchant_required
def usage_export(user: MerchantUser):
    daily = _daily(user)
    name = f"usage-{user.merchant_id}-{daily[0]['date']}-{daily[-1]['date']}.csv"
    return Response(usage_csv(daily), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-cache"})
