"""The clock sweep: marks each running clock's warning, breach and escalations, once each, and
tells the people concerned.

Run by Celery beat every minute (`workflows.tasks.sla_sweep_task`). Its cost follows the clocks
that are due, not all the clocks: each step reads one partial index that holds only the clocks
still waiting for that mark (`clock_sweep_breach`, `clock_sweep_warn`, `clock_sweep_escalate`),
so a sweep with nothing due reads three empty index ranges.

Exactly once, however many sweeps run and whatever dies: a batch of clocks is marked by one
conditional UPDATE (the mark still unset, re-checked under the row lock; on PostgreSQL the
candidates are taken with SKIP LOCKED, so a second sweep takes the next ones instead of waiting),
and the notifications of that batch are written to the outbox in the same transaction. A sweep
killed half-way rolls its batch back, marks and notifications together, and the next sweep does
it; a batch committed is never done again, because its marks are set. Sending happens later,
from the outbox (`casework.services.notifications`).

The steps, in order: breach (a breach counts as the warning too, so a clock found already
overdue is not first told it is nearly due), warning, escalation. A breach schedules the first
escalation by the clock's policy: the committee head that many working days after the deadline,
then leadership a further number of days later; a deadline whose escalation falls in a year with
no published calendar escalates at once rather than never. Clocks without a due time (their
year's calendar is not published) are never due; they show their error on the case, and the
sweep goes on with the others."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from casework.choices import NotificationKind, Role, Stage
from casework.models import CaseClock, Committee, User
from casework.services import deadlines
from casework.services.deadlines import CalendarMissing, WorkCalendar
from casework.services.notifications import Message, notify_all
from casework.services.policies import policy_for

BATCH = 500


@dataclass
class SweepReport:
    breached: int = 0
    warned: int = 0
    escalated: int = 0
    notifications: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("breached", "warned", "escalated", "notifications", "batches")}


@dataclass(frozen=True)
class _Step:
    kind: str
    set_sql: str  # what the mark sets; %s are `now`
    where_sql: str  # which clocks wait for it; the one %s is `now`
    order: str
    sets_now: int = 1


def _col(name: str) -> str:
    field = CaseClock._meta.get_field(name)
    assert isinstance(field, Field) and field.column
    return connection.ops.quote_name(field.column)


def _steps() -> dict[str, _Step]:
    running = f"{_col('state')} = 'running'"
    return {
        "breach": _Step(
            "breach",
            f"{_col('breached_at')} = %s, {_col('warned_at')} = COALESCE({_col('warned_at')}, %s)",
            f"{running} AND {_col('breached_at')} IS NULL AND {_col('due_at')} IS NOT NULL AND {_col('due_at')} <= %s",
            _col("due_at"),
            sets_now=2,
        ),
        "warn": _Step(
            "warn",
            f"{_col('warned_at')} = %s",
            f"{running} AND {_col('warned_at')} IS NULL AND {_col('warn_at')} IS NOT NULL AND {_col('warn_at')} <= %s",
            _col("warn_at"),
        ),
        "escalate": _Step(
            "escalate",
            f"{_col('escalation_level')} = {_col('escalation_level')} + 1, {_col('next_escalation_at')} = NULL",
            f"{running} AND {_col('next_escalation_at')} IS NOT NULL AND {_col('next_escalation_at')} <= %s",
            _col("next_escalation_at"),
            sets_now=0,
        ),
    }


def _mark(step: _Step, now: datetime, limit: int) -> list[int]:
    """Set the step's mark on up to `limit` clocks that wait for it; the ids of those marked."""
    table = connection.ops.quote_name(CaseClock._meta.db_table)
    pk = connection.ops.quote_name("id")
    at = connection.ops.adapt_datetimefield_value(now)
    pick = f"SELECT {pk} FROM {table} WHERE {step.where_sql} ORDER BY {step.order} LIMIT %s"
    if connection.features.has_select_for_update_skip_locked:
        # A materialised CTE: PostgreSQL may run a LIMIT subquery under IN (…) more than once
        # in a join, and so mark more rows than the limit; the CTE picks once. Its lock re-checks
        # the step's condition on the newest version of each row it takes (and skips a row
        # another sweep holds), so the UPDATE needs no condition of its own, and its ids reach
        # it as an array: looked up by primary key. (Joined to the pick with the condition
        # repeated, the planner took a partial index's range for one row and compared every
        # waiting clock with every picked one: 9 s a batch with 50,000 waiting; 0.02 s so.)
        sql = (
            f"WITH picked AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED) "
            f"UPDATE {table} SET {step.set_sql} WHERE {pk} = ANY(ARRAY(SELECT {pk} FROM picked)) "
            f"RETURNING {pk}"
        )
        params = [at, limit, *([at] * step.sets_now)]
    else:
        # SQLite: one writer at a time, and a subquery that does not depend on the row is run once.
        sql = f"UPDATE {table} SET {step.set_sql} WHERE {pk} IN ({pick}) AND {step.where_sql} RETURNING {pk}"
        params = [*([at] * step.sets_now), at, limit, at]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def sweep(now: datetime | None = None, *, batch: int = BATCH) -> SweepReport:
    """One sweep: every clock due by `now` gets its marks and its notifications."""
    now = now or timezone.now()
    report = SweepReport()
    steps = _steps()
    with translation.override(settings.LANGUAGE_CODE):
        for name, tell in (("breach", _tell_breach), ("warn", _tell_warning), ("escalate", _tell_escalation)):
            while True:
                with transaction.atomic():
                    ids = _mark(steps[name], now, batch)
                    if ids:
                        report.notifications += tell(ids, now)
                if ids:
                    report.batches += 1
                    counter = {"breach": "breached", "warn": "warned", "escalate": "escalated"}[name]
                    setattr(report, counter, getattr(report, counter) + len(ids))
                if len(ids) < batch:
                    break
    return report


