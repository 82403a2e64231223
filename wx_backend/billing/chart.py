"""The console's picture of usage: an SVG drawn on the server with matplotlib, and the same numbers as
CSV. Both take ``usage.daily_usage``'s list, so they show what ``billing usage --days N`` prints.

The chart has one panel per metric (calls, billable calls, charged calls), days along x, a bar per day
stacked by action. Each bar segment carries an SVG id ``bar:<metric>:<action>:<date>:<value>`` so that
a test (or a screen reader tool) can read the figure's numbers back. Text stays text in the SVG
(``svg.fonttype: none``): the browser draws the Chinese titles with its own fonts.
"""
from __future__ import annotations

import csv
import io
import warnings

from .usage import METRICS

PANEL_TITLES = {"calls": "调用次数", "billable": "计费结果次数", "charged": "扣费次数"}
CSV_HEADER = ("date", "action", "calls", "billable_calls", "charged_calls")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def actions_of(daily: list[dict]) -> list[str]:
    return sorted({a for day in daily for a in day["actions"]})


def usage_svg(daily: list[dict], *, title: str = "") -> str:
    """The chart as an SVG document (str)."""
    # pyplot keeps global figures and is not thread-safe; a bare Figure on the SVG canvas is neither.
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    dates = [d["date"] for d in daily]
    actions = actions_of(daily)
    x = range(len(dates))
    rc = {"svg.fonttype": "none", "svg.hashsalt": "wxfaceid-usage", "font.size": 9,
          "font.family": ["sans-serif"],
          "font.sans-serif": ["PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei",
                              "Noto Sans CJK SC", "DejaVu Sans"]}
    with rc_context(rc), warnings.catch_warnings():
        # Glyph-width warnings for Chinese text with no CJK font on the server: the browser draws it.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
        warnings.filterwarnings("ignore", message=r"findfont")
        fig = Figure(figsize=(9, 6.4), layout="constrained")
        FigureCanvasSVG(fig)
        axes = fig.subplots(len(METRICS), 1, sharex=True)
        colours = {a: f"C{i % 10}" for i, a in enumerate(actions)}
        for ax, metric in zip(axes, METRICS):
            bottom = [0] * len(dates)
            for action in actions:
                values = [d["actions"].get(action, {}).get(metric, 0) for d in daily]
                bars = ax.bar(x, values, bottom=bottom, color=colours[action], width=0.75,
                              label=action if metric == METRICS[0] else None)
                for bar, day, value in zip(bars, dates, values):
                    bar.set_gid(f"bar:{metric}:{action}:{day}:{value}")
                bottom = [b + v for b, v in zip(bottom, values)]
            ax.set_title(PANEL_TITLES[metric], loc="left")
            ax.set_ylim(0, max(max(bottom, default=0), 1) * 1.15)
            ax.yaxis.get_major_locator().set_params(integer=True)
            ax.grid(axis="y", alpha=0.3)
            ax.spines[["top", "right"]].set_visible(False)
        step = max(1, len(dates) // 10)
        axes[-1].set_xticks(list(x)[::step], [d[5:] for d in dates][::step])
        if actions:
            axes[0].legend(loc="upper left", ncols=min(4, len(actions)), frameon=False, fontsize=8)
        else:
            axes[0].text(0.5, 0.5, "暂无调用", transform=axes[0].transAxes, ha="center", va="center")
        if title:
            fig.suptitle(title)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (action names come from requests)."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def usage_csv(daily: list[dict]) -> str:
    """date, action, calls, billable_calls, charged_calls: one row per day and action with calls."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for day in daily:
        for action, m in sorted(day["actions"].items()):
            writer.writerow([day["date"], _cell(action), m["calls"], m["billable"], m["charged"]])
    return buf.getvalue()
