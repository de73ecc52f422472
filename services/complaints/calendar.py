"""The dealership's business calendar, and the two clocks a complaint can count in.

docs/domain.md: the apology and SLA clocks run in the dealership's opening hours (default
09:00-21:00 local), closed on Chinese public holidays (from the `holidays` package, Spring
Festival included, never a hand-written table) and on the dealership's own closed dates.
`BusinessCalendar.add` finds the moment a number of opening hours after a start has passed;
`BusinessCalendar.hours_between` counts the opening hours between two moments. The
`calendar` clock counts every hour. Pure: no I/O, no clock reads; this is the only place
that knows the calendar (readers show what complaints recorded with it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from events.recorded import ComplaintClock

SEARCH_DAYS = 2 * 366  # a calendar with no opening hour in two years is a settings mistake


@lru_cache(maxsize=32)
def public_holidays(year: int) -> frozenset[date]:
    """China's public holidays (days off in lieu included) in `year`."""
    return frozenset(holidays.country_holidays("CN", years=year))


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours per weekday (Monday first; None: closed that weekday), the closed
    dates, and the time zone they are read in."""

    timezone: str
    hours: tuple[tuple[time, time] | None, ...]
    closed_dates: frozenset[date] = frozenset()
    closed_on_public_holidays: bool = True

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise ValueError("opening hours name the seven weekdays, Monday first")
        if all(span is None for span in self.hours):
            raise ValueError("the dealership opens on no weekday")
        for span in self.hours:
            if span is not None and not span[0] < span[1]:
                raise ValueError(
                    f"opening hours {span[0]}-{span[1]}: it must open before it closes"
                )
        ZoneInfo(self.timezone)  # an unknown zone fails here, at start-up

    def closed_on(self, day: date) -> bool:
        return (
            self.hours[day.weekday()] is None
            or day in self.closed_dates
            or (self.closed_on_public_holidays and day in public_holidays(day.year))
        )

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening hours as UTC instants (None: closed all day)."""
        span = self.hours[day.weekday()]
        if span is None or self.closed_on(day):
            return None
        zone = ZoneInfo(self.timezone)
        opens, closes = (datetime.combine(day, at, tzinfo=zone) for at in span)
        return opens.astimezone(UTC), closes.astimezone(UTC)

    def _open_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The opening spans from `start` on, the first one cut at `start`."""
        day = start.astimezone(ZoneInfo(self.timezone)).date()  # spans end on their own day
        for _ in range(SEARCH_DAYS):
            span = self.opening(day)
            day += timedelta(days=1)
            if span is None or span[1] <= start:
                continue
            yield max(span[0], start), span[1]
        raise ValueError(f"no opening hours within {SEARCH_DAYS} days of {start.isoformat()}")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of opening hours after `start`, in local time. A count that
        ends exactly at closing time is due at closing time, not at the next opening."""
        left = duration
        for opens, closes in self._open_from(start):
            if left <= closes - opens:
                return (opens + left).astimezone(ZoneInfo(self.timezone))
            left -= closes - opens
        raise AssertionError("unreachable: _open_from raises first")  # pragma: no cover

    def hours_between(self, start: datetime, end: datetime) -> float:
        """Opening hours from `start` to `end` (0 when `end` is not after `start`)."""
        total = timedelta(0)
        if end > start:
            for opens, closes in self._open_from(start):
                if opens >= end:
                    break
                total += min(closes, end) - opens
        return total.total_seconds() / 3600


def calendar_hours(start: datetime, end: datetime) -> float:
    """Every hour from `start` to `end` (0 when `end` is not after `start`)."""
    return max(0.0, (end - start).total_seconds() / 3600)


@dataclass(frozen=True)
class ComplaintClocks:
    """The clock a complaint's due times run in (`clock`), over the dealership's calendar.
    Elapsed times are reported in both clocks whichever one the due times use."""

    clock: ComplaintClock
    calendar: BusinessCalendar

    def due(self, start: datetime, duration: timedelta) -> datetime:
        """When `duration` has passed since `start`, counted in `clock`."""
        if self.clock == "business":
            return self.calendar.add(start, duration)
        return start + duration

    def elapsed(self, start: datetime, end: datetime) -> tuple[float, float]:
        """(every hour, opening hours) from `start` to `end`."""
        return calendar_hours(start, end), self.calendar.hours_between(start, end)
