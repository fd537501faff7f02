"""Stage clocks: the whole lifecycle of a clock is here (open, hold, pause, resume, stop).

A stage with a clock policy (`casework.services.policies`: a target in working days, days or
months, a warning threshold and an escalation chain) gets a clock when its task opens and loses
it when the task ends; the workflow layer
reports each step of a case with `follow` (a task ended and, perhaps, another opened) and `hold`
(a staff task was claimed or released). Nothing else writes a clock.

- Deadlines are reckoned on the working-day calendar (`casework.services.deadlines`) and end at
  24:00 of their last day. When the calendar of a year the deadline reaches is not published,
  the clock runs without a due time and says why (`due_error`): never a guess.
- A clock's warning time is set with its due time; the sweep (`casework.services.sweep`) marks
  the warning, the breach and each escalation once.
- A decision ends the stage's clock with a verdict: met if before its due time, else breached.
  An undo (send back) ends it with none, as does a clock that had no due time.
- Asking the member for information pauses the review clock, keeping the working days it had
  left; when review reopens the clock resumes with those days in full, however long the pause
  and whatever holidays it spanned.
- Review reopened any other way (send back, transfer to another committee) starts a new clock;
  the old one stays in history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, Value, When
from django.db.models import Case as Cond
from django.utils import timezone

from casework.choices import QUEUED_STAGES, STAGE_OF_STATUS, CaseStatus, ClockState, Stage
from casework.models import Case, CaseClock
from casework.services import bulk, deadlines
from casework.services.deadlines import CalendarMissing, WorkCalendar
from casework.services.policies import Policy, policy_for


@dataclass(frozen=True)
class TaskRef:
    """The task a stage opened, as the clock needs it: which task, and who holds it."""

    id: int
    stage: Stage
    owner_id: int | None


def policy_of(case: Case, stage: Stage) -> Policy | None:
    """The stage's policy for the case's organisation, or None when the stage has no clock."""
    return policy_for(case.organisation_id, stage)


def due_for(case: Case, stage: Stage, start: datetime, cal: WorkCalendar | None = None) -> datetime | None:
    """The deadline of `stage` started at `start`, or None when the stage has no clock. Raises
    CalendarMissing when it reaches a year with no published calendar."""
    policy = policy_of(case, stage)
    return None if policy is None else policy.due(cal or WorkCalendar(), start)


def _counts_working_days(case: Case, stage: Stage) -> bool:
    policy = policy_of(case, stage)
    return policy is not None and policy.counts_working_days


def _warn_at(case: Case, stage: Stage, start: datetime, due: datetime | None) -> datetime | None:
    policy = policy_of(case, stage)
    if policy is None or due is None:
        return None
    try:
        return policy.warn_at(WorkCalendar(), start, due)
    except CalendarMissing:
        return None  # the deadline is known; only its warning reaches an unpublished year


def live_clock(case: Case, stage: Stage) -> CaseClock | None:
    return CaseClock.objects.filter(case=case, stage=stage).exclude(state=ClockState.STOPPED).first()


def _stop(clock: CaseClock, now: datetime, *, judged: bool) -> None:
    clock.state = ClockState.STOPPED
    clock.stopped_at = now
    clock.is_met = (now <= clock.due_at) if judged and clock.due_at is not None else None
    clock.task_id = None
    clock.next_escalation_at = None
    clock.save(update_fields=["state", "stopped_at", "is_met", "task_id", "next_escalation_at"])


def _pause(clock: CaseClock, case: Case, now: datetime) -> None:
    clock.state = ClockState.PAUSED
    clock.paused_at = now
    clock.task_id = None
    clock.assignee = None
    if clock.due_at is not None and _counts_working_days(case, Stage(clock.stage)):
        try:
            clock.days_left_at_pause = deadlines.working_days_left(WorkCalendar(), now, clock.due_at)
        except CalendarMissing:
            clock.days_left_at_pause = None  # resumed by the wall clock instead
    clock.save(update_fields=["state", "paused_at", "task_id", "assignee", "days_left_at_pause"])


def _queue_of(case: Case, stage: Stage) -> int | None:
    return case.committee_id if stage in QUEUED_STAGES else None


def _resumed_due(clock: CaseClock, case: Case, now: datetime) -> datetime | None:
    """The due time of a clock resuming now: the working days it had left when it paused, in
    full (none left: the end of the day it resumes, or of the next working day); still overdue if
    it was overdue. A stage counted in calendar days moves by the pause instead."""
    assert clock.paused_at is not None
    if clock.due_at is None:
        return None
    left = clock.days_left_at_pause
    if left is None:
        return clock.due_at + (now - clock.paused_at)
    if left < 0:
        return clock.due_at
    cal = WorkCalendar()
    if left == 0:
        return deadlines.end_of(cal.next_working(deadlines.local_day(now)))
    return deadlines.add_working_days(cal, now, left)


def _resume(clock: CaseClock, case: Case, task: TaskRef, now: datetime) -> CaseClock:
    assert clock.paused_at is not None
    try:
        clock.due_at = _resumed_due(clock, case, now)
    except CalendarMissing as missing:
        clock.due_at, clock.due_error = None, f"{missing.code}:{missing.year}"
    if clock.warned_at is None:
        # The warning moves with the deadline; one already given is not given again.
        clock.warn_at = _warn_at(case, Stage(clock.stage), now, clock.due_at)
    clock.paused_seconds += int((now - clock.paused_at).total_seconds())
    clock.paused_at = None
    clock.days_left_at_pause = None
    clock.state = ClockState.RUNNING
    clock.task_id = task.id
    clock.queue_id = _queue_of(case, task.stage)
    clock.assignee_id = task.owner_id
    clock.claimed_at = now if task.owner_id else None
    clock.save(
        update_fields=[
            "due_at",
            "due_error",
            "warn_at",
            "paused_seconds",
            "paused_at",
            "days_left_at_pause",
            "state",
            "task_id",
            "queue",
            "assignee",
            "claimed_at",
        ]
    )
    return clock


def _deadline(case: Case, stage: Stage, now: datetime) -> tuple[datetime | None, str, datetime | None] | None:
    """The due time (or why there is none) and the warning time of `stage` started now, or None
    when the stage has no clock."""
    if policy_of(case, stage) is None:
        return None
    error = ""
    try:
        due = due_for(case, stage, now)
    except CalendarMissing as missing:
        due, error = None, f"{missing.code}:{missing.year}"
    return due, error, _warn_at(case, stage, now, due)


def _new_clock(
    case: Case, task: TaskRef, now: datetime, deadline: tuple[datetime | None, str, datetime | None] | None = None
) -> CaseClock | None:
    """The clock a stage's task opens (unsaved), or None when the stage has no clock.
    `deadline`: `_deadline` of the case's stage now, when the caller reckoned it already."""
    if deadline is None:
        deadline = _deadline(case, task.stage, now)
        if deadline is None:
            return None
    due, error, warn = deadline
    return CaseClock(
        organisation_id=case.organisation_id,
        case=case,
        stage=task.stage,
        task_id=task.id,
        queue_id=_queue_of(case, task.stage),
        assignee_id=task.owner_id,
        claimed_at=now if task.owner_id else None,
        started_at=now,
        due_at=due,
        due_error=error,
        warn_at=warn,
    )


