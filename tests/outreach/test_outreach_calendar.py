from datetime import UTC, date, datetime, time

from services.outreach.calendar import (
    add_months,
    holiday_date,
    next_anniversary_at,
    next_holiday_at,
    out_of_quiet_hours,
)

TZ = "Asia/Shanghai"
Q = (time(21), time(9))


def test_spring_festival_and_mid_autumn_2027_are_the_lunar_dates() -> None:
    assert holiday_date("Spring Festival", 2027) == date(2027, 2, 6)
    assert holiday_date("Mid-Autumn Festival", 2027) == date(2027, 9, 15)
    assert holiday_date("Spring Festival", 2026) == date(2026, 2, 17)


def test_next_holiday_after_a_date_rolls_into_next_year() -> None:
    after = datetime(2026, 10, 1, tzinfo=UTC)
    found = next_holiday_at("Mid-Autumn Festival", after, time(10), TZ)
    assert found is not None and found.date() == date(2027, 9, 15)


def test_quiet_hours_late_evening_moves_to_next_morning() -> None:
    at = datetime(2026, 1, 27, 14, 0, tzinfo=UTC)  # 22:00 Shanghai
    moved = out_of_quiet_hours(at, TZ, *Q)
    assert moved == datetime(2026, 1, 28, 1, 0, tzinfo=UTC)  # 09:00 Shanghai


def test_quiet_hours_early_morning_moves_to_nine_the_same_day() -> None:
    at = datetime(2026, 1, 26, 22, 0, tzinfo=UTC)  # 06:00 on the 27th Shanghai
    assert out_of_quiet_hours(at, TZ, *Q) == datetime(2026, 1, 27, 1, 0, tzinfo=UTC)


def test_daytime_is_left_alone() -> None:
    at = datetime(2026, 1, 27, 4, 0, tzinfo=UTC)  # 12:00 Shanghai
    assert out_of_quiet_hours(at, TZ, *Q) == at


def test_months_clamp_to_month_end_and_leap_birthdays_land_on_28_feb() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    at = next_anniversary_at(date(2000, 2, 29), datetime(2026, 1, 1, tzinfo=UTC), time(10), TZ)
    assert at.date() == date(2026, 2, 28)
