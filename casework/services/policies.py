"""Clock policies: each stage's target, when its clock warns and whom a breach escalates to.

They are data (`ClockPolicy`): a row without an organisation is the default for all, an
organisation's own row overrides it, and a stage with no row has no clock. Reckoning uses the
working-day calendar (`casework.services.deadlines`) and raises `CalendarMissing` for a year
with no published calendar, as every deadline does."""

from __future__ import annotations

import math
import time as clock
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from casework.choices import ClockUnit
from casework.models import ClockPolicy
from casework.services import deadlines
from casework.services.deadlines import WorkCalendar


@dataclass(frozen=True)
class Policy:
    amount: int
    unit: str
    warn_percent: int | None = 80
    warn_days_before: int | None = 2
    escalate_head_after: int = 0
    escalate_leadership_after: int | None = 5

    @classmethod
    def of(cls, row: ClockPolicy) -> Policy:
        return cls(
            amount=row.amount,
            unit=row.unit,
            warn_percent=row.warn_percent,
            warn_days_before=row.warn_days_before,
            escalate_head_after=row.escalate_head_after,
            escalate_leadership_after=row.escalate_leadership_after,
        )

    @property
    def counts_working_days(self) -> bool:
        return self.unit == ClockUnit.WORKING_DAYS

    def due(self, cal: WorkCalendar, start: datetime) -> datetime:
        """24:00 of the period's last day."""
        if self.unit == ClockUnit.WORKING_DAYS:
            return deadlines.add_working_days(cal, start, self.amount)
        if self.unit == ClockUnit.MONTHS:
            return deadlines.add_months(cal, start, self.amount)
        return deadlines.add_days(cal, start, self.amount)

    def warn_at(self, cal: WorkCalendar, start: datetime, due: datetime) -> datetime | None:
        """When a clock started at `start` and due at `due` warns: at `warn_percent` of its time
        or `warn_days_before` working days before it is due, whichever comes first, and never
        before it starts (a period shorter than the warning warns at once). None: no warning."""
        times = []
        if self.warn_percent:
            if self.unit == ClockUnit.WORKING_DAYS:
                # A share of the working days, counted as whole days: 80 % of 5 is the end of the 4th.
                used = math.floor(self.amount * self.warn_percent / 100)
                times.append(deadlines.add_working_days(cal, start, used) if used >= 1 else start)
            else:
                times.append(start + (due - start) * self.warn_percent / 100)
        if self.warn_days_before is not None:
            times.append(deadlines.back_working_days(cal, due, self.warn_days_before))
        if not times:
            return None
        return max(start, min(times))

    def escalation_at(self, cal: WorkCalendar, due: datetime, level: int) -> datetime | None:
        """When a breached clock escalates to `level` (1: the committee head, 2: leadership),
        counted in working days from the deadline; None: the chain ends before it."""
        if level == 1:
            after = self.escalate_head_after
        elif level == 2 and self.escalate_leadership_after is not None:
            after = self.escalate_head_after + self.escalate_leadership_after
        else:
            return None
        return deadlines.extend_working_days(cal, due, after)


# organisation id → (when read, stage → Policy). Each process keeps what it read for
# MINQING_CALENDAR_CACHE_SECONDS, as it keeps the calendar, so opening a clock costs no query; an
# edit in this process clears it at once (the model's signals).
_READ: dict[int | None, tuple[float, dict[str, Policy]]] = {}


def policies_of(organisation_id: int) -> dict[str, Policy]:
    """The policies in force for an organisation: its own rows over the defaults."""
    hit = _READ.get(organisation_id)
    if hit is not None and clock.monotonic() - hit[0] < settings.MINQING_CALENDAR_CACHE_SECONDS:
        return hit[1]
    found: dict[str, Policy] = {}
    rows = ClockPolicy.objects.filter(organisation_id__isnull=True) | ClockPolicy.objects.filter(
        organisation_id=organisation_id
    )
    for row in sorted(rows, key=lambda r: r.organisation_id is not None):
        found[row.stage] = Policy.of(row)
    _READ[organisation_id] = (clock.monotonic(), found)
    return found


def policy_for(organisation_id: int, stage: str) -> Policy | None:
    return policies_of(organisation_id).get(stage)


def forget_policies(*args: object, **kwargs: object) -> None:
    """A policy changed: read them again (connected to the model's signals)."""
    _READ.clear()
