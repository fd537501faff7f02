"""The state changes that move the case flow. Each takes the flow lock (the process row), then
the case row, checks the actor and the transition, calls the domain service and moves the
viewflow task, all in one transaction. The API, the pages, the admin and tasks call these."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from casework.choices import ClockState, Stage
from casework.errors import Conflict, NotFound, TransitionNotAllowed
from casework.models import Case, CaseClock, Output, User
from casework.services import access, cases, outputs

from .flows import CaseFlow, open_stage_clock

OPEN = (STATUS.NEW, STATUS.ASSIGNED)
STAFF_NODES = (CaseFlow.review, CaseFlow.convert)


def _visible_case(actor: User, case_id: int) -> Case:
    case = access.visible_cases(actor).filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("案件不存在。"), code="case_not_found")
    return case


def _not_now(case: Case, action: str) -> TransitionNotAllowed:
    return TransitionNotAllowed(
        _("案件当前状态为「%(status)s」，不能执行「%(action)s」。")
        % {"status": case.get_status_display(), "action": action},
        details={"status": case.status},
    )


def _open_task(case_id: int, nodes: tuple[Any, ...]) -> Task | None:
    return (
        Task.objects.filter(process__caseprocess__case_id=case_id, status__in=OPEN, flow_task__in=nodes)
        .order_by("id")
        .first()
    )


@contextmanager
def _flow_step(actor: User, case_id: int, nodes: tuple[Any, ...], action: str) -> Iterator[tuple[Any, Case]]:
    """Lock the open task of `nodes` (process row, then case row) and yield its activation."""
    case = _visible_case(actor, case_id)
    task = _open_task(case_id, nodes)
    if task is None:
        raise _not_now(case, action)
    try:
        # Case row first, then the process: the task is read under both locks, so a claim-next
        # (which holds only the case row) that committed meanwhile is seen.
        with transaction.atomic():
            locked = cases.lock_case(case_id)
            with task.activation() as act:
                if act.task.status not in OPEN:
                    raise Conflict()
                act.process.case = locked
                yield act, locked
    except FlowLockFailed:
        raise Conflict(_("该案件正被他人处理，请稍后重试。"), code="locked") from None


def _claim(act: Any, case: Case, actor: User, source_ip: str | None) -> None:
    cases.case_claim(case=case, actor=actor, source_ip=source_ip)
    act.task.assigned = timezone.now()
    act.assign(user=actor)


def _take(act: Any, case: Case, actor: User, source_ip: str | None) -> None:
    """A staff task is decided by whoever holds it; an unclaimed one is claimed on the way."""
    if act.task.owner_id is None:
        _claim(act, case, actor, source_ip)
    elif act.task.owner_id != actor.pk:
        raise Conflict(_("该任务已由 %(name)s 认领。") % {"name": str(act.task.owner)}, code="claimed_by_other")


def _finish(act: Any) -> None:
    act.start(None)
    act.execute()


# Intake -----------------------------------------------------------------------------------------


def case_file(*, actor: User, submit: bool = True, source_ip: str | None = None, **fields: Any) -> Case:
    """File a concern: a draft, or straight into its committee's review queue."""
    with transaction.atomic():
        case = cases.case_create(actor=actor, submit=submit, source_ip=source_ip, **fields)
        if submit:
            CaseFlow.start.run(case=case)
    return case


def case_update(*, case_id: int, actor: User, changes: dict[str, Any], source_ip: str | None = None) -> Case:
    with transaction.atomic():
        _visible_case(actor, case_id)
        case = cases.lock_case(case_id)
        return cases.case_update(case=case, actor=actor, changes=changes, source_ip=source_ip)


def case_submit(*, case_id: int, actor: User, source_ip: str | None = None) -> Case:
    with transaction.atomic():
        _visible_case(actor, case_id)
        case = cases.lock_case(case_id)
        cases.case_submit(case=case, actor=actor, source_ip=source_ip)
        CaseFlow.start.run(case=case)
    return case


# Review -----------------------------------------------------------------------------------------


def case_claim(*, case_id: int, actor: User, source_ip: str | None = None) -> Case:
    with _flow_step(actor, case_id, STAFF_NODES, _("认领")) as (act, case):
        access.require_committee_staff(actor, case)
        if act.task.owner_id is not None:
            raise Conflict(_("该任务已由 %(name)s 认领。") % {"name": str(act.task.owner)}, code="claimed_by_other")
        _claim(act, case, actor, source_ip)
    return case


