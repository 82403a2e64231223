"""Review deadlines in working days.

Rule: the deadline is the end of the 3rd working day after the day of submission, where the day of
submission is the calendar date in Asia/Shanghai (an application sent at 23:30 Beijing time on Friday
counts as a Friday submission) and does not count itself, whatever the hour. Working days are Monday to
Friday minus the configured holidays (Settings.holidays). So: Monday -> Thursday; Friday -> Wednesday;
Saturday or Sunday -> Wednesday; a holiday on the way pushes the deadline one working day further.

Not modelled: the official make-up working weekends (调休); add them as a separate calendar if needed.
An application is overdue once the Beijing date is past its deadline while it is still pending.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable
from zoneinfo import ZoneInfo

REVIEW_WORKING_DAYS = 3
BEIJING = ZoneInfo("Asia/Shanghai")


def local_date(when: dt.datetime) -> dt.date:
    """The Beijing calendar date of an aware datetime (naive values are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(BEIJING).date()


def is_working_day(day: dt.date, holidays: Iterable[dt.date] = ()) -> bool:
    return day.weekday() < 5 and day not in set(holidays)


def add_working_days(start: dt.date, days: int, holidays: Iterable[dt.date] = ()) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself never counts)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    off = frozenset(holidays)
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day, off):
            left -= 1
    return day


def review_deadline(submitted_at: dt.datetime, holidays: Iterable[dt.date] = ()) -> dt.date:
    return add_working_days(local_date(submitted_at), REVIEW_WORKING_DAYS, holidays)


def is_overdue(deadline: dt.date, now: dt.datetime) -> bool:
    return local_date(now) > deadline
