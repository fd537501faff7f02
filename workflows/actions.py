"""Running the declared transitions: the one way in for every state change (the API, the
pages, the admin, tasks and the demo data all come through here).

`perform` runs a case transition in one transaction: it checks the input, locks the rows (the
one lock order, `casework.services.locks`), checks the transition is allowed now (`refusal`,
the same check `available` answers with), applies the domain effect, moves the flow, keeps the
stage clocks and writes the audit event with the declared action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from casework import access, selectors
from casework.choices import STAGE_OF_STATUS, ClockState
from casework.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from casework.models import Case, CaseClock, Output, User
from casework.services import cases, clocks, locks
from casework.services.audit import audit_case

from . import engine
from .case_lifecycle import CASE, Intake
from .declare import Hold, Move, Party, Transition
from .inputs import Field

TASK_MOVES = (Move.CLAIM, Move.RELEASE, Move.REASSIGN, Move.COMPLETE, Move.SEND_BACK)
_UNSET: Any = object()


def _not_now(status_display: str, label: Any, status: str) -> TransitionNotAllowed:
    return TransitionNotAllowed(
        _("当前状态为「%(status)s」，不能执行「%(action)s」。") % {"status": status_display, "action": label},
        details={"status": status},
    )


def _out_of_step() -> Conflict:
    return Conflict(_("案件的流程与状态不一致，请联系管理员。"), code="out_of_step")


def refusal(t: Transition, user: User, case: Case, task: engine.Task | None) -> DomainError | None:
    """Why `user` may not do `t` to `case` now, or None when they may. The one guard: `perform`
    raises what it answers and `available` lists the transitions it has nothing against."""
    if case.status not in t.statuses:
        return _not_now(case.get_status_display(), t.label, case.status)
    parties = t.parties(case.status)
    if not any(party.includes(user, case) for party in parties):
        return PermissionDenied(code=parties[0].refusal)
    if t.move in TASK_MOVES or t.hold is not Hold.ANY:
        if task is None or task.stage != STAGE_OF_STATUS.get(case.status):
            return _out_of_step()
        if t.hold is Hold.FREE and task.owner_id == user.pk:
            return Conflict(_("您已认领此任务。"), code="claimed_by_you")
        if t.hold in (Hold.FREE, Hold.TAKE) and task.owner_id not in (None, user.pk):
            return Conflict(code="claimed_by_other", details={"owner": task.owner_id})
        if t.hold is Hold.MINE and task.owner_id != user.pk:
            return Conflict(_("只能放弃自己认领的任务。"), code="not_claimed_by_you")
    for rule in t.rules:
        if not rule.holds(case):
            return TransitionNotAllowed(rule.says(case), details={"status": case.status})
    return None


def _explained(error: DomainError) -> DomainError:
    """The refusal in words a person reads: a task held by someone else names them."""
    if error.code == "claimed_by_other":
        owner = User.objects.filter(pk=error.details["owner"]).first()
        error.message = _("该任务已由 %(name)s 认领。") % {"name": str(owner) if owner else _("其他工作人员")}
    return error


def _raise(error: DomainError) -> None:
    raise _explained(error)


def open_task(case: Case) -> engine.Task | None:
    """The task `case` waits on (none in draft, closed, merged)."""
    return engine.open_task(case.pk) if case.status in STAGE_OF_STATUS else None


def available(user: User, case: Case, task: engine.Task | None = _UNSET) -> list[Transition]:
    """The transitions `user` may do to `case` now, in declaration order."""
    if task is _UNSET:
        task = open_task(case)
    return [t for t in CASE.public() if refusal(t, user, case, task) is None]


def may_set(user: User, case: Case, field: Field) -> bool:
    """Whether `user` may set `field` of a transition on `case` (see `Field.only`)."""
    return not field.only or Party(field.only).includes(user, case)


def _locked_refs(t: Transition, values: dict[str, Any], kind: str) -> list[int]:
    return [values[f.name] for f in t.input.fields if getattr(f, "locks", "") == kind and values.get(f.name)]


def _record(t: Transition, case: Case, actor: User | None, values: dict[str, Any], source_ip: str | None) -> Any:
    return t.apply_effect({"case": case, "actor": actor}, values, source_ip)


def _apply(
    t: Transition,
    case: Case,
    actor: User | None,
    task: engine.Task | None,
    values: dict[str, Any],
    source_ip: str | None,
) -> None:
    """Apply an allowed transition to a locked case."""
    if t.hold is Hold.TAKE and task is not None and task.owner_id is None and actor is not None:
        # Decided by whoever holds it: an unclaimed task is claimed on the way, with its own
        # event; the engine assigns the task as it completes it.
        claim = CASE["claim"]
        claimed = _record(claim, case, actor, {}, source_ip)
        clocks.hold(case, task.stage, actor.pk)
        audit_case(case, actor, claim.audit, claimed, source_ip)
    left = case.status
    if t.move is Move.REASSIGN:
        # The effect says who gets it, and refuses the one who holds it already.
        assert task is not None
        values = {**values, "holder_id": task.owner_id}
    changes = _record(t, case, actor, values, source_ip)
    if t.move is Move.START:
        opened = engine.start(case)
        clocks.follow(case, left=None, opened=opened.ref if opened else None)
    elif t.move is Move.CLAIM:
        assert task is not None and actor is not None
        engine.claim(case, task, actor)
        clocks.hold(case, task.stage, actor.pk)
    elif t.move is Move.RELEASE:
        assert task is not None
        engine.release(case, task)
        clocks.hold(case, task.stage, None)
    elif t.move is Move.REASSIGN:
        assert task is not None and changes is not None
        engine.reassign(case, task, User.objects.get(pk=changes["to"]))
        clocks.hold(case, task.stage, changes["to"])
    elif t.move is Move.COMPLETE:
        assert task is not None
        opened = engine.complete(case, task, actor)
        clocks.follow(case, left=left, opened=opened.ref if opened else None)
    elif t.move is Move.SEND_BACK:
        assert task is not None
        reopened = engine.send_back(case, task)
        clocks.follow(case, left=left, opened=reopened.ref, undone=True)
    if changes is not None:  # None: the effect changed nothing (an edit to the same values)
        audit_case(case, actor, t.audit, changes, source_ip)


def apply_to_case(
    t: Transition,
    case: Case,
    actor: User | None,
    task: engine.Task | None,
    values: dict[str, Any],
    source_ip: str | None,
) -> None:
    """Apply an allowed case transition to a locked case: for the output transitions that carry
    on to the cases they gathered."""
    _apply(t, case, actor, task, values, source_ip)


def perform(
    name: str,
    *,
    case_id: int,
    actor: User,
    data: Any = None,
    source_ip: str | None = None,
    check: Callable[[Case], None] | None = None,
    first: Callable[[], None] | None = None,
    then: Callable[[Case], None] | None = None,
) -> Case:
    """Do the case transition `name` as `actor`. Raises a DomainError (and changes nothing) when
    the input is bad, the case is not one the actor may see, or the transition is not theirs to
    do now.

    `check` runs on the locked case before anything else is decided (a caller's precondition: the
    case is still as the caller last saw it); whatever it raises changes nothing. `first` runs as
    the transaction's first statement and `then` with the changed case as its last, so what they
    write (a retried request's key, taken before any lock, and its answer) commits or rolls back
    with the change."""
    t = CASE[name]
    if not t.is_public:
        raise NotFound(_("没有名为「%(n)s」的流转。") % {"n": name}, code="unknown_transition")
    values = t.input.clean(data)
    with transaction.atomic():
        if first is not None:
            first()
        locked = locks.acquire(
            actor, cases=[case_id, *_locked_refs(t, values, "case")], outputs=_locked_refs(t, values, "output")
        )
        case = locked.cases.get(case_id)
        if case is None:
            raise NotFound(_("案件不存在。"), code="case_not_found")
        if check is not None:
            check(case)
        task = open_task(case)
        error = refusal(t, actor, case, task)
        if error is not None:
            _raise(error)
        for field in t.input.fields:
            if field.name in values and not may_set(actor, case, field):
                raise PermissionDenied(
                    _("您不能设置「%(f)s」。") % {"f": field.label},
                    code="field_not_yours",
                    details={"field": field.name},
                )
            kind = getattr(field, "locks", "")
            if kind and values.get(field.name) is not None:
                found = (locked.cases if kind == "case" else locked.outputs).get(values[field.name])
                if found is None:
                    raise NotFound(
                        _("所选的「%(f)s」不存在。") % {"f": field.label},
                        code=f"{field.name}_not_found",
                        details={"field": field.name},
                    )
                values[field.name] = found
        _apply(t, case, actor, task, values, source_ip)
        if then is not None:
            then(case)
    return case


def file_case(
    *,
    actor: User,
    data: Any,
    source_ip: str | None = None,
    first: Callable[[], None] | None = None,
    then: Callable[[Case], None] | None = None,
) -> Case:
    """File a concern: a draft, or straight into its committee's review queue. `first` and
    `then`: as for `perform`, `then` with the new case."""
    values = Intake.input.clean(data)
    submitted = values.pop("submit")
    with transaction.atomic():
        if first is not None:
            first()
        case, changes = cases.create(actor=actor, submit=submitted, **values)
        if submitted:
            opened = engine.start(case)
            clocks.follow(case, left=None, opened=opened.ref if opened else None)
        audit_case(case, actor, Intake.audit(submitted), changes, source_ip, new_stream=True)
        if then is not None:
            then(case)
    return case


def output_available(user: User, output: Output) -> list[Transition]:
    from .output_actions import available as available_on_output

    return available_on_output(user, output)


def perform_output(
    name: str,
    *,
    output_id: int,
    actor: User,
    data: Any = None,
    source_ip: str | None = None,
    check: Callable[[Output], None] | None = None,
    first: Callable[[], None] | None = None,
    then: Callable[[Output], None] | None = None,
) -> Output:
    """Do the output transition `name` (see `output_actions.perform`)."""
    from .output_actions import perform as perform_on_output

    return perform_on_output(
        "output",
        name,
        record_id=output_id,
        actor=actor,
        data=data,
        source_ip=source_ip,
        check=check,
        first=first,
        then=then,
    )


def claim_next(
    *,
    committee_id: int,
    actor: User,
    source_ip: str | None = None,
    first: Callable[[], None] | None = None,
    then: Callable[[CaseClock | None], None] | None = None,
) -> CaseClock | None:
    """Give the caller the most urgent unclaimed task of a queue; answer its clock, or None when
    the queue is empty.

    The hot path of a staff member clearing a queue, so it takes no process lock: the queue row
    and its case row are picked together with SKIP LOCKED (concurrent callers take different
    tasks, a case someone is acting on is passed over, and a queue row is never held while
    waiting), and the task by a conditional UPDATE that only an unclaimed task satisfies. Every
    flow step reads its task after taking the case row, so it sees this claim. `first` and `then`:
    as for `perform`, `then` with the claimed clock (None: the queue was empty)."""
    if not access.is_committee_staff(actor, committee_id):
        raise NotFound(_("工作队列不存在。"), code="queue_not_found")
    claim = CASE["claim"]
    with transaction.atomic():
        if first is not None:
            first()
        skipped: list[int] = []
        for _attempt in range(8):
            clock = (
                CaseClock.objects.select_for_update(skip_locked=True, of=("self", "case"))
                .select_related("case")
                .filter(queue_id=committee_id, state=ClockState.RUNNING, assignee__isnull=True)
                .exclude(id__in=skipped)
                .order_by(*selectors.DUE_ORDER)
                .first()
            )
            if clock is None:
                if then is not None:
                    then(None)
                return None
            if not engine.take_unclaimed(clock.task_id, actor):
                skipped.append(clock.pk)
                continue
            case = clock.case
            changes = _record(claim, case, actor, {}, source_ip)
            clocks.hold(case, clock.stage, actor.pk, clock=clock)
            audit_case(case, actor, claim.audit, changes, source_ip)
            if then is not None:
                then(clock)
            return clock
    raise Conflict(_("队列繁忙，请稍后重试。"), code="queue_busy")


# The most tasks one bulk claim takes: a page's worth. More at once is a sign of a mistake
# (select-all on the wrong filter), and each claim holds its case's row until the end.
BULK_CLAIM_MAX = 50


def claim_many(
    *,
    committee_id: int,
    case_ids: list[int],
    actor: User,
    source_ip: str | None = None,
) -> list[Case]:
    """Claim the open tasks of the given cases of one queue for `actor`, all or nothing: each
    as the declared `claim` transition claims one (its guard, its effect, its audit event). The
    cases are locked in the one order (ascending id, `locks.acquire`); if any one of them may not
    be claimed by the actor now, nothing is, and the Conflict (`bulk_claim_refused`) lists in
    `details["refused"]` each such case (`case`, `title`, `reason`) in words. Answers the
    claimed cases by ascending id."""
    if not access.is_committee_staff(actor, committee_id):
        raise NotFound(_("工作队列不存在。"), code="queue_not_found")
    ids = sorted(set(case_ids))
    if not ids:
        raise InvalidInput(_("请先勾选要认领的案件。"), code="nothing_chosen", details={"field": "case"})
    if len(ids) > BULK_CLAIM_MAX:
        raise InvalidInput(
            _("一次最多认领 %(max)d 件，您选了 %(n)d 件。") % {"max": BULK_CLAIM_MAX, "n": len(ids)},
            code="too_many",
            details={"field": "case", "max": BULK_CLAIM_MAX},
        )
    claim = CASE["claim"]
    with transaction.atomic():
        locked = locks.acquire(actor, cases=ids)
        refused: list[dict[str, Any]] = []
        ready: list[tuple[Case, engine.Task | None]] = []
        for case_id in ids:
            case = locked.cases.get(case_id)
            if case is None or case.committee_id != committee_id:
                refused.append({"case": case_id, "title": "", "reason": str(_("案件不存在或不在本队列中。"))})
                continue
            task = open_task(case)
            error = refusal(claim, actor, case, task)
            if error is not None:
                reason = str(_explained(error).message)
                refused.append({"case": case_id, "title": case.title, "reason": reason})
            else:
                ready.append((case, task))
        if refused:
            raise Conflict(
                _("未认领任何案件：所选的 %(n)d 件中有 %(k)d 件已不能由您认领。") % {"n": len(ids), "k": len(refused)},
                code="bulk_claim_refused",
                details={"refused": refused},
            )
        for case, task in ready:
            _apply(claim, case, actor, task, {}, source_ip)
    return [case for case, _task in ready]


__all__ = [
    "BULK_CLAIM_MAX",
    "available",
    "claim_many",
    "claim_next",
    "file_case",
    "may_set",
    "open_task",
    "output_available",
    "perform",
    "perform_output",
    "refusal",
]
