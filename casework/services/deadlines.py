"""Deadline arithmetic on the Chinese working-day calendar, in one module.

Periods follow the Civil Code (arts. 201–203): the day a period starts on does not count; a
period of months ends on the corresponding day of the last month, or on that month's last day
when it has none; a period whose last day is a rest day (a weekend or a statutory holiday) ends
on the next working day instead; the last day ends at 24:00 Asia/Shanghai. Working days are
Monday to Friday except the published holidays, plus the published make-up working days (调休)
on weekends (`casework.models.CalendarDay`). A day in a year with no published calendar raises
`CalendarMissing`: never a Monday-to-Friday guess."""

from __future__ import annotations

import calendar as gregorian
import time as clock
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from casework.errors import DomainError
from casework.models import CalendarDay, CalendarYear

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)


class CalendarMissing(DomainError):
    code = "calendar_missing"

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            _("%(year)d 年的节假日安排尚未录入，无法计算该年的工作日。请系统管理员录入后重试。") % {"year": year},
            details={"year": year},
        )


# year → (when read, its days that differ from Monday–Friday, or None: not published). Each
# process keeps what it read for MINQING_CALENDAR_CACHE_SECONDS, so reckoning a deadline costs no
# query on the hot path (intake, decisions); an edit in this process clears it at once (the
# models' signals), and reaches the other processes within that many seconds.
_READ: dict[int, tuple[float, dict[date, bool] | None]] = {}


def _read_year(year: int) -> dict[date, bool] | None:
    hit = _READ.get(year)
    if hit is not None and clock.monotonic() - hit[0] < settings.MINQING_CALENDAR_CACHE_SECONDS:
        return hit[1]
    days: dict[date, bool] | None = None
    if CalendarYear.objects.filter(year=year).exists():
        days = dict(CalendarDay.objects.filter(day__year=year).values_list("day", "is_working"))
    _READ[year] = (clock.monotonic(), days)
    return days


def forget_calendar(*args: object, **kwargs: object) -> None:
    """The calendar changed: read it again (connected to the calendar models' signals)."""
    _READ.clear()


class WorkCalendar:
    """Which days are working days, read a year at a time when first asked (see `_read_year`)."""

    def __init__(self, known: dict[int, dict[date, bool]] | None = None) -> None:
        # year → its days that differ from Monday–Friday (True: a make-up working day);
        # None: a year with no published calendar.
        self._years: dict[int, dict[date, bool] | None] = dict(known or {})
        self._load = known is None

    @classmethod
    def of(cls, known: dict[int, dict[date, bool]]) -> WorkCalendar:
        """A calendar of exactly these years (for tests and what-if reckoning)."""
        return cls(known)

    def _exceptions(self, year: int) -> dict[date, bool]:
        if year not in self._years and self._load:
            self._years[year] = _read_year(year)
        exceptions = self._years.get(year)
        if exceptions is None:
            raise CalendarMissing(year)
        return exceptions

    def is_working(self, day: date) -> bool:
        exceptions = self._exceptions(day.year)
        if day in exceptions:
            return exceptions[day]
        return day.weekday() < 5

    def next_working(self, day: date) -> date:
        """`day` if it is a working day, else the first working day after it."""
        while not self.is_working(day):
            day += DAY
        return day


class LenientCalendar(WorkCalendar):
    """A calendar that counts Monday to Friday in a year whose holidays are not published yet.
    For the long limits of the output lifecycles (a reply due in three months, in a year whose
    calendar arrives in November), where refusing to assign a proposal would help nobody."""

    def _exceptions(self, year: int) -> dict[date, bool]:
        try:
            return super()._exceptions(year)
        except CalendarMissing:
            return {}


def local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def end_of(day: date) -> datetime:
    """24:00 of `day` in Asia/Shanghai (stored as 00:00 of the next day)."""
    return datetime.combine(day + DAY, time.min, tzinfo=SHANGHAI)


def last_day(deadline: datetime) -> date:
    """The day a deadline (24:00 of it) ends."""
    return local_day(deadline - timedelta(microseconds=1))


def add_working_days(cal: WorkCalendar, start: datetime, days: int) -> datetime:
    """The end of the `days`-th working day after the day of `start`."""
    if days < 1:
        raise ValueError("a period of working days is at least one day")
    day = local_day(start)
    remaining = days
    while remaining:
        day += DAY
        if cal.is_working(day):
            remaining -= 1
    return end_of(day)


def add_days(cal: WorkCalendar, start: datetime, days: int) -> datetime:
    """The end of the `days`-th day after the day of `start`, or of the next working day when
    that day is a rest day."""
    if days < 1:
        raise ValueError("a period of days is at least one day")
    return end_of(cal.next_working(local_day(start) + days * DAY))


def add_months(cal: WorkCalendar, start: datetime, months: int) -> datetime:
    """The end of the corresponding day `months` later (or that month's last day), or of the
    next working day when that day is a rest day."""
    if months < 1:
        raise ValueError("a period of months is at least one month")
    first = local_day(start)
    index = first.month - 1 + months
    year, month = first.year + index // 12, index % 12 + 1
    day = date(year, month, min(first.day, gregorian.monthrange(year, month)[1]))
    return end_of(cal.next_working(day))


def back_working_days(cal: WorkCalendar, deadline: datetime, days: int) -> datetime:
    """The moment `days` working days before a deadline: the end of the working day that leaves
    exactly that many working days (2 before a Friday deadline: Wednesday 24:00)."""
    day = last_day(deadline)
    while days:
        day -= DAY
        if cal.is_working(day):
            days -= 1
    return end_of(day)


def extend_working_days(cal: WorkCalendar, deadline: datetime, days: int) -> datetime:
    """The end of the `days`-th working day after a deadline's last day (the deadline itself
    for 0)."""
    if days == 0:
        return deadline
    return add_working_days(cal, datetime.combine(last_day(deadline), time.min, tzinfo=SHANGHAI), days)


def working_days_between(cal: WorkCalendar, after: date, through: date) -> int:
    """How many working days there are after `after`, up to and including `through`."""
    count, day = 0, after + DAY
    while day <= through:
        count += cal.is_working(day)
        day += DAY
    return count


def working_time_between(cal: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    """How much of the time from `start` to `end` falls on working days (a working day counts
    from 00:00 to 24:00)."""
    if end <= start:
        return timedelta(0)
    total = timedelta(0)
    day = local_day(start)
    while True:
        day_start = datetime.combine(day, time.min, tzinfo=SHANGHAI)
        day_end = day_start + DAY
        if day_start >= end:
            break
        if cal.is_working(day):
            total += min(end, day_end) - max(start, day_start)
        day += DAY
    return total


def working_days_left(cal: WorkCalendar, now: datetime, deadline: datetime) -> int:
    """Working days left before a deadline, today not counted: 0 when it ends today (or today is
    the last working day before it), negative by the working days it is overdue."""
    today, last = local_day(now), last_day(deadline)
    if last >= today:
        return working_days_between(cal, today, last)
    return -working_days_between(cal, last, today)
