"""The only door to viewflow. Everything else speaks of stages and tasks in our own words
(`casework.choices.Stage`, `Task` below); only this package imports viewflow, walks its task
graph or writes its rows.

Every function runs inside the caller's transaction with the case row already locked (the one
lock order: `casework.services.locks`); viewflow's own lock on the process row comes after it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow import timers as viewflow_timers
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Process
from viewflow.workflow.models import Task as FlowTask
from viewflow.workflow.status import STATUS

from casework.choices import MEMBER_STAGES, Stage
from casework.errors import Conflict
from casework.models import Case, User
from casework.services import bulk
from casework.services.clocks import TaskRef

from .flows import STAGE_OF_NODE, CaseFlow
from .models import CaseProcess

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


def reassign(case: Case, task: Task, user: User) -> None:
    """Give `task` to `user`, whoever held it (a head handing work within their team): viewflow's
    reassign for a claimed task, its assign for one still in the queue. The time it was first
    claimed stays: time-to-claim measures the queue, not the team's handing on."""
    with _activation(task, case) as act:
        if act.task.status == STATUS.NEW:
            act.task.assigned = timezone.now()
            act.assign(user=user)
        else:
            act.reassign(user=user)


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


def out_of_step() -> Conflict:
    return Conflict(_("案件的流程与状态不一致，请联系管理员。"), code="out_of_step")


def _member_user_id(case: Case) -> int | None:
    """Who the member's task goes to (the flow's `_member_user`): read with the case when the
    caller locked it so (`locks.gathered_cases`), else through its member."""
    if "member_user_id" in case.__dict__:
        return case.__dict__["member_user_id"]
    return case.member.user_id


def _awaited_locked(case_ids: list[int]) -> list[tuple[Any, ...]]:
    """(task id, process id, token, case id) of the cases' awaited-outcome tasks, the tasks and
    their process rows locked (viewflow's lock, taken for all of them in one statement), by
    process."""
    q = connection.ops.quote_name
    task, process, link = q(FlowTask._meta.db_table), q(Process._meta.db_table), q(CaseProcess._meta.db_table)
    cases, params = bulk.in_list("cp.case_id", case_ids)
    lock = " FOR UPDATE OF t, p" if connection.features.has_select_for_update else ""
    node = FlowTask._meta.get_field("flow_task").get_db_prep_save(CaseFlow.await_outcome, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.process_id, t.token, cp.case_id FROM {task} t "
            f"JOIN {process} p ON p.id = t.process_id JOIN {link} cp ON cp.process_ptr_id = p.id "
            f"WHERE {cases} AND t.flow_task = %s AND t.status = %s ORDER BY t.process_id{lock}",
            [*params, node, STATUS.NEW],
        )
        return [tuple(row) for row in cursor.fetchall()]


def complete_outcomes(cases: Sequence[Case]) -> dict[int, Task]:
    """`complete` for many cases waiting on their outcome (each locked by the caller and read
    with its member), writing row for row what viewflow writes for one: the awaited-outcome task
    (a Handle) run and done, the feedback task that follows it created, assigned to the case's
    member and linked to it as its previous task. In four statements whatever the number of
    cases: their process rows locked with the awaited tasks read, the tasks done by one UPDATE,
    the feedback tasks by one multi-row INSERT, their links by another. Nothing listens to
    viewflow's task signals here, and none are sent. Answers the feedback task of each case.
    Raises Conflict (out_of_step) when a case does not wait on its outcome."""
    if not cases:
        return {}
    by_id = {case.pk: case for case in cases}
    awaited = _awaited_locked(list(by_id))
    if len(awaited) != len(by_id):
        raise out_of_step()
    now = timezone.now()
    done = FlowTask.objects.filter(pk__in=bulk.one_of([row[0] for row in awaited]), status=STATUS.NEW).update(
        status=STATUS.DONE, started=now, finished=now
    )
    if done != len(awaited):
        raise out_of_step()
    feedback = CaseFlow.await_outcome._next
    assert feedback is CaseFlow.feedback and STAGE_OF_NODE[feedback.name] in MEMBER_STAGES
    owners = {case_id: _member_user_id(by_id[case_id]) for *_row, case_id in awaited}
    new = [
        FlowTask(
            process_id=process_id,
            flow_task=feedback,
            flow_task_type=feedback.task_type,
            # viewflow's Assign: the member's own stage is theirs at once (a member without an
            # account: left unassigned, as viewflow leaves it).
            status=STATUS.ASSIGNED if owners[case_id] else STATUS.NEW,
            owner_id=owners[case_id],
            token=token,
            created=now,
            data={},
        )
        for _task_id, process_id, token, case_id in awaited
    ]
    opened = {process_id: task_id for task_id, process_id in bulk.insert(FlowTask, new, returning=("id", "process_id"))}
    links = [
        FlowTask.previous.through(from_task_id=opened[process_id], to_task_id=task_id)
        for task_id, process_id, _token, _case in awaited
    ]
    bulk.insert(FlowTask.previous.through, links, returning=())
    stage = STAGE_OF_NODE[feedback.name]
    return {
        case_id: Task(opened[process_id], stage, owners[case_id], None)
        for _task_id, process_id, _token, case_id in awaited
    }


__all__ = [
    "Task",
    "claim",
    "complete",
    "complete_outcomes",
    "open_task",
    "open_tasks",
    "out_of_step",
    "reassign",
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
