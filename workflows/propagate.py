"""An output's events reaching the cases it gathered, in bulk.

An output (成果) gathers any number of cases, and what happens to it (its outcome recorded, a
proposal filed or answered, a report adopted ...) is told on the timeline of each of them; some
of those events also bring the cases waiting on the outcome to the member's feedback. However
many cases the output gathered, `tell_cases` does it in the same number of statements: each kind
of row (the cases, their duplicates, their flow tasks, their clocks, their audit events) is read
or written once for all of them, never once per case.

Which event a case gets: a case that moves gets CASE_OUTCOME_RECEIVED, as when the outcome came
case by case (its changes say which output and what outcome: that event is the output's event,
told in the case's own words), and nothing more; every other gathered case gets
CASE_OUTPUT_EVENT with {"output", "event", "summary"}. Merged duplicates are not told: they
follow their master's outcome (CASE_OUTCOME_FOLLOWED) as they always have.

No one is notified: the case-by-case path notified nobody either (the member sees the feedback
task in their own list)."""

from __future__ import annotations

from typing import Any

from django.db import connection

from casework.choices import AuditAction, CaseStatus
from casework.models import Case, Output, User
from casework.services import cases as case_effects
from casework.services import clocks, locks
from casework.services.audit import audit_cases

from . import engine
from .case_lifecycle import CASE


def tell_cases(
    output: Output,
    actor: User | None,
    *,
    event: str,
    summary: str,
    moves: bool,
    outcome: str = "",
    source_ip: str | None = None,
    gathered: list[Case] | None = None,
) -> int:
    """Write the output's event `event` (an AuditAction value of the output, e.g.
    "output.outcome_recorded") onto the timeline of every case the output gathered (not merged
    ones: they follow their master), and when `moves`, move each gathered case waiting in status
    OUTCOME to FEEDBACK with `outcome` as its outcome, as the case transition receive_outcome
    does for one: the outcome text and status, the awaited-outcome task completed and the
    feedback task opened assigned to the member, the clocks followed, merged duplicates
    following their master, the event CASE_OUTCOME_RECEIVED. Answers the number of cases told.

    Called inside the caller's transaction with the output row locked; `gathered`: the output's
    cases when the caller has already locked them (`locks.gathered_cases(output)`), else they
    are locked here. Bad input (an empty or overlong outcome) raises InvalidInput before
    anything is written; a case whose flow does not wait on its outcome raises Conflict
    (out_of_step). Whatever raises, the caller's transaction rolls back and nothing changes."""
    assert connection.in_atomic_block, "an output's event is told in the transaction of the output's change"
    assert not AuditAction(event).value.startswith("case."), f"{event} is an event of a case, not of an output"
    if moves:
        outcome = CASE["receive_outcome"].input.clean({"outcome": outcome})["outcome"]
    told = gathered if gathered is not None else locks.gathered_cases(output)
    moving = [case for case in told if moves and case.status == CaseStatus.OUTCOME]
    entries: list[tuple[Case, str, dict[str, Any]]] = []
    fields: dict[str, Any] = {}
    if moving:
        # The lock order: the cases (held), their duplicates, then their process rows.
        entries.extend(case_effects.pass_outcome_to_merged_all(moving, outcome))
        opened = engine.complete_outcomes(moving)
        received, fields = case_effects.receive_outcomes(moving, outcome)
        clocks.follow_all(moving, left=CaseStatus.OUTCOME, opened={pk: task.ref for pk, task in opened.items()})
        entries.extend((case, AuditAction.CASE_OUTCOME_RECEIVED, changes) for case, changes in received)
    moved = {case.pk for case in moving}
    told_of = {"output": output.pk, "event": str(event), "summary": str(summary)}
    entries.extend((case, AuditAction.CASE_OUTPUT_EVENT, dict(told_of)) for case in told if case.pk not in moved)
    # The moved cases' status and outcome are written by the statement that moves their heads.
    audit_cases(entries, actor, source_ip, heads_from_records=True, fields=fields, fields_on=moved)
    return len(told)


__all__ = ["tell_cases"]