# -- whom to tell, and what ---------------------------------------------------------------------

_FIELDS = (
    "id",
    "stage",
    "organisation_id",
    "due_at",
    "escalation_level",
    "assignee_id",
    "queue_id",
    "case_id",
    "case__title",
    "case__committee_id",
    "case__committee__head_id",
    "case__member__user_id",
)


def _clocks(ids: list[int]) -> list[dict]:
    return list(CaseClock.objects.filter(pk__in=ids).order_by("due_at", "id").values(*_FIELDS))


def _active(user_ids: set[int]) -> set[int]:
    return set(User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))


def _queue_staff(committee_ids: set[int]) -> dict[int, list[int]]:
    staff: dict[int, list[int]] = defaultdict(list)
    rows = Committee.staff.through.objects.filter(committee_id__in=committee_ids, user__is_active=True)
    for committee_id, user_id in rows.values_list("committee_id", "user_id"):
        staff[committee_id].append(user_id)
    return staff


def _leaders(organisation_ids: set[int]) -> dict[int, list[int]]:
    leaders: dict[int, list[int]] = defaultdict(list)
    users = User.objects.filter(
        organisation_id__in=organisation_ids, is_active=True, groups__in=Group.objects.filter(name=Role.LEADERSHIP)
    )
    for org_id, user_id in users.values_list("organisation_id", "pk").distinct():
        leaders[org_id].append(user_id)
    return leaders


def _holders(clocks: list[dict]) -> dict[int, list[int]]:
    """Who the task of each clock waits on: its holder; else its queue's staff; else (a member's
    stage) the member."""
    staff = _queue_staff({c["queue_id"] for c in clocks if c["queue_id"] and not c["assignee_id"]})
    members = _active({c["case__member__user_id"] for c in clocks if c["case__member__user_id"]})
    holders = {}
    for c in clocks:
        if c["assignee_id"]:
            holders[c["id"]] = [c["assignee_id"]]
        elif c["queue_id"]:
            holders[c["id"]] = staff.get(c["queue_id"], [])
        elif c["case__member__user_id"] in members:
            holders[c["id"]] = [c["case__member__user_id"]]
        else:
            holders[c["id"]] = []
    return holders


def _line(c: dict) -> str:
    due = deadlines.last_day(c["due_at"]) if c["due_at"] else None
    return _("#%(id)d %(title)s（%(stage)s，%(due)s 24:00 到期）") % {
        "id": c["case_id"],
        "title": c["case__title"],
        "stage": Stage(c["stage"]).label,
        "due": f"{due:%Y-%m-%d}" if due else "—",
    }


