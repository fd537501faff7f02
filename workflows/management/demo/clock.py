"""Time in the demo: each step of the seeded history runs at its planned moment (`SimulatedNow`),
and the moments are planned in office hours for staff and any day for members (`Calendar`)."""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")


class SimulatedNow:
    """While active, `django.utils.timezone.now` (and every copy of it another module took with
    `from django.utils.timezone import now`, and every model field defaulting to it) returns
    `self.at`. The domain code reads only that clock, so each step of the seeded history is
    recorded at its planned moment."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self._original = timezone.now
        self._modules: list[tuple[Any, str]] = []
        self._fields: list[Any] = []

    def now(self) -> datetime:
        return self.at

    def __enter__(self) -> SimulatedNow:
        original = self._original
        for module in list(sys.modules.values()):
            namespace = getattr(module, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            for name, value in list(namespace.items()):
                if value is original:
                    self._modules.append((module, name))
        for model in apps.get_models():
            for f in model._meta.concrete_fields:
                if f.default is original:
                    self._fields.append(f)
        for module, name in self._modules:
            setattr(module, name, self.now)
        for f in self._fields:
            f.default = self.now
            f.__dict__.pop("_get_default", None)  # a cached_property holding the default callable
        return self

    def __exit__(self, *exc: object) -> None:
        for module, name in self._modules:
            setattr(module, name, self._original)
        for f in self._fields:
            f.default = self._original
            f.__dict__.pop("_get_default", None)


def _working_day(day: date) -> bool:
    return day.weekday() < 5


@dataclass
class Calendar:
    """Planned moments: office hours on working days for staff, any day and evening for members."""

    rng: random.Random
    cap: datetime  # nothing is planned after this (a little before the real now)

    def _at(self, day: date, start: time, end: time) -> datetime:
        lo = start.hour * 60 + start.minute
        hi = end.hour * 60 + end.minute
        minute = self.rng.randint(lo, hi)
        return datetime.combine(day, time(minute // 60, minute % 60, self.rng.randint(0, 59)), tzinfo=SHANGHAI)

    def day_before_cap(self, days_lo: float, days_hi: float) -> datetime:
        """A member's moment between `days_hi` and `days_lo` days before the cap."""
        moment = self.cap - timedelta(days=self.rng.uniform(days_lo, days_hi))
        return self._at(moment.astimezone(SHANGHAI).date(), time(7, 30), time(21, 30))

    def staff(self, after: datetime, lo: int, hi: int) -> datetime:
        """Office hours, `lo`..`hi` working days after `after` (0 = later the same working day if possible)."""
        days = self.rng.randint(lo, hi)
        day = after.astimezone(SHANGHAI).date()
        while days > 0 or not _working_day(day):
            day += timedelta(days=1)
            if _working_day(day):
                days -= 1
        moment = self._at(day, time(8, 40), time(17, 20))
        if moment <= after:
            moment = after + timedelta(minutes=self.rng.randint(20, 150))
        return moment

    def member(self, after: datetime, lo: float, hi: float) -> datetime:
        moment = after + timedelta(days=self.rng.uniform(lo, hi))
        moment = self._at(moment.astimezone(SHANGHAI).date(), time(7, 30), time(21, 30))
        if moment <= after:
            moment = after + timedelta(minutes=self.rng.randint(30, 240))
        return moment
