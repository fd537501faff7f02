"""`manage.py calendar_import FILE`: enter a year's holidays from the State Council's notice.

The file (TOML) gives the year, the notice and each holiday period: its first and last day off
and the weekend days worked instead (see docs/calendar-2026.toml). The import checks the notice
against itself (a make-up working day must be a weekend, a period must lie within its year's
reach) and replaces that year's days in one transaction; `--dry-run` shows what it would store."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from casework.models import CalendarDay, CalendarYear
from casework.services.deadlines import forget_calendar


def _days(notice: dict[str, Any]) -> tuple[int, list[CalendarDay]]:
    year = notice.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise CommandError("year：应为年份，如 2027")
    days: dict[date, CalendarDay] = {}
    for period in notice.get("period", []):
        name = str(period.get("name", "")).strip()
        off, work = period.get("off", []), period.get("work", [])
        if not name or len(off) != 2 or not all(isinstance(d, date) for d in [*off, *work]):
            raise CommandError(f"{name or '?'}：每个假期需有 name、off = [首日, 末日] 和 work = [调休上班日…]")
        first, last = off
        if last < first or (last - first).days > 15 or abs(first.year - year) > 1:
            raise CommandError(f"{name}：放假起止日期有误（{first} 至 {last}）")
        day = first
        while day <= last:
            if day.weekday() < 5:  # a weekend off is a weekend: nothing to store
                days[day] = CalendarDay(day=day, is_working=False, name=name)
            day += timedelta(days=1)
        for worked in work:
            if worked.weekday() < 5:
                raise CommandError(f"{name}：调休上班日 {worked} 不是周末")
            days[worked] = CalendarDay(day=worked, is_working=True, name=f"{name}调休")
    return year, sorted(days.values(), key=lambda d: d.day)


class Command(BaseCommand):
    help = "按国务院办公厅当年节假日安排通知录入节假日和调休（TOML 文件，见 docs/calendar-2026.toml）。"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="只显示将录入的日期，不保存")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            notice = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise CommandError(f"无法读取 {path}：{error}") from None
        year, days = _days(notice)
        for day in days:
            kind = "上班" if day.is_working else "放假"
            self.stdout.write(f"  {day.day:%Y-%m-%d} 周{'一二三四五六日'[day.day.weekday()]} {kind} {day.name}")
        if options["dry_run"]:
            self.stdout.write(f"{year} 年：{len(days)} 天（试运行，未保存）")
            return
        with transaction.atomic():
            reach = [d.day for d in days]
            # A year's notice replaces that year's days (and the days of its periods that fall in
            # the neighbouring year, which the notice also rules).
            CalendarDay.objects.filter(day__year=year).delete()
            CalendarDay.objects.filter(day__in=reach).delete()
            CalendarDay.objects.bulk_create(days)
            CalendarYear.objects.update_or_create(
                year=year,
                defaults={"source": str(notice.get("source", ""))[:200], "published_on": notice.get("published_on")},
            )
        forget_calendar()
        self.stdout.write(self.style.SUCCESS(f"{year} 年节假日安排已录入：{len(days)} 天"))
