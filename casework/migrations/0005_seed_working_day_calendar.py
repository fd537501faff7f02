"""Seed the working-day calendar with every year the `chinesecalendar` package knows (2004 to
2026 in 1.11.0): weekday holidays and make-up working weekends, named in Chinese. Later years
come from `manage.py calendar_import` when the State Council publishes them each November."""

from django.db import migrations


def seed(apps, schema_editor):
    import chinese_calendar
    from chinese_calendar.constants import Holiday

    CalendarYear = apps.get_model("casework", "CalendarYear")
    CalendarDay = apps.get_model("casework", "CalendarDay")
    version = getattr(chinese_calendar, "__version__", "")
    years = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
    known = set(CalendarYear.objects.values_list("year", flat=True))
    days = []
    for day, holiday in sorted(chinese_calendar.holidays.items()):
        if day.weekday() < 5 and day.year not in known:
            days.append(CalendarDay(day=day, is_working=False, name=Holiday(holiday).chinese))
    for day, holiday in sorted(chinese_calendar.workdays.items()):
        if day.weekday() >= 5 and day.year not in known:
            days.append(CalendarDay(day=day, is_working=True, name=f"{Holiday(holiday).chinese}调休"))
    CalendarDay.objects.bulk_create(days, ignore_conflicts=True)
    CalendarYear.objects.bulk_create(
        [
            CalendarYear(year=year, source=f"chinesecalendar {version}（据国务院办公厅当年节假日安排通知）".strip())
            for year in years
            if year not in known
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("casework", "0004_working_day_calendar")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
