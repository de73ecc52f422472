"""Dates and local time: quiet hours, months, birthdays and Chinese holidays (lunar included).

Pure functions; holidays come from the `holidays` package, never a hand-written table.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


def local(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz))


def at_local(day: date, when: time, tz: str) -> datetime:
    """`day` at local time `when` in `tz`, as an aware datetime."""
    return datetime.combine(day, when, tzinfo=ZoneInfo(tz))


def in_quiet_hours(at: datetime, tz: str, start: time, end: time) -> bool:
    clock = local(at, tz).time()
    if start <= end:  # e.g. 13:00-14:00
        return start <= clock < end
    return clock >= start or clock < end  # wraps midnight, e.g. 21:00-09:00


def out_of_quiet_hours(at: datetime, tz: str, start: time, end: time) -> datetime:
    """`at`, or the next moment quiet hours end (the first allowed time after it)."""
    if not in_quiet_hours(at, tz, start, end):
        return at
    here = local(at, tz)
    day = here.date()
    if start > end and here.time() >= start:
        day += timedelta(days=1)  # late evening: tomorrow morning
    return at_local(day, end, tz)


def add_months(day: date, months: int) -> date:
    """Calendar months; the 31st becomes the month's last day where needed."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_months_at(at: datetime, months: int, tz: str) -> datetime:
    """`at` plus calendar months, keeping the local time of day."""
    here = local(at, tz)
    return at_local(add_months(here.date(), months), here.time().replace(tzinfo=None), tz)


def anniversary(born: date, year: int) -> date:
    """`born`'s day in `year`; 29 February is kept on 28 February in common years."""
    if born.month == 2 and born.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return born.replace(year=year)


def next_anniversary_at(born: date, after: datetime, when: time, tz: str) -> datetime:
    """The first anniversary of `born` at local `when` strictly after `after`."""
    year = local(after, tz).year
    for candidate in (year, year + 1):
        at = at_local(anniversary(born, candidate), when, tz)
        if at > after:
            return at
    return at_local(anniversary(born, year + 2), when, tz)


@lru_cache(maxsize=64)
def _china(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=year, language="en_US")


@lru_cache(maxsize=256)  # asked for each plan rescheduled: a few names, a few years
def holiday_date(name: str, year: int) -> date | None:
    """The first day of the holiday called `name` (e.g. 'Spring Festival') in `year`."""
    days = [day for day, title in _china(year).items() if name in title and "observed" not in title]
    return min(days) if days else None


@lru_cache(maxsize=256)  # asked at every reschedule: a few names, years and settings
def holiday_at(name: str, year: int, when: time, tz: str) -> datetime | None:
    """Holiday `name`'s first day in `year` at local `when` (None: none that year)."""
    day = holiday_date(name, year)
    return at_local(day, when, tz) if day is not None else None


def next_holiday_at(name: str, after: datetime, when: time, tz: str) -> datetime | None:
    """The next occurrence of holiday `name` at local `when`, strictly after `after`."""
    year = local(after, tz).year
    for candidate in (year, year + 1):
        at = holiday_at(name, candidate, when, tz)
        if at is not None and at > after:
            return at
    return None
