"""Deadline arithmetic on the real calendars (seeded from the published notices) and its laws."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.models import CalendarDay, CalendarYear
from casework.services.deadlines import (
    SHANGHAI,
    CalendarMissing,
    WorkCalendar,
    add_days,
    add_months,
    add_working_days,
    last_day,
    local_day,
    working_days_between,
    working_days_left,
    working_time_between,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# The published notices, as the seed migration stored them (chinesecalendar 1.11.0).
@pytest.fixture
def cal(db) -> WorkCalendar:
    return WorkCalendar()


@pytest.mark.parametrize(
    ("start", "days", "last"),
    [
        ("2025-09-30 16:00", 5, "2025-10-14"),  # National Day 1–8 Oct off; Sat 11 Oct worked
        ("2026-02-13 09:00", 3, "2026-02-25"),  # Spring Festival 15–23 Feb off; Sat 14 Feb worked
        ("2026-02-13 09:00", 1, "2026-02-14"),  # …so the first working day after Friday is Saturday
        ("2025-04-25 10:00", 2, "2025-04-28"),  # Labour Day: Sun 27 Apr worked
        ("2026-04-30 10:00", 4, "2026-05-09"),  # Labour Day 1–5 May off; Sat 9 May worked
        ("2025-12-31 10:00", 1, "2026-01-04"),  # New Year 1–3 Jan 2026 off; Sun 4 Jan worked
        ("2025-12-31 10:00", 3, "2026-01-06"),
        ("2026-11-27 10:00", 5, "2026-12-04"),  # an ordinary week
    ],
)
def test_working_days_on_the_real_calendars(cal, start, days, last):
    due = add_working_days(cal, at(start), days)
    assert due == at(last) + timedelta(days=1)  # 24:00 of the last day
    assert last_day(due) == date.fromisoformat(last)


def test_make_up_saturdays_and_weekday_holidays(cal):
    assert cal.is_working(date(2026, 2, 28))  # a Saturday, worked for the Spring Festival
    assert not cal.is_working(date(2026, 2, 16))  # a Monday of the Spring Festival
    assert cal.is_working(date(2025, 9, 28)) and cal.is_working(date(2025, 10, 11))
    assert not cal.is_working(date(2025, 10, 8))
    assert not cal.is_working(date(2026, 11, 28))  # an ordinary Saturday


@pytest.mark.parametrize(
    ("start", "months", "last"),
    [
        ("2025-11-30 10:00", 3, "2026-02-28"),  # no 30 Feb: the month's last day, a worked Saturday
        ("2026-01-15 10:00", 1, "2026-02-24"),  # 15 Feb is in the Spring Festival: the day after it
        ("2025-07-01 10:00", 3, "2025-10-09"),  # 1 Oct and the whole week off: 9 Oct
        ("2026-03-31 10:00", 3, "2026-06-30"),  # corresponding day, a Tuesday
        ("2026-05-31 10:00", 6, "2026-11-30"),  # a six-month ceiling, 31 → 30
    ],
)
def test_months_follow_the_civil_code(cal, start, months, last):
    assert last_day(add_months(cal, at(start), months)) == date.fromisoformat(last)


def test_days_that_end_on_a_rest_day_roll_to_the_next_working_day(cal):
    assert last_day(add_days(cal, at("2025-09-20 10:00"), 15)) == date(2025, 10, 9)  # 5 Oct is off
    assert last_day(add_days(cal, at("2026-11-20 10:00"), 14)) == date(2026, 12, 4)


def test_a_year_with_no_published_calendar_is_an_error_not_a_guess(cal):
    CalendarYear.objects.get_or_create(year=2097, defaults={"source": "测试：只有周末"})
    with pytest.raises(CalendarMissing) as missing:
        add_working_days(cal, at("2097-12-28 10:00"), 5)  # reaches 2098, which has no notice
    assert missing.value.code == "calendar_missing" and missing.value.details == {"year": 2098}
    assert "2098 年的节假日安排尚未录入" in str(missing.value.message)

    CalendarYear.objects.create(year=2098, source="国务院办公厅关于2098年部分节假日安排的通知")
    CalendarDay.objects.create(day=date(2098, 1, 1), is_working=False, name="元旦")
    assert last_day(add_working_days(WorkCalendar(), at("2097-12-28 10:00"), 5)) == date(2098, 1, 6)


def test_remaining_and_overdue_working_days(cal):
    due = add_working_days(cal, at("2026-02-12 09:00"), 3)  # Fri 13, Sat 14 (worked), Tue 24
    assert last_day(due) == date(2026, 2, 24)
    assert working_days_left(cal, at("2026-02-12 15:00"), due) == 3
    assert working_days_left(cal, at("2026-02-14 15:00"), due) == 1  # the holiday week is not counted
    assert working_days_left(cal, at("2026-02-24 23:59"), due) == 0  # ends today
    assert working_days_left(cal, at("2026-02-25 08:00"), due) == -1
    assert working_days_left(cal, at("2026-03-02 08:00"), due) == -5


def test_working_time_skips_the_holiday_week(cal):
    assert working_time_between(cal, at("2026-02-13 12:00"), at("2026-02-24 12:00")) == timedelta(days=2)


# Laws, on every day the seeded calendars know ---------------------------------------------------


def moments_until(last: date) -> st.SearchStrategy[datetime]:
    return st.builds(
        lambda day, seconds: datetime.combine(day, time.min, tzinfo=SHANGHAI) + timedelta(seconds=seconds),
        st.dates(min_value=date(2004, 1, 1), max_value=last),
        st.integers(min_value=0, max_value=86399),
    )


# Starting early enough that the longest period still ends within the known years (to 2026).
moments = moments_until(date(2026, 10, 31))


@pytest.fixture(scope="module")
def real() -> WorkCalendar:
    """The published calendars the seed migration stores, read straight from the package into
    memory for the property tests (the database's copy is checked against them above)."""
    import chinese_calendar

    years: dict[int, dict[date, bool]] = {}
    for day in chinese_calendar.holidays:
        years.setdefault(day.year, {})[day] = False
    for day in chinese_calendar.workdays:
        if day.weekday() >= 5:
            years.setdefault(day.year, {})[day] = True
    return WorkCalendar.of(years)


def test_the_database_holds_the_published_calendars(real, cal):
    for year in (2004, 2015, 2025, 2026):
        for day in (date(year, 1, 1) + timedelta(days=i) for i in range(365)):
            assert cal.is_working(day) == real.is_working(day), day


@settings(max_examples=300, deadline=None)
@given(start=moments, days=st.integers(min_value=1, max_value=40))
def test_adding_working_days_then_counting_them_gives_them_back(real, start, days):
    due = add_working_days(real, start, days)
    assert due.timetz() == time(0, tzinfo=SHANGHAI)  # always 24:00 of a day, never odd minutes
    assert real.is_working(last_day(due))
    assert working_days_between(real, local_day(start), last_day(due)) == days


@settings(max_examples=300, deadline=None)
@given(start=moments, days=st.integers(min_value=1, max_value=40))
def test_more_working_days_end_later(real, start, days):
    assert add_working_days(real, start, days) < add_working_days(real, start, days + 1)


@settings(max_examples=300, deadline=None)
@given(start=moments_until(date(2026, 5, 31)), months=st.integers(min_value=1, max_value=6))
def test_a_month_period_ends_on_its_day_or_the_first_working_day_after(real, start, months):
    last = last_day(add_months(real, start, months))
    first = local_day(start)
    assert real.is_working(last)
    index = first.month - 1 + months
    year, month = first.year + index // 12, index % 12 + 1
    corresponding = min(first.day, (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day)
    nominal = date(year, month, corresponding)
    assert last >= nominal
    assert all(not real.is_working(nominal + timedelta(days=i)) for i in range((last - nominal).days))


@settings(max_examples=200, deadline=None)
@given(a=moments, b=moments, c=moments)
def test_working_time_adds_up(real, a, b, c):
    a, b, c = sorted((a, b, c))
    assert working_time_between(real, a, c) == working_time_between(real, a, b) + working_time_between(real, b, c)
    assert working_time_between(real, a, c) <= c - a
