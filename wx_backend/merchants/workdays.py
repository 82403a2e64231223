"""Review deadlines in working days, on China's official calendar.

Rule: the deadline is the end of the 3rd working day after the day of submission, where the day of
submission is the calendar date in Asia/Shanghai (an application sent at 23:30 Beijing time on Friday
counts as a Friday submission) and does not count itself, whatever the hour.

Working days come from the State Council's published schedule as the maintained ``chinesecalendar``
package carries it (public holidays such as 春节 and 国庆 off, make-up working weekend days 调休 on), for
the years it covers. The operator's lists (Settings.holidays / Settings.makeup_workdays, from HOLIDAYS
and MAKEUP_WORKDAYS) override it date by date: a listed holiday is off, a listed make-up day is on (a date
in both lists is a holiday). For a year the package does not cover yet, working days are Monday to
Friday plus those overrides, and start-up warns (``uncovered_years``) so the operator can add them.

So (ordinary weeks): Monday -> Thursday; Friday -> Wednesday; Saturday or Sunday -> Wednesday; a
holiday on the way pushes the deadline one working day further, a make-up Saturday on the way pulls it
one day nearer. An application is overdue once the Beijing date is past its deadline while pending.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Iterable
from zoneinfo import ZoneInfo

import chinese_calendar

REVIEW_WORKING_DAYS = 3
BEIJING = ZoneInfo("Asia/Shanghai")
# How far ahead of today a deadline can reach (3 working days over the longest break, 春节's 9 days).
DEADLINE_HORIZON = dt.timedelta(days=16)


@functools.cache
def official_years() -> range:
    """The years chinesecalendar has the State Council's schedule for (e.g. 2004..2026)."""
    years = {d.year for d in chinese_calendar.holidays}
    return range(min(years), max(years) + 1)


def local_date(when: dt.datetime) -> dt.date:
    """The Beijing calendar date of an aware datetime (naive values are taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(BEIJING).date()


@dataclass(frozen=True)
class WorkCalendar:
    """The official calendar with the operator's overrides on top. ``official=False``: Monday to Friday
    plus the overrides only (what a year the package does not cover gets anyway)."""

    holidays: frozenset[dt.date] = frozenset()
    makeup_workdays: frozenset[dt.date] = frozenset()
    official: bool = True

    @classmethod
    def from_settings(cls, settings) -> "WorkCalendar":
        return cls(frozenset(settings.holidays), frozenset(settings.makeup_workdays))

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        if day in self.makeup_workdays:
            return True
        if self.official and day.year in official_years():
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (``start`` itself never counts)."""
        if days < 1:
            raise ValueError("days must be at least 1")
        day, left = start, days
        while left:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def review_deadline(self, submitted_at: dt.datetime) -> dt.date:
        return self.add_working_days(local_date(submitted_at), REVIEW_WORKING_DAYS)

    def uncovered_years(self, today: dt.date) -> list[int]:
        """Years a deadline computed today can fall in that the official calendar does not cover."""
        covered = official_years() if self.official else range(0)
        years = sorted({today.year, (today + DEADLINE_HORIZON).year})
        return [y for y in years if y not in covered]

    def coverage_warnings(self, today: dt.date) -> list[str]:
        """What start-up should warn about: each uncovered year, and whether overrides exist for it."""
        out = []
        for year in self.uncovered_years(today):
            listed = sum(1 for d in self.holidays | self.makeup_workdays if d.year == year)
            out.append(
                f"chinesecalendar {chinese_calendar.__version__} has no official holidays for {year} "
                f"(it covers {official_years().start}-{official_years().stop - 1}): review deadlines in "
                f"{year} count Monday-Friday plus HOLIDAYS/MAKEUP_WORKDAYS ({listed} dates listed for "
                f"{year}); set them from the State Council's notice or upgrade chinesecalendar")
        return out


def is_working_day(day: dt.date, holidays: Iterable[dt.date] = (),
                   makeup_workdays: Iterable[dt.date] = ()) -> bool:
    return WorkCalendar(frozenset(holidays), frozenset(makeup_workdays)).is_working_day(day)


def review_deadline(submitted_at: dt.datetime, holidays: Iterable[dt.date] = (),
                    makeup_workdays: Iterable[dt.date] = (), *, official: bool = True) -> dt.date:
    return WorkCalendar(frozenset(holidays), frozenset(makeup_workdays), official).review_deadline(submitted_at)


def is_overdue(deadline: dt.date, now: dt.datetime) -> bool:
    return local_date(now) > deadline
