"""The business calendar and the two clocks (docs/complaints.md "Clocks"), as pure tests:
the calendar on its own, then the due times complaints records at filing with it.

Local times are Asia/Shanghai (the default). By default the dealership opens 09:00-21:00
every day and closes on China's public holidays (the `holidays` package): Spring Festival
2027 is closed from its eve, Friday 5 February, to Wednesday 10 February.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from complaints_support import recorded
from pydantic import ValidationError

from services.complaints.calendar import public_holidays
from services.complaints.rules import decide
from services.complaints.settings import ComplaintSettings, Policy

CN = ZoneInfo("Asia/Shanghai")
BUSINESS, CALENDAR = Policy(), Policy(clock="calendar")
WEEKDAYS_ONLY = Policy(opening_hours={"sat": None, "sun": None})

FRIDAY_NIGHT = datetime(2026, 3, 13, 23, 30, tzinfo=CN)
SPRING_FESTIVAL_EVE_NIGHT = datetime(2027, 2, 5, 23, 30, tzinfo=CN)
TUESDAY_NIGHT = datetime(2026, 3, 10, 23, 30, tzinfo=CN)
TUESDAY_AFTERNOON = datetime(2026, 3, 10, 14, 0, tzinfo=CN)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CN)


def clocks_at_filing(policy: Policy, at: datetime, severity: str = "medium") -> Any:
    """The ComplaintClockSet complaints records for a complaint filed at `at`."""
    event = recorded("ComplaintFiled", occurred_at=at.isoformat(), severity=severity)
    (clocks,) = decide(None, event, policy).decisions
    return clocks


def test_the_calendar_knows_spring_festival_2027_from_the_holidays_package() -> None:
    closed = public_holidays(2027)
    festival = [date(2027, 2, day) for day in range(5, 11)]  # the eve to the last day off
    assert all(day in closed for day in festival)
    assert date(2027, 2, 11) not in closed
    calendar = BUSINESS.clocks().calendar
    assert [calendar.opening(day) is None for day in festival] == [True] * len(festival)


# -- the apology (1 h) filed at 23:30 -----------------------------------------------------------


def test_sent_at_2330_on_a_friday_the_apology_is_due_at_1000_the_next_opening() -> None:
    assert clocks_at_filing(BUSINESS, FRIDAY_NIGHT).apology_due_at == local("2026-03-14 10:00")
    # A dealership closed at the weekend: Monday morning.
    assert clocks_at_filing(WEEKDAYS_ONLY, FRIDAY_NIGHT).apology_due_at == local("2026-03-16 10:00")
    # Counting every hour, it was due half past midnight.
    assert clocks_at_filing(CALENDAR, FRIDAY_NIGHT).apology_due_at == local("2026-03-14 00:30")


def test_sent_at_2330_on_the_eve_of_spring_festival_2027_it_waits_for_the_reopening() -> None:
    business = clocks_at_filing(BUSINESS, SPRING_FESTIVAL_EVE_NIGHT)
    assert business.apology_due_at == local("2027-02-11 10:00")  # Thursday, open again
    # 48 opening hours: 11, 12, 13 and 14 February, 09:00-21:00.
    assert business.sla_due_at == local("2027-02-14 21:00")
    calendar = clocks_at_filing(CALENDAR, SPRING_FESTIVAL_EVE_NIGHT)
    assert calendar.apology_due_at == local("2027-02-06 00:30")
    assert calendar.sla_due_at == local("2027-02-07 23:30")


def test_a_complaint_sent_at_2330_on_a_weekday_is_due_at_1000_the_next_morning() -> None:
    business = clocks_at_filing(BUSINESS, TUESDAY_NIGHT)
    assert business.apology_due_at == local("2026-03-11 10:00")
    assert business.sla_due_at == local("2026-03-14 21:00")  # 11-14 March, 12 h a day
    assert (business.clock, business.apology_within_hours, business.sla_hours) == (
        "business",
        1,
        48,
    )
    calendar = clocks_at_filing(CALENDAR, TUESDAY_NIGHT)
    assert calendar.apology_due_at == TUESDAY_NIGHT + timedelta(hours=1)
    assert calendar.sla_due_at == TUESDAY_NIGHT + timedelta(hours=48)
    assert calendar.clock == "calendar"


def test_within_opening_hours_the_apology_is_due_an_hour_later_in_both_clocks() -> None:
    for policy in (BUSINESS, CALENDAR):
        clocks = clocks_at_filing(policy, TUESDAY_AFTERNOON)
        assert clocks.apology_due_at == local("2026-03-10 15:00")
    # 48 opening hours from 14:00: 7 h on the day, 12 h on each of the next three, 5 h on
    # the fourth.
    assert clocks_at_filing(BUSINESS, TUESDAY_AFTERNOON).sla_due_at == local("2026-03-14 14:00")


# -- counting opening hours ---------------------------------------------------------------------


def test_hours_elapsed_are_counted_in_both_clocks() -> None:
    clocks = BUSINESS.clocks()
    every, opening = clocks.elapsed(FRIDAY_NIGHT, local("2026-03-14 10:00"))
    assert (every, opening) == (10.5, 1.0)
    every, opening = clocks.elapsed(SPRING_FESTIVAL_EVE_NIGHT, local("2027-02-12 09:00"))
    assert every == 6 * 24 + 9.5 and opening == 12.0  # only Thursday 11 February counts
    assert clocks.elapsed(TUESDAY_AFTERNOON, TUESDAY_AFTERNOON - timedelta(hours=1)) == (0, 0)


def test_a_count_that_ends_at_closing_time_is_due_at_closing_time() -> None:
    calendar = BUSINESS.clocks().calendar
    assert calendar.add(local("2026-03-10 09:00"), timedelta(hours=12)) == local("2026-03-10 21:00")
    assert calendar.add(local("2026-03-10 21:00"), timedelta(minutes=1)) == local(
        "2026-03-11 09:01"
    )


def test_the_dealerships_own_closed_dates_and_hours_are_settings_per_dealership() -> None:
    settings = ComplaintSettings(
        dealerships={
            "bj-4s": {
                "closed_dates": ["2026-03-11"],
                "opening_hours": {"thu": "10:00-18:00"},
            }
        }
    )
    own = clocks_at_filing(settings.policy("bj-4s"), TUESDAY_NIGHT)
    assert own.apology_due_at == local("2026-03-12 11:00")  # closed Wednesday, opens at 10
    other = settings.policy("other-4s")
    assert other.opening_hours.wed is not None and other.closed_dates == []
    # The other weekdays keep their hours: an override is merged key by key.
    assert settings.policy("bj-4s").opening_hours.fri == other.opening_hours.fri


def test_the_time_zone_is_a_setting() -> None:
    urumqi = Policy(timezone="Asia/Urumqi")  # UTC+6: opens at 03:00 UTC
    clocks = clocks_at_filing(urumqi, datetime.fromisoformat("2026-03-10T22:00:00+00:00"))
    assert clocks.apology_due_at == datetime.fromisoformat("2026-03-11T04:00:00+00:00")


def test_public_holidays_can_be_kept_open() -> None:
    open_on_holidays = Policy(closed_on_public_holidays=False)
    clocks = clocks_at_filing(open_on_holidays, SPRING_FESTIVAL_EVE_NIGHT)
    assert clocks.apology_due_at == local("2027-02-06 10:00")


@pytest.mark.parametrize(
    "bad",
    [
        {"opening_hours": dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
        {"opening_hours": {"mon": "21:00-09:00"}},
        {"timezone": "Mars/Olympus"},
        {"clock": "lunar"},
    ],
)
def test_a_calendar_that_cannot_work_is_refused_when_the_settings_are_built(
    bad: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError):
        ComplaintSettings(dealerships={"x": bad})