def case_release(*, case_id: int, actor: User, source_ip: str | None = None) -> Case:
    with _flow_step(actor, case_id, STAFF_NODES, _("放弃认领")) as (act, case):
        access.require_committee_staff(actor, case)
        if act.task.owner_id != actor.pk:
            raise Conflict(_("只能放弃自己认领的任务。"), code="not_claimed_by_you")
        cases.case_release(case=case, actor=actor, source_ip=source_ip)
        act.task.assigned = None
        act.unassign()
    return case


def _review(actor: User, case_id: int, label: str, decide: Callable[[Case], None], source_ip: str | None) -> Case:
    with _flow_step(actor, case_id, (CaseFlow.review,), label) as (act, case):
        access.require_committee_staff(actor, case)
        _take(act, case, actor, source_ip)
        decide(case)
        _finish(act)
    return case


def case_accept(*, case_id: int, actor: User, note: str = "", source_ip: str | None = None) -> Case:
    return _review(
        actor,
        case_id,
        _("受理转化"),
        lambda c: cases.case_accept(case=c, actor=actor, note=note, source_ip=source_ip),
        source_ip,
    )


def case_request_info(*, case_id: int, actor: User, question: str, source_ip: str | None = None) -> Case:
    return _review(
        actor,
        case_id,
        _("要求补充材料"),
        lambda c: cases.case_request_info(case=c, actor=actor, question=question, source_ip=source_ip),
        source_ip,
    )


def case_reject(*, case_id: int, actor: User, reason_id: int, note: str = "", source_ip: str | None = None) -> Case:
    return _review(
        actor,
        case_id,
        _("不予受理"),
        lambda c: cases.case_reject(case=c, actor=actor, reason_id=reason_id, note=note, source_ip=source_ip),
        source_ip,
    )


def case_redirect(*, case_id: int, actor: User, channel: str, note: str = "", source_ip: str | None = None) -> Case:
    return _review(
        actor,
        case_id,
        _("转其他渠道"),
        lambda c: cases.case_redirect(case=c, actor=actor, channel=channel, note=note, source_ip=source_ip),
        source_ip,
    )


def case_resolve(*, case_id: int, actor: User, note: str, source_ip: str | None = None) -> Case:
    return _review(
        actor,
        case_id,
        _("直接解决"),
        lambda c: cases.case_resolve(case=c, actor=actor, note=note, source_ip=source_ip),
        source_ip,
    )


def case_merge(*, case_id: int, actor: User, into_id: int, note: str = "", source_ip: str | None = None) -> Case:
    def merge(case: Case) -> None:
        # The master's row is locked after the merged one's. Two opposite merges at the same
        # moment could deadlock; PostgreSQL then fails one of them, which changes nothing.
        master = (
            Case.objects.select_for_update(of=("self",))
            .filter(pk=into_id, organisation_id=case.organisation_id)
            .first()
        )
        if master is None:
            raise NotFound(_("要合并到的案件不存在。"), code="merge_target_not_found")
        cases.case_merge(case=case, actor=actor, master=master, note=note, source_ip=source_ip)

    return _review(actor, case_id, _("合并"), merge, source_ip)


def case_answer_info(*, case_id: int, actor: User, answer: str, source_ip: str | None = None) -> Case:
    with _flow_step(actor, case_id, (CaseFlow.provide_info,), _("补充材料")) as (act, case):
        cases.case_answer_info(case=case, actor=actor, answer=answer, source_ip=source_ip)
        if act.task.owner_id is None:
            act.task.assigned = timezone.now()
            act.assign(user=actor)
        _finish(act)
    return case


# Conversion and outcome -------------------------------------------------------------------------


def case_convert(
    *,
    case_id: int,
    actor: User,
    output_type: str,
    output_id: int | None = None,
    title: str = "",
    source_ip: str | None = None,
) -> Case:
    with _flow_step(actor, case_id, (CaseFlow.convert,), _("成果转化")) as (act, case):
        access.require_committee_staff(actor, case)
        _take(act, case, actor, source_ip)
        cases.case_convert(
            case=case, actor=actor, output_type=output_type, output_id=output_id, title=title, source_ip=source_ip
        )
        _finish(act)
    return case


def output_record_outcome(*, output_id: int, actor: User, outcome: str, source_ip: str | None = None) -> Output:
    """Record an output's outcome and write it back onto every case it gathered."""
    try:
        with transaction.atomic():
            output = outputs.lock_output_for_outcome(output_id=output_id, actor=actor)
            outputs.output_record_outcome(output=output, actor=actor, outcome=outcome, source_ip=source_ip)
            waiting = Task.objects.filter(
                process__caseprocess__case__output=output, flow_task=CaseFlow.await_outcome, status=STATUS.NEW
            ).order_by("process_id")
            for task in waiting.select_related("process__caseprocess"):
                case = cases.lock_case(task.process.caseprocess.case_id)  # case row before process

                def apply(activation: Any, case: Case = case) -> None:
                    activation.process.case = case
                    cases.case_receive_outcome(case=case, actor=actor, outcome=output.outcome, source_ip=source_ip)

                CaseFlow.await_outcome.run(task, apply=apply)
    except FlowLockFailed:
        raise Conflict(_("相关案件正被他人处理，请稍后重试。"), code="locked") from None
    return output


