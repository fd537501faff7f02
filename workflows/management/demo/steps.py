"""Steps of the demo's history and how they run. A step names a declared transition (of the case
lifecycle, or of an output's, its signatures' or its assignments') with its input, checked
against the declaration when it is planned; it runs through `workflows.actions` (a case's) or
`workflows.output_actions` (an output's) as whoever the declaration says does it: the case's
member for a member's transition, whoever holds the open task for one decided by its holder,
otherwise the staff member planned for the case; an output's steps name their actor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from casework.models import Member, User
from workflows import actions, engine, output_actions
from workflows.case_lifecycle import CASE, Intake
from workflows.declare import Hold, Party, Transition
from workflows.output_lifecycle import ASSIGNMENT, LIFECYCLES, SIGNATURE

from .data import Theme

FILE = "file"  # not a transition of a case: filing makes one (`Intake`)


@dataclass
class Step:
    at: datetime
    record: CasePlan | OutputPlan
    transition: Transition | None  # None: filing
    # The transition's input; a callable value is read when the step runs (an id not made yet).
    data: dict[str, Any]
    actor: User | None = None  # an output's steps: who does it
    then: Callable[[Any], None] | None = None  # given what the action answered
    # An output's steps: the kind of record acted on (output, signature, assignment) and, for a
    # signature or an assignment, its id, read when the step runs (made by an earlier step).
    kind: str = "output"
    record_id: Callable[[], int] | None = None


def _checked(name: str, lifecycle: Any, data: dict[str, Any]) -> Transition | None:
    if name == FILE and lifecycle is CASE:  # (a proposal's "file" is the office's 立案)
        fields = {f.name for f in Intake.input.fields}
        transition = None
    else:
        transition = lifecycle[name]
        fields = {f.name for f in transition.input.fields}
    unknown = set(data) - fields
    assert not unknown, f"{name} takes no {sorted(unknown)} (its input: {sorted(fields)})"
    return transition


@dataclass
class CasePlan:
    """What happens to one case, and when."""

    key: int
    kind: str
    member: Member
    staff: User  # who decides it, unless someone else holds the task
    theme: Theme
    place: dict[str, str]
    fields: dict[str, Any]  # what it is filed with
    committee_id: int
    steps: list[Step] = field(default_factory=list)
    case_id: int | None = None
    opened: Step | None = None  # the step that put it into review (a merge target from then)
    closed: Step | None = None  # the step that closed or merged it

    @property
    def member_user(self) -> User:
        assert self.member.user is not None
        return self.member.user

    def add(self, at: datetime, name: str, **data: Any) -> Step:
        step = Step(at, self, _checked(name, CASE, data), data)
        self.steps.append(step)
        return step


# The lifecycle of each kind of record of an output, by the output's type.
OUTPUT_KINDS: dict[str, Callable[[str], Any]] = {
    "output": lambda output_type: LIFECYCLES[output_type],
    "signature": lambda output_type: SIGNATURE,
    "assignment": lambda output_type: ASSIGNMENT,
}


@dataclass
class OutputPlan:
    """An output gathering cases of one theme, and how far it goes: `recorded` (an outcome
    recorded on it), or for a type with its own lifecycle, `target`, the status it ends in."""

    key: int
    output_type: str
    theme: Theme
    committee_id: int
    title: str
    recorded: bool
    cases: list[CasePlan] = field(default_factory=list)
    output_id: int | None = None
    outcome: str = ""
    target: str = ""
    staff: User | None = None  # the committee's staff member who gathers it

    def step(
        self,
        at: datetime,
        name: str,
        actor: User,
        *,
        kind: str = "output",
        record_id: Callable[[], int] | None = None,
        **data: Any,
    ) -> Step:
        lifecycle = OUTPUT_KINDS[kind](self.output_type)
        return Step(at, self, _checked(name, lifecycle, data), data, actor=actor, kind=kind, record_id=record_id)


def shift(steps: list[Step], delta: timedelta) -> None:
    for step in steps:
        step.at -= delta


class Runner:
    def __init__(self, users_by_id: dict[int, User]) -> None:
        self.users_by_id = users_by_id

    def holder(self, plan: CasePlan) -> User | None:
        """Whoever holds the case's open staff task, if anyone does."""
        assert plan.case_id is not None
        task = engine.open_task(plan.case_id)
        owner = self.users_by_id.get(task.owner_id) if task is not None and task.owner_id else None
        return owner if owner is not None and owner.pk != plan.member.user_id else None

    def actor(self, t: Transition, plan: CasePlan) -> User:
        parties = {g.party for g in t.grants}
        if parties == {Party.CASE_MEMBER}:
            return plan.member_user
        if t.hold is Hold.TAKE:  # decided by whoever holds the task
            return self.holder(plan) or plan.staff
        return plan.staff

    def run(self, step: Step) -> None:
        data = {key: value() if callable(value) else value for key, value in step.data.items()}
        record, t = step.record, step.transition
        answer: Any
        if isinstance(record, OutputPlan):
            assert t is not None and step.actor is not None and record.output_id is not None
            record_id = step.record_id() if step.record_id is not None else record.output_id
            answer = output_actions.perform(step.kind, t.name, record_id=record_id, actor=step.actor, data=data)
        elif t is None:
            answer = actions.file_case(actor=record.member_user, data={**record.fields, **data})
            record.case_id = answer.pk
        else:
            assert record.case_id is not None
            answer = actions.perform(t.name, case_id=record.case_id, actor=self.actor(t, record), data=data)
        if step.then is not None:
            step.then(answer)
