"""The only door to viewflow. Everything else speaks of stages and tasks in our own words
(`casework.choices.Stage`, `Task` below); only this package imports viewflow, walks its task
graph or writes its rows.

Every function runs inside the caller's transaction with the case row already locked (the one
lock order: `casework.services.locks`); viewflow's own lock on the process row comes after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow import timers as viewflow_timers
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task as FlowTask
from viewflow.workflow.status import STATUS

from casework.choices import Stage
from casework.errors import Conflict
from casework.models import Case, User
from casework.services.clocks import TaskRef

from .flows import STAGE_OF_NODE, CaseFlow

OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)


@dataclass(frozen=True)
class Task:
    """An open task of a case, in our words."""

    id: int
    stage: Stage
    owner_id: int | None
    claimed_at: datetime | None
    _row: Any = None  # the viewflow row, for the functions below only

    @property
    def ref(self) -> TaskRef:
        return TaskRef(self.id, self.stage, self.owner_id)


def _ours(row: FlowTask) -> Task:
    return Task(row.pk, STAGE_OF_NODE[row.flow_task.name], row.owner_id, row.assigned, row)


def _open_rows(case_id: int) -> QuerySet[FlowTask]:
    return FlowTask.objects.filter(process__caseprocess__case_id=case_id, status__in=OPEN).order_by("id")


def open_task(case_id: int) -> Task | None:
    """The task the case waits on now (a case has at most one; none in draft, closed, merged)."""
    row = _open_rows(case_id).first()
    return _ours(row) if row is not None else None


def open_tasks(case_ids: list[int]) -> dict[int, Task]:
    """The open task of each of `case_ids` that has one, in one query."""
    rows = FlowTask.objects.filter(process__caseprocess__case_id__in=case_ids, status__in=OPEN).annotate(
        case_id=F("process__caseprocess__case_id")
    )
    return {row.case_id: _ours(row) for row in rows}


def _opened(case: Case) -> Task | None:
    """The task the step just opened: reported by the flow as it was created (`task_opened`),
    else read back (an awaited outcome is a Handle, which reports nothing)."""
    row = case.__dict__.pop("_opened_task", None)
    if row is not None:
        return _ours(row)
    return open_task(case.pk)


def start(case: Case) -> Task | None:
    """Start the case's flow; answer the task it opens (review)."""
    CaseFlow.start.run(case=case)
    return _opened(case)


@contextmanager
def _activation(task: Task, case: Case) -> Iterator[Any]:
    """Enter viewflow's activation of `task` (its process row lock, then a fresh read of the
    task) and check the task is still as the caller saw it."""
    try:
        with task._row.activation() as act:
            if act.task.status not in (STATUS.NEW, STATUS.ASSIGNED) or act.task.owner_id != task.owner_id:
                raise Conflict()
            act.process.case = case
            yield act
    except FlowLockFailed:
        raise Conflict(_("该案件正被他人处理，请稍后重试。"), code="locked") from None


def claim(case: Case, task: Task, user: User) -> None:
    with _activation(task, case) as act:
        act.task.assigned = timezone.now()  # viewflow never writes it; time-to-claim needs it
        act.assign(user=user)


def release(case: Case, task: Task) -> None:
    with _activation(task, case) as act:
        act.task.assigned = None
        act.unassign()


def complete(case: Case, task: Task, user: User | None) -> Task | None:
    """Complete `task` as `user` (assigning it on the way if nobody holds it); the flow routes by
    the case's new status. Answer the task that opened, if any."""
    with _activation(task, case) as act:
        if task.stage == Stage.OUTCOME:
            act.run(None)
            act.execute()
        else:
            if act.task.owner_id is None:
                act.task.assigned = timezone.now()
                act.assign(user=user)
            act.start(None)
            act.execute()
    return _opened(case)


def send_back(case: Case, task: Task) -> Task:
    """Undo the last review decision in the flow: cancel the open task, undo the router and the
    review task before it, and revive review. Answer the revived review task."""
    with _activation(task, case) as act:
        route = act.task.previous.get()
        review = route.previous.get()
        if route.flow_task != CaseFlow.route or review.flow_task != CaseFlow.review:
            raise Conflict(_("该案件的流程不能退回。"), code="cannot_send_back")
        act.cancel()
        route.flow_task.activation_class(route).undo()
        review_act = review.flow_task.activation_class(review)
        review_act.undo()
        revived = review_act.revive()
    return _ours(revived)


def reopen_conversion(case: Case, task: Task) -> Task:
    """The case leaves the output it was converted into: cancel its awaited outcome, undo the
    conversion task before it and revive it. Answer the revived conversion task."""
    with _activation(task, case) as act:
        convert = act.task.previous.get()
        if convert.flow_task != CaseFlow.convert:
            raise Conflict(_("该案件的流程不能回到成果转化。"), code="cannot_reopen_conversion")
        act.cancel()
        convert_act = convert.flow_task.activation_class(convert)
        convert_act.undo()
        revived = convert_act.revive()
    return _ours(revived)


def take_unclaimed(task_id: int | None, user: User) -> bool:
    """Assign a task as viewflow's assign() would, if and only if it is still unclaimed: the
    claim-next path, which holds the case row but not the process lock. A flow step holding
    the task row makes this wait, then find it no longer NEW."""
    taken = FlowTask.objects.filter(pk=task_id, status=STATUS.NEW, owner__isnull=True).update(
        owner=user, status=STATUS.ASSIGNED, assigned=timezone.now()
    )
    return taken == 1


def waiting_on_outcome(case_ids: list[int]) -> dict[int, Task]:
    """The awaited-outcome tasks of the given cases."""
    rows = FlowTask.objects.filter(
        process__caseprocess__case_id__in=case_ids, flow_task=CaseFlow.await_outcome, status=STATUS.NEW
    ).select_related("process__caseprocess")
    return {row.process.caseprocess.case_id: _ours(row) for row in rows}


__all__ = [
    "Task",
    "claim",
    "complete",
    "open_task",
    "open_tasks",
    "release",
    "reopen_conversion",
    "send_back",
    "start",
    "take_unclaimed",
    "waiting_on_outcome",
]


def fire_due_timers() -> int:
    """Fire viewflow's due timer tasks (a flow's `Timer` nodes and `OnTimeout` boundaries); the
    number fired. Our stage deadlines are our own clocks (`casework.services.sweep`), but a flow
    that declares a timer relies on this being called periodically, which viewflow itself never
    does. It reads the `scheduled` index of viewflow's task table, so with no timer due it costs
    one empty index range."""
    return int(viewflow_timers.fire_due_timers())