def _digests(
    kind: NotificationKind,
    to: dict[int, list[int]],
    clocks: list[dict],
    title: Callable[[dict], str],
    many: Callable[[int], str],
) -> list[Message]:
    """One message per recipient for this batch: the case itself when one, else the list."""
    per_user: dict[int, list[dict]] = defaultdict(list)
    for c in clocks:
        for user_id in dict.fromkeys(to.get(c["id"], [])):
            per_user[user_id].append(c)
    messages = []
    for user_id, mine in per_user.items():
        # The clocks and the level each reached: a batch's marks are set once, so this is too.
        told = ",".join(f"{c['id']}.{c['escalation_level']}" for c in mine)
        key = f"sweep:{kind}:" + hashlib.sha256(told.encode()).hexdigest()[:40]
        messages.append(
            Message(
                recipient_id=user_id,
                organisation_id=mine[0]["organisation_id"],
                kind=kind,
                title=title(mine[0]) if len(mine) == 1 else many(len(mine)),
                body="\n".join(_line(c) for c in mine),
                dedupe_key=key,
                case_id=mine[0]["case_id"] if len(mine) == 1 else None,
            )
        )
    return messages


def _tell_warning(ids: list[int], now: datetime) -> int:
    clocks = _clocks(ids)
    messages = _digests(
        NotificationKind.CLOCK_WARNING,
        _holders(clocks),
        clocks,
        lambda c: _("即将超期：#%(id)d %(title)s") % {"id": c["case_id"], "title": c["case__title"]},
        lambda n: ngettext("%(n)d 件案件即将超期", "%(n)d 件案件即将超期", n) % {"n": n},
    )
    return len(notify_all(messages))


def _tell_breach(ids: list[int], now: datetime) -> int:
    clocks = _clocks(ids)
    _schedule_escalation(clocks, level=1, now=now)
    messages = _digests(
        NotificationKind.CLOCK_BREACH,
        _holders(clocks),
        clocks,
        lambda c: _("已超期：#%(id)d %(title)s") % {"id": c["case_id"], "title": c["case__title"]},
        lambda n: ngettext("%(n)d 件案件已超期", "%(n)d 件案件已超期", n) % {"n": n},
    )
    return len(notify_all(messages))


def _tell_escalation(ids: list[int], now: datetime) -> int:
    clocks = _clocks(ids)
    # escalation_level is already the level just reached.
    heads = _active({c["case__committee__head_id"] for c in clocks if c["case__committee__head_id"]})
    leaders = _leaders({c["organisation_id"] for c in clocks})
    to_head: dict[int, list[int]] = {}
    to_leaders: dict[int, list[int]] = {}
    for c in clocks:
        head = c["case__committee__head_id"]
        if c["escalation_level"] == 1 and head in heads:
            to_head[c["id"]] = [head]
        elif c["escalation_level"] >= 1:
            # Leadership's turn, or the committee has no (active) head: the chain goes on up.
            to_leaders[c["id"]] = leaders.get(c["organisation_id"], [])
    _schedule_escalation(clocks, level=None, now=now)
    messages = _digests(
        NotificationKind.ESCALATION_HEAD,
        to_head,
        clocks,
        lambda c: _("超期提级：#%(id)d %(title)s") % {"id": c["case_id"], "title": c["case__title"]},
        lambda n: ngettext("%(n)d 件超期案件提级至您", "%(n)d 件超期案件提级至您", n) % {"n": n},
    ) + _digests(
        NotificationKind.ESCALATION_LEADERSHIP,
        to_leaders,
        clocks,
        lambda c: _("超期提级：#%(id)d %(title)s") % {"id": c["case_id"], "title": c["case__title"]},
        lambda n: ngettext("%(n)d 件超期案件提级至您", "%(n)d 件超期案件提级至您", n) % {"n": n},
    )
    return len(notify_all(messages))


def _schedule_escalation(clocks: list[dict], *, level: int | None, now: datetime) -> None:
    """Set when each clock escalates next: to `level`, or (None) to the level after the one it
    has just reached."""
    cal = WorkCalendar()
    scheduled = []
    for c in clocks:
        target = level if level is not None else c["escalation_level"] + 1
        policy = policy_for(c["organisation_id"], c["stage"])
        at = None
        if policy is not None and c["due_at"] is not None:
            try:
                at = policy.escalation_at(cal, c["due_at"], target)
            except CalendarMissing:
                at = now
        if at is not None:
            scheduled.append(CaseClock(pk=c["id"], next_escalation_at=at))
    # One statement for the batch, however many different times (a clock resumed by the wall
    # clock has a deadline of its own).
    CaseClock.objects.bulk_update(scheduled, ["next_escalation_at"], batch_size=BATCH)
