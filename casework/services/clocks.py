"""Stage clocks: the whole lifecycle of a clock is here (open, hold, pause, resume, stop).

A stage with a target (`DEFAULT_SLA_TARGETS`, overridden per organisation) gets a clock when its
task opens and loses it when the task ends; the workflow layer reports each step of a case with
`follow` (a task ended and, perhaps, another opened) and `hold` (a staff task was claimed or
released). Nothing else writes a clock.

- A decision ends the stage's clock with a verdict: met if before its due time, else breached.
  An undo (send back) ends it with none.
- Asking the member for information pauses the review clock; when review reopens, the paused
  clock resumes instead of starting afresh.
- Review reopened any other way (send back, transfer to another committee) starts a new clock;
  the old one stays in history.

Working days here skip weekends only; the statutory holiday calendar (调休 as data) replaces
`add_working_days` without changing its callers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from casework.choices import DEFAULT_SLA_TARGETS, QUEUED_STAGES, STAGE_OF_STATUS, CaseStatus, ClockState, Stage
from casework.models import Case, CaseClock

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class TaskRef:
    """The task a stage opened, as the clock needs it: which task, and who holds it."""

    id: int
    stage: Stage
    owner_id: int | None


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


def target_of(case: Case, stage: Stage) -> dict | None:
    """The stage's target for the case's organisation, or None when the stage has no clock."""
    targets = case.organisation.sla_targets or {}
    return targets.get(stage) or DEFAULT_SLA_TARGETS.get(stage)


def due_for(case: Case, stage: Stage, start: datetime) -> datetime | None:
    target = target_of(case, stage)
    if target is None:
        return None
    if "working_days" in target:
        return add_working_days(start, int(target["working_days"]))
    return add_days(start, int(target["days"]))


def live_clock(case: Case, stage: Stage) -> CaseClock | None:
    return CaseClock.objects.filter(case=case, stage=stage).exclude(state=ClockState.STOPPED).first()


def _stop(clock: CaseClock, now: datetime, *, judged: bool) -> None:
    clock.state = ClockState.STOPPED
    clock.stopped_at = now
    clock.is_met = (now <= clock.due_at) if judged else None
    clock.task_id = None
    clock.save(update_fields=["state", "stopped_at", "is_met", "task_id"])


def _pause(clock: CaseClock, now: datetime) -> None:
    clock.state = ClockState.PAUSED
    clock.paused_at = now
    clock.task_id = None
    clock.assignee = None
    clock.save(update_fields=["state", "paused_at", "task_id", "assignee"])


def _queue_of(case: Case, stage: Stage) -> int | None:
    return case.committee_id if stage in QUEUED_STAGES else None


def _resume(clock: CaseClock, case: Case, task: TaskRef, now: datetime) -> CaseClock:
    assert clock.paused_at is not None
    pause = now - clock.paused_at
    clock.paused_seconds += int(pause.total_seconds())
    clock.due_at = clock.due_at + pause
    clock.paused_at = None
    clock.state = ClockState.RUNNING
    clock.task_id = task.id
    clock.queue_id = _queue_of(case, task.stage)
    clock.assignee_id = task.owner_id
    clock.claimed_at = now if task.owner_id else None
    clock.save(
        update_fields=["paused_seconds", "due_at", "paused_at", "state", "task_id", "queue", "assignee", "claimed_at"]
    )
    return clock


def _open(case: Case, task: TaskRef, now: datetime) -> CaseClock | None:
    due = due_for(case, task.stage, now)
    if due is None:
        return None
    return CaseClock.objects.create(
        organisation_id=case.organisation_id,
        case=case,
        stage=task.stage,
        task_id=task.id,
        queue_id=_queue_of(case, task.stage),
        assignee_id=task.owner_id,
        claimed_at=now if task.owner_id else None,
        started_at=now,
        due_at=due,
    )


def follow(case: Case, *, left: str | None, opened: TaskRef | None, undone: bool = False) -> None:
    """The case left the stage of status `left` (None: it had none, e.g. a draft) and `opened`
    is the task it now waits on (None: it waits on nobody). `undone`: the stage was left by a
    send-back, so its clock gets no verdict."""
    now = timezone.now()
    old_stage = STAGE_OF_STATUS.get(left) if left else None
    if old_stage is not None:
        clock = live_clock(case, old_stage)
        if clock is not None and clock.state == ClockState.RUNNING:
            if old_stage == Stage.REVIEW and opened is not None and opened.stage == Stage.NEEDS_INFO:
                _pause(clock, now)
            else:
                _stop(clock, now, judged=not undone)
    if opened is None:
        return
    if opened.stage == Stage.REVIEW and left == CaseStatus.NEEDS_INFO:
        # Only a request for information pauses the review clock; review reopens after it (the
        # member answered, or the request was sent back) and the clock goes on where it stopped.
        paused = CaseClock.objects.filter(case=case, stage=Stage.REVIEW, state=ClockState.PAUSED).first()
        if paused is not None:
            _resume(paused, case, opened, now)
            return
    _open(case, opened, now)


def hold(case: Case, stage: str, holder_id: int | None, *, clock: CaseClock | None = None) -> None:
    """A staff task of `stage` was claimed by `holder_id`, or released (None). `clock`: the
    stage's clock when the caller holds it already (claim-next), which saves reading it."""
    clock = clock or live_clock(case, Stage(stage))
    if clock is None:
        return
    clock.assignee_id = holder_id
    clock.claimed_at = timezone.now() if holder_id else None
    clock.save(update_fields=["assignee", "claimed_at"])