def _open(case: Case, task: TaskRef, now: datetime) -> CaseClock | None:
    clock = _new_clock(case, task, now)
    if clock is not None:
        clock.save(force_insert=True)
    return clock


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
                _pause(clock, case, now)
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


def follow_all(cases: Sequence[Case], *, left: str, opened: Mapping[int, TaskRef]) -> None:
    """`follow` for many cases taking the same step at once (an output's outcome reaching every
    case it gathered), in two statements whatever their number: the running clocks of the stage
    they left stopped with their verdicts by one UPDATE, the clocks of the tasks they now wait
    on (`opened`, by case id) inserted by one multi-row INSERT. Only for steps that neither
    pause nor resume a clock (those are review's, one case at a time)."""
    if not cases:
        return
    old_stage = STAGE_OF_STATUS.get(left)
    assert old_stage not in (Stage.REVIEW, Stage.NEEDS_INFO), "a step that may pause or resume a clock"
    now = timezone.now()
    if old_stage is not None:
        CaseClock.objects.filter(
            case_id__in=bulk.one_of([c.pk for c in cases]), stage=old_stage, state=ClockState.RUNNING
        ).update(
            state=ClockState.STOPPED,
            stopped_at=now,
            # As `_stop` judges one: met if stopped by its due time; no verdict without one.
            is_met=Cond(
                When(due_at__isnull=True, then=Value(None)),
                When(due_at__gte=now, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(null=True),
            ),
            task_id=None,
            next_escalation_at=None,
        )
    # Started at the same moment, the clocks of one stage in one organisation share their due
    # and warning times: reckoned once each.
    deadlines: dict[tuple[int, str], tuple[datetime | None, str, datetime | None] | None] = {}
    new = []
    for case in cases:
        task = opened.get(case.pk)
        if task is None:
            continue
        key = (case.organisation_id, task.stage)
        if key not in deadlines:
            deadlines[key] = _deadline(case, task.stage, now)
        if deadlines[key] is not None:
            new.append(_new_clock(case, task, now, deadlines[key]))
    bulk.insert(CaseClock, new)


def hold(case: Case, stage: str, holder_id: int | None, *, clock: CaseClock | None = None) -> None:
    """A staff task of `stage` was claimed by `holder_id`, released (None), or handed from one
    holder to another (a head's reassignment: the time it was first claimed stays, as the queue's
    time-to-claim is what it measures). `clock`: the stage's clock when the caller holds it
    already (claim-next), which saves reading it."""
    clock = clock or live_clock(case, Stage(stage))
    if clock is None:
        return
    clock.assignee_id = holder_id
    clock.claimed_at = (clock.claimed_at or timezone.now()) if holder_id else None
    clock.save(update_fields=["assignee", "claimed_at"])
