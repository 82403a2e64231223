"""Usage at a glance: the console's 30-day chart (server-rendered SVG) and CSV show the numbers that
`flask --app app billing usage --days 30` prints, day by day and action by action."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest

from wx_backend.billing.chart import usage_csv
from wx_backend.merchants.seed import create_approved_merchant
from wx_backend.pipeline import charge

from ..conftest import charged_call
from .test_consoles import login

BAR = re.compile(r'<g id="bar:(\w+):([^:"]+):(\d{4}-\d\d-\d\d):(\d+)">\s*<path d="([^"]+)"')


def bar_height(path_d: str) -> float:
    ys = [float(y) for y in re.findall(r"[ML] [\d.]+ ([\d.]+)", path_d)]
    return max(ys) - min(ys)


def seed_usage(mid: int, clock) -> None:
    """Calls over three Beijing days (one of them 40 days ago, outside the window), a billable call
    that was not charged (its key paid already), and a refused call."""
    start = clock.now()
    clock.set(start - dt.timedelta(days=40))
    charged_call(mid, "photo_verification", "old", "Success", "", now=clock.now(), action="ImageRecognitionV2")
    clock.set(start - dt.timedelta(days=2))
    for i in range(3):
        charged_call(mid, "photo_verification", f"a{i}", "Success", "", now=clock.now(),
                      action="ImageRecognitionV2")
    charged_call(mid, "photo_verification", "a0", "Success", "", now=clock.now(),
                  action="ImageRecognitionV2")          # same key: billable, not charged again
    charged_call(mid, "live_verification", "b1", "FailedOperation.CompareLowSimilarity", "",
                  now=clock.now(), action="DetectAuth")
    clock.set(start)
    charged_call(mid, "photo_verification", "c1", "FailedOperation.ImageBlur", "", now=clock.now(),
                  action="ImageRecognitionV2")
    charge.record_usage(mid, "GetLiveCode", None, "Success", False, "", "rid-1", clock.now())
    charge.record_usage(mid, "=HYPERLINK(1)", None, "InvalidAction", False, "", "rid-2", clock.now())


@pytest.fixture
def merchant(app_ctx, deps, clock):
    approval = create_approved_merchant(deps, uscc="914403001922038216", username="chart",
                                        password="password-123")
    seed_usage(approval.merchant_id, clock)
    return approval.merchant_id


def test_chart_and_csv_show_what_billing_usage_prints(app, merchant):
    result = app.test_cli_runner().invoke(args=["billing", "usage", "--merchant", str(merchant), "--days", "30"])
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    daily = cli["daily"]
    assert len(daily) == 30 and daily[-1]["date"] == "2026-11-30"       # today in Beijing
    busy = {d["date"]: d["actions"] for d in daily if d["actions"]}
    assert busy == {
        "2026-11-28": {"DetectAuth": {"calls": 1, "billable": 1, "charged": 1},
                       "ImageRecognitionV2": {"calls": 4, "billable": 4, "charged": 3}},
        "2026-11-30": {"=HYPERLINK(1)": {"calls": 1, "billable": 0, "charged": 0},
                       "GetLiveCode": {"calls": 1, "billable": 0, "charged": 0},
                       "ImageRecognitionV2": {"calls": 1, "billable": 0, "charged": 0}},
    }
    # The window's totals and the all-time ones (the call 40 days ago) differ as they should.
    assert sum(a["calls"] for d in daily for a in d["actions"].values()) == 8 == cli["calls"] - 1

    c = app.test_client()
    assert login(c, "/merchant", "chart", "password-123").status_code == 302
    page = c.get("/merchant/").get_data(as_text=True)
    assert 'id="usage-chart" src="/merchant/usage.svg"' in page and 'href="/merchant/usage.csv"' in page

    svg = c.get("/merchant/usage.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    bars = {(m, a, d): (int(v), bar_height(path)) for m, a, d, v, path in BAR.findall(svg.get_data(as_text=True))}
    # One bar segment per metric, action and day of the window, each with the CLI's number ...
    actions = sorted({a for acts in busy.values() for a in acts})
    assert len(bars) == 3 * len(actions) * 30
    for day in daily:
        for action in actions:
            for metric in ("calls", "billable", "charged"):
                value, _ = bars[(metric, action, day["date"])]
                assert value == day["actions"].get(action, {}).get(metric, 0)
    # ... and drawn that tall: within a panel, height is proportional to the number.
    per_call = bars[("calls", "ImageRecognitionV2", "2026-11-28")][1] / 4
    assert per_call > 0
    assert bars[("calls", "DetectAuth", "2026-11-28")][1] == pytest.approx(per_call, rel=1e-3)
    assert bars[("calls", "GetLiveCode", "2026-11-29")][1] == 0

    export = c.get("/merchant/usage.csv")
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert {(r["date"], r["action"].lstrip("'")): (int(r["calls"]), int(r["billable_calls"]),
                                                   int(r["charged_calls"])) for r in rows} == {
        (d, a): (m["calls"], m["billable"], m["charged"]) for d, acts in busy.items() for a, m in acts.items()}
    # A request-controlled action name cannot become a spreadsheet formula.
    assert "'=HYPERLINK(1)" in [r["action"] for r in rows]


def test_another_merchant_sees_its_own_chart_only(app, merchant, deps):
    create_approved_merchant(deps, uscc="91110000802100433B", username="other", password="password-123")
    c = app.test_client()
    assert login(c, "/merchant", "other", "password-123").status_code == 302
    assert "ImageRecognitionV2" not in c.get("/merchant/usage.svg").get_data(as_text=True)
    assert c.get("/merchant/usage.csv").get_data(as_text=True).strip() == \
        usage_csv([]).strip()
    assert app.test_client().get("/merchant/usage.svg").status_code == 302      # signed out


def test_days_is_bounded(app, merchant):
    result = app.test_cli_runner().invoke(args=["billing", "usage", "--merchant", str(merchant), "--days", "0"])
    assert result.exit_code == 2
