"""Stage clocks (DOMAIN.md §5). A clock starts when a stage's task opens and stops when it closes.

Working days here skip weekends only; the statutory holiday calendar (调休 as data) arrives with
the SLA issue (ROADMAP.md 1) and replaces `add_working_days` without changing its callers."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from casework.choices import DEFAULT_SLA_TARGETS, ClockState, Stage
from casework.models import Case, CaseClock, User

SHANGHAI = ZoneInfo("Asia/Shanghai")


def add_working_days(start: datetime, days: int) -> datetime:
    """Civil Code art. 201: the start day does not count; the deadline is the end (24:00) of
    the last working day."""
    day = start.astimezone(SHANGHAI).date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI)


def add_days(start: datetime, days: int) -> datetime:
    day = start.astimezone(SHANGHAI).date() + timedelta(days=days)
    while day.weekday() >= 5:  # a deadline on a rest day rolls to the next working day
        day += timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI)


def due_for(case: Case, stage: str, start: datetime) -> datetime:
    targets = case.organisation.sla_targets or {}
    target = targets.get(stage) or DEFAULT_SLA_TARGETS[stage]
    if "working_days" in target:
        return add_working_days(start, int(target["working_days"]))
    return add_days(start, int(target["days"]))


def clock_task_opened(
    *, case: Case, stage: Stage, task_id: int, queue_id: int | None = None, assignee: User | None = None
) -> CaseClock:
    """A task of `stage` opened: resume the stage's paused clock (the review clock after needs
    info) or start a new one."""
    now = timezone.now()
    paused = None
    # Only a case that was asked for more information can have a paused review clock.
    if stage == Stage.REVIEW and case.info_request:
        paused = CaseClock.objects.filter(case=case, stage=stage, state=ClockState.PAUSED).first()
    if paused is not None:
        assert paused.paused_at is not None
        pause = now - paused.paused_at
        paused.paused_seconds += int(pause.total_seconds())
        paused.due_at = paused.due_at + pause
        paused.paused_at = None
        paused.state = ClockState.RUNNING
        paused.task_id = task_id
        paused.queue_id = queue_id
        paused.assignee = assignee
        paused.claimed_at = now if assignee else None
        paused.save(
            update_fields=[
                "paused_seconds",
                "due_at",
                "paused_at",
                "state",
                "task_id",
                "queue",
                "assignee",
                "claimed_at",
            ]
        )
        return paused
    return CaseClock.objects.create(
        organisation_id=case.organisation_id,
        case=case,
        stage=stage,
        task_id=task_id,
        queue_id=queue_id,
        assignee=assignee,
        claimed_at=now if assignee else None,
        started_at=now,
        due_at=due_for(case, stage, now),
    )


def live_clock(case: Case, stage: str) -> CaseClock | None:
    return CaseClock.objects.filter(case=case, stage=stage).exclude(state=ClockState.STOPPED).first()


def clock_stop(*, case: Case, stage: str, judged: bool = True) -> CaseClock | None:
    """Stop the stage's clock: met or breached, or (`judged=False`, a stage undone by send-back)
    without a verdict."""
    clock = live_clock(case, stage)
    if clock is None:
        return None
    now = timezone.now()
    clock.state = ClockState.STOPPED
    clock.stopped_at = now
    clock.is_met = (now <= clock.due_at) if judged else None
    clock.task_id = None
    clock.save(update_fields=["state", "stopped_at", "is_met", "task_id"])
    return clock


def clock_pause(*, case: Case, stage: str) -> CaseClock | None:
    clock = live_clock(case, stage)
    if clock is None:
        return None
    clock.state = ClockState.PAUSED
    clock.paused_at = timezone.now()
    clock.task_id = None
    clock.assignee = None
    clock.save(update_fields=["state", "paused_at", "task_id", "assignee"])
    return clock
