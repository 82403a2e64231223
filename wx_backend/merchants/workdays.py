"""Review deadlines in working days.

Rule: the deadline is the end of the 3rd working day after the day of submission, where the day of
submission is the calendar date in Asia/Shanghai (an application sent at 23:30 Beijing time on Friday
counts as a Friday submission) and does not count itself, whatever the hour. Working days are Monday to
Friday minus the configured holidays (Settings.holidays), plus the official make-up working weekend
days (调休, Settings.makeup_workdays). So: Monday -> Thursday; Friday -> Wednesday; Saturday or Sunday
-> Wednesday; a holiday on the way pushes the deadline one working day further, a make-up Saturday on
the way pulls it one day nearer.
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


def is_working_day(day: dt.date, holidays: Iterable[dt.date] = (),
                   makeup_workdays: Iterable[dt.date] = ()) -> bool:
    """Monday-Friday or a make-up working day, and not a holiday (a date in both lists is a holiday)."""
    if day in set(holidays):
        return False
    return day.weekday() < 5 or day in set(makeup_workdays)


def add_working_days(start: dt.date, days: int, holidays: Iterable[dt.date] = (),
                     makeup_workdays: Iterable[dt.date] = ()) -> dt.date:
    """The date ``days`` working days after ``start`` (``start`` itself never counts)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    off, on = frozenset(holidays), frozenset(makeup_workdays)
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day, off, on):
            left -= 1
    return day


def review_deadline(submitted_at: dt.datetime, holidays: Iterable[dt.date] = (),
                    makeup_workdays: Iterable[dt.date] = ()) -> dt.date:
    return add_working_days(local_date(submitted_at), REVIEW_WORKING_DAYS, holidays, makeup_workdays)


def is_overdue(deadline: dt.date, now: dt.datetime) -> bool:
    return local_date(now) > deadline