def case_record_feedback(
    *, case_id: int, actor: User, method: str, satisfaction: str, note: str = "", source_ip: str | None = None
) -> Case:
    with _flow_step(actor, case_id, (CaseFlow.feedback,), _("反馈群众")) as (act, case):
        cases.case_record_feedback(
            case=case, actor=actor, method=method, satisfaction=satisfaction, note=note, source_ip=source_ip
        )
        if act.task.owner_id is None:
            act.task.assigned = timezone.now()
            act.assign(user=actor)
        _finish(act)
    return case


# Send back --------------------------------------------------------------------------------------


def case_send_back(*, case_id: int, actor: User, reason: str, source_ip: str | None = None) -> Case:
    """Undo the last review decision: cancel the open task, undo the decision and reopen review."""
    nodes = (CaseFlow.convert, CaseFlow.provide_info, CaseFlow.feedback)
    with _flow_step(actor, case_id, nodes, _("退回上一步")) as (act, case):
        cases.case_send_back(case=case, actor=actor, reason=reason, source_ip=source_ip)
        route = act.task.previous.get()
        review = route.previous.get()
        if route.flow_task != CaseFlow.route or review.flow_task != CaseFlow.review:
            raise _not_now(case, _("退回上一步"))
        act.cancel()
        route.flow_task.activation_class(route).undo()
        review_act = review.flow_task.activation_class(review)
        review_act.undo()
        reopened = review_act.revive()
        review_act.process.case = case
        # A revived task skips viewflow's onCreate: open the review clock here.
        review_act.task = reopened
        open_stage_clock(review_act, Stage.REVIEW, in_queue=True)
    return case


# Queues -----------------------------------------------------------------------------------------


def _take_unclaimed_task(task_id: int | None, actor: User) -> bool:
    """Assign the task as viewflow's assign() would, if and only if it is still unclaimed. A flow
    step holding the task row makes this wait, then find it no longer NEW."""
    taken = Task.objects.filter(pk=task_id, status=STATUS.NEW, owner__isnull=True).update(
        owner=actor, status=STATUS.ASSIGNED, assigned=timezone.now()
    )
    return taken == 1


def queue_claim_next(*, committee_id: int, actor: User, source_ip: str | None = None) -> CaseClock | None:
    """Give the caller the most urgent unclaimed task of a queue; answer its clock, or None when
    the queue is empty.

    The hot path of a staff member clearing a queue, so it takes no process lock: the queue row
    and its case row are picked together with SKIP LOCKED (concurrent callers take different
    tasks, and a case someone is acting on is passed over, and a queue row is never held while
    waiting), and the task by a conditional UPDATE that only an unclaimed task satisfies. Every
    flow step reads its task after taking the case row, so it sees this claim."""
    if not access.is_committee_staff(actor, committee_id):
        raise NotFound(_("工作队列不存在。"), code="queue_not_found")
    with transaction.atomic():
        skipped: list[int] = []
        for _attempt in range(8):
            # The queue row and its case row in one statement; a candidate whose case someone
            # holds is skipped like a taken queue row.
            clock = (
                CaseClock.objects.select_for_update(skip_locked=True, of=("self", "case"))
                .select_related("case")
                .filter(queue_id=committee_id, state=ClockState.RUNNING, assignee__isnull=True)
                .exclude(id__in=skipped)
                .order_by("due_at", "id")
                .first()
            )
            if clock is None:
                return None
            if not _take_unclaimed_task(clock.task_id, actor):
                skipped.append(clock.pk)
                continue
            cases.case_claim(case=clock.case, actor=actor, clock=clock, source_ip=source_ip)
            return clock
    raise Conflict(_("队列繁忙，请稍后重试。"), code="queue_busy")


__all__ = [
    "case_accept",
    "case_answer_info",
    "case_claim",
    "case_convert",
    "case_file",
    "case_merge",
    "case_record_feedback",
    "case_redirect",
    "case_reject",
    "case_release",
    "case_request_info",
    "case_resolve",
    "case_send_back",
    "case_submit",
    "case_update",
    "output_record_outcome",
    "queue_claim_next",
]
