"""Entering a year's notice: the 2026 notice, as docs/calendar-2026.toml gives it, stores exactly
the days the seed migration took from the maintained package; a malformed notice changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from casework.models import CalendarDay, CalendarYear

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "calendar-2026.toml"


def days_of(year: int) -> list[tuple[date, bool, str]]:
    return list(CalendarDay.objects.filter(day__year=year).order_by("day").values_list("day", "is_working", "name"))


def test_the_2026_notice_stores_what_the_seed_stored(db):
    seeded = days_of(2026)
    assert (date(2026, 2, 28), True, "春节调休") in seeded

    call_command("calendar_import", str(EXAMPLE))

    # The same days, worked or not (the package names 清明节 "清明"; the notice's words win).
    assert [(d, w) for d, w, _n in days_of(2026)] == [(d, w) for d, w, _n in seeded]
    assert (date(2026, 4, 6), False, "清明节") in days_of(2026)
    assert CalendarYear.objects.get(year=2026).source == "国务院办公厅关于2026年部分节假日安排的通知"


def test_a_new_year_is_entered_and_a_bad_notice_changes_nothing(db, tmp_path):
    notice = tmp_path / "2027.toml"
    notice.write_text(
        'year = 2027\nsource = "国务院办公厅关于2027年部分节假日安排的通知"\n'
        '[[period]]\nname = "元旦"\noff = [2027-01-01, 2027-01-03]\nwork = []\n'
        '[[period]]\nname = "春节"\noff = [2027-02-06, 2027-02-14]\nwork = [2027-02-20]\n',
        encoding="utf-8",
    )
    call_command("calendar_import", str(notice))
    assert CalendarYear.objects.filter(year=2027).exists()
    assert (date(2027, 2, 8), False, "春节") in days_of(2027) and (date(2027, 2, 20), True, "春节调休") in days_of(2027)

    before = days_of(2027)
    notice.write_text(notice.read_text(encoding="utf-8").replace("2027-02-20", "2027-02-22"), encoding="utf-8")
    with pytest.raises(CommandError, match="不是周末"):
        call_command("calendar_import", str(notice))
    assert days_of(2027) == before
