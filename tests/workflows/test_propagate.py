"""An output's event reaching every case it gathered at once (workflows/propagate.py): what each
case ends with, that it is what the case-by-case path writes, that the statements do not grow
with the number of cases, and that a failure part way changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow.models import Task as FlowTask
from viewflow.workflow.signals import task_finished, task_started

from casework.choices import AuditAction, CaseStatus, ClockState, OutputStatus
from casework.errors import Conflict, InvalidInput
from casework.models import AuditEvent, Case, CaseClock, Output
from casework.services import audit, locks
from casework.services.audit import AuditHeadConflict, audit_cases, case_stream, verify_chain
from tests.helpers import do, do_output, events, open_task, today
from tests.workflows.test_case_flow import file_case
from workflows import actions, engine, propagate
from workflows.case_lifecycle import CASE
from workflows.engine.flows import CaseFlow


def gathered_output(world, n: int, *, duplicates: int = 0) -> tuple[Output, list[Case], list[Case]]:
    """An output of `n` cases waiting on its outcome, the first `duplicates` of them each with a
    case merged into it (and one merged into that one, for the first)."""
    cases, merged = [], []
    for i in range(n):
        case = file_case(world, title=f"案件{i}")
        if i < duplicates:
            duplicate = file_case(world, title=f"重复{i}")
            if i == 0:  # a duplicate of a duplicate follows too
                second = file_case(world, title="重复的重复")
                do("merge", second.pk, world.staff, into=duplicate.pk)
                merged.append(second)
            do("merge", duplicate.pk, world.staff, into=case.pk)
            merged.append(duplicate)
        cases.append(case)
    output = None
    for case in cases:
        do("accept", case.pk, world.staff)
        do("convert", case.pk, world.staff, output_type="info_report", **({"output": output.pk} if output else {}))
        case.refresh_from_db()
        output = output or Output.objects.get(pk=case.output_id)
    assert output is not None
    return output, cases, merged


def tell(output: Output, actor: Any, **kw: Any) -> int:
    """`tell_cases` as a caller calls it: in its transaction, the output row locked."""
    with transaction.atomic():
        locked = locks.acquire(actor, outputs=[output.pk]).outputs[output.pk]
        return propagate.tell_cases(locked, actor, **kw)


def prepare(output: Output, world: Any) -> None:
    """Bring the info report to where an instruction can be recorded on it: edited, submitted,
    used in a bulletin issue (each told to its cases without moving them)."""
    do_output("edit", output.pk, world.staff, analysis="分析", suggestion="建议")
    do_output("submit", output.pk, world.staff)
    do_output("use", output.pk, world.staff)


def instruct(output: Output, world: Any, text: str) -> None:
    """A leader's instruction on the report: the event that moves its waiting cases."""
    do_output(
        "instruct", output.pk, world.staff, leader="周主席", rank="city", text=text, given_on=str(timezone.localdate())
    )


def answer(output: Output, world: Any, text: str) -> None:
    prepare(output, world)
    instruct(output, world, text)


def last_event(case: Case) -> AuditEvent:
    return AuditEvent.objects.filter(stream=case_stream(case.pk)).order_by("-seq").first()


def test_an_outcome_moves_every_gathered_case_at_once(world):
    output, cases, merged = gathered_output(world, 4, duplicates=2)

    answer(output, world, "被市政协采用")

    member = world.member.user.pk
    told = Case.objects.get(pk=cases[0].pk).outcome
    assert "被市政协采用" in told
    for case in cases:
        case.refresh_from_db()
        assert (case.status, case.outcome) == (CaseStatus.FEEDBACK, told)
        task = open_task(case)
        assert (task["stage"], task["owner"]) == ("feedback", member)
        clock = CaseClock.objects.get(case=case, stage="feedback")
        assert (clock.state, clock.task_id, clock.assignee_id) == (ClockState.RUNNING, task["id"], member)
        assert clock.due_at is not None and clock.claimed_at is not None
        event = last_event(case)
        assert (event.action, event.actor_id) == (AuditAction.CASE_OUTCOME_RECEIVED, world.staff.pk)
        assert event.changes == {"status": ["outcome", "feedback"], "output": output.pk, "outcome": told}
    for duplicate in merged:
        duplicate.refresh_from_db()
        assert (duplicate.status, duplicate.outcome) == (CaseStatus.MERGED, told)
        event = last_event(duplicate)
        assert event.action == AuditAction.CASE_OUTCOME_FOLLOWED
        assert event.changes == {"master": duplicate.merged_into_id, "outcome": told}
    assert verify_chain() == []

    # The flow goes on from the rows the bulk step wrote.
    do("feedback", cases[0].pk, world.member.user, told_on=today(), method="visit", satisfaction="satisfied")
    cases[0].refresh_from_db()
    assert cases[0].status == CaseStatus.CLOSED
    assert events(cases[0])[-1] == ("case.closed", member)
    assert CaseClock.objects.get(case=cases[0], stage="feedback").is_met is True


def test_an_event_that_does_not_move_is_written_on_every_timeline(world):
    output, cases, merged = gathered_output(world, 3, duplicates=1)
    answer(output, world, "已立案")
    before = {c.pk: (Case.objects.get(pk=c.pk).status, len(events(c))) for c in cases + merged}

    told = tell(
        output, world.staff, event="output.outcome_recorded", summary="提案已立案", moves=False, source_ip="10.0.0.9"
    )

    assert told == 3
    for case in cases:
        event = last_event(case)
        assert (event.action, event.actor_id, event.source_ip) == ("case.output_event", world.staff.pk, "10.0.0.9")
        assert event.changes == {"output": output.pk, "event": "output.outcome_recorded", "summary": "提案已立案"}
        assert event.get_action_display() == "成果进展"
        assert (Case.objects.get(pk=case.pk).status, len(events(case))) == (before[case.pk][0], before[case.pk][1] + 1)
    for duplicate in merged:  # duplicates follow their master's outcome only
        assert len(events(duplicate)) == before[duplicate.pk][1]
    assert verify_chain() == []

    client = Client()
    client.force_login(world.member.user)
    page = client.get(reverse("case-page", args=[cases[1].pk])).content.decode()
    assert "成果进展" in page and "提案已立案" in page


def test_only_the_cases_waiting_move_the_others_are_told(world):
    output, cases, _merged = gathered_output(world, 3)
    first = cases[0]
    with transaction.atomic():  # the first case got its outcome on its own, case by case
        locked = locks.acquire(world.staff, cases=[first.pk]).cases[first.pk]
        actions._apply(
            CASE["receive_outcome"], locked, world.staff, actions.open_task(locked), {"outcome": "先到"}, None
        )

    assert (
        tell(output, world.staff, event="output.outcome_recorded", summary="登记办理结果", moves=True, outcome="后到")
        == 3
    )

    first.refresh_from_db()
    assert (first.outcome, last_event(first).action) == ("先到", "case.output_event")
    for case in cases[1:]:
        case.refresh_from_db()
        assert (case.status, case.outcome, last_event(case).action) == ("feedback", "后到", "case.outcome_received")
    assert all(open_task(c)["stage"] == "feedback" for c in cases)
    assert verify_chain() == []


def _rows(case: Case) -> dict[str, Any]:
    """What the flow step wrote for a case, without ids and times (their presence kept)."""
    tasks = list(FlowTask.objects.filter(process__caseprocess__case_id=case.pk).order_by("id"))
    names = {t.pk: t.flow_task.name for t in tasks}
    times = ("created", "assigned", "started", "finished", "scheduled")
    case.refresh_from_db()
    return {
        "tasks": [
            {
                **{f: getattr(t, f) for f in ("flow_task_type", "status", "owner_id", "external_task_id", "data")},
                "node": t.flow_task.name,
                "token": str(t.token),
                "owner_permission": t.owner_permission,
                "seed": (t.seed_content_type_id, t.seed_object_id),
                "artifact": (t.artifact_content_type_id, t.artifact_object_id),
                **{f: getattr(t, f) is not None for f in times},
                "previous": sorted(names[p.pk] for p in t.previous.all()),
            }
            for t in tasks
        ],
        "clocks": [
            {
                **{
                    f: getattr(c, f)
                    for f in ("stage", "state", "queue_id", "assignee_id", "due_at", "due_error", "is_met")
                },
                # the warning is a share of the stage's time before its due time: it moves with
                # the moment the clock started, which differs by the time between the two paths
                "warns": c.warn_at is not None and c.started_at < c.warn_at <= c.due_at,
                "task_is_open_task": c.task_id is not None and c.task_id == (tasks[-1].pk if tasks else None),
                **{f: getattr(c, f) is not None for f in ("started_at", "stopped_at", "claimed_at")},
            }
            for c in CaseClock.objects.filter(case=case).order_by("id")
        ],
        "case": (case.status, case.outcome, case.audit_seq),
        "event": (last_event(case).action, {k: v for k, v in last_event(case).changes.items()}),
    }


def test_the_bulk_step_writes_what_the_case_by_case_step_writes(world):
    output, (single, bulk_case), _ = gathered_output(world, 2)
    assert _rows(single)["tasks"] == _rows(bulk_case)["tasks"]  # the same flow state before

    with transaction.atomic():  # the case-by-case path, as perform_output took it before
        locked = locks.acquire(world.staff, cases=[single.pk]).cases[single.pk]
        task = engine.waiting_on_outcome([single.pk])[single.pk]
        actions._apply(CASE["receive_outcome"], locked, world.staff, task, {"outcome": "同一结果"}, None)
    with transaction.atomic():  # the bulk path, for the other case only
        locked = locks.gathered_cases(output, CaseStatus.OUTCOME)
        assert [c.pk for c in locked] == [bulk_case.pk]
        propagate.tell_cases(
            output,
            world.staff,
            event="output.outcome_recorded",
            summary="",
            moves=True,
            outcome="同一结果",
            gathered=locked,
        )

    one, many = _rows(single), _rows(bulk_case)
    assert one == many
    assert [t["node"] for t in many["tasks"]][-2:] == ["await_outcome", "feedback"]
    assert many["tasks"][-1]["previous"] == ["await_outcome"]
    assert not task_started.receivers and not task_finished.receivers  # the bulk step sends no signals
    assert verify_chain() == []


def _statements(world, n: int) -> int:
    output, _cases, _merged = gathered_output(world, n, duplicates=2)
    prepare(output, world)
    with CaptureQueriesContext(connection) as ctx:
        instruct(output, world, "已采用")
    assert Case.objects.filter(output=output, status=CaseStatus.FEEDBACK).count() == n
    with CaptureQueriesContext(connection) as told:
        assert tell(output, world.staff, event="output.outcome_recorded", summary="再告知", moves=False) == n
    return len(ctx.captured_queries) * 1000 + len(told.captured_queries)


def _same_statements_for_3_and_40(world) -> None:
    small, large = _statements(world, 3), _statements(world, 40)
    assert small == large, (small, large)
    assert small // 1000 <= 20  # the output's own statements and a dozen or so for all its cases
    assert verify_chain() == []


def test_the_statements_do_not_grow_with_the_cases(world):
    _same_statements_for_3_and_40(world)


@pytest.mark.postgres
def test_the_statements_do_not_grow_with_the_cases_on_postgresql(world):
    assert connection.vendor == "postgresql"
    _same_statements_for_3_and_40(world)


def _state(output: Output) -> dict[str, Any]:
    ids = list(Case.objects.filter(output=output).values_list("id", flat=True))
    merged = list(Case.objects.filter(merged_into__in=ids).values_list("id", flat=True))
    return {
        "output": Output.objects.filter(pk=output.pk).values("status", "outcome", "audit_seq").get(),
        "cases": list(Case.objects.filter(pk__in=ids + merged).order_by("id").values()),
        "tasks": list(FlowTask.objects.filter(process__caseprocess__case_id__in=ids).order_by("id").values()),
        "links": FlowTask.previous.through.objects.count(),
        "clocks": list(CaseClock.objects.filter(case_id__in=ids).order_by("id").values()),
        "events": AuditEvent.objects.count(),
    }


def test_a_failure_after_the_bulk_writes_changes_nothing(world, monkeypatch):
    output, _cases, _merged = gathered_output(world, 5, duplicates=1)
    prepare(output, world)
    before = _state(output)
    real = propagate.audit_cases
    written: list[int] = []

    def audit_then_fail(*args: Any, **kwargs: Any) -> Any:
        written.append(len(real(*args, **kwargs)))
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(propagate, "audit_cases", audit_then_fail)
    with pytest.raises(RuntimeError):
        instruct(output, world, "已采用")

    assert written == [5 + 2]  # every write was made, then undone
    assert _state(output) == before
    assert before["output"]["status"] == OutputStatus.USED
    assert verify_chain() == []


def test_a_case_out_of_step_with_its_flow_stops_everything(world):
    output, cases, _merged = gathered_output(world, 3)
    prepare(output, world)
    FlowTask.objects.filter(process__caseprocess__case_id=cases[1].pk, flow_task=CaseFlow.await_outcome).update(
        status="CANCELED"
    )
    before = _state(output)

    with pytest.raises(Conflict) as raised:
        instruct(output, world, "已采用")

    assert raised.value.code == "out_of_step"
    assert _state(output) == before


def test_a_bad_outcome_is_refused_before_anything_is_written(world):
    output, _cases, _merged = gathered_output(world, 2)
    before = _state(output)
    with pytest.raises(InvalidInput):
        tell(output, world.staff, event="output.outcome_recorded", summary="", moves=True, outcome="")
    with pytest.raises(InvalidInput):
        tell(output, world.staff, event="output.outcome_recorded", summary="", moves=True, outcome="长" * 5001)
    assert _state(output) == before


def test_bulk_audit_chains_several_events_per_case_and_reads_heads_itself(world):
    _output, cases, _merged = gathered_output(world, 3)
    stale = Case.objects.get(pk=cases[0].pk)
    with transaction.atomic():
        stored = audit_cases(
            [
                (cases[0], AuditAction.CASE_OUTPUT_EVENT, {"n": 1}),
                (cases[1], AuditAction.CASE_OUTPUT_EVENT, {"n": 2}),
                (cases[0], AuditAction.CASE_OUTPUT_EVENT, {"n": 3}),
            ],
            None,
            "::ffff:10.0.0.1",
        )
    assert [(e.stream, e.changes["n"]) for e in stored] == [
        (case_stream(cases[0].pk), 1),
        (case_stream(cases[1].pk), 2),
        (case_stream(cases[0].pk), 3),
    ]
    assert stored[2].prev_hash == stored[0].hash and stored[2].seq == stored[0].seq + 1
    assert AuditEvent.objects.get(pk=stored[2].pk).hash == stored[2].hash
    assert verify_chain() == []

    # A head taken from a record read before those events is refused (its seq is taken), as is
    # one the record does not have; nothing is written.
    count = AuditEvent.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        audit_cases([(stale, AuditAction.CASE_OUTPUT_EVENT, {})], None, None, heads_from_records=True)
    stale.audit_seq += 10
    with pytest.raises(AuditHeadConflict), transaction.atomic():
        audit_cases([(stale, AuditAction.CASE_OUTPUT_EVENT, {})], None, None, heads_from_records=True)
    assert AuditEvent.objects.count() == count
    assert verify_chain() == []


def test_bulk_audit_batches_only_past_what_one_statement_carries(world, monkeypatch):
    _output, cases, _merged = gathered_output(world, 4)
    from casework.services import bulk

    monkeypatch.setattr(bulk, "param_limit", lambda: 40)  # two events (15 columns each) a statement
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        audit_cases([(c, AuditAction.CASE_OUTPUT_EVENT, {}) for c in cases], None, None)
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "casework_auditevent"')]
    # SQLite: a VALUES list, batched by the parameters a statement allows; PostgreSQL: one
    # array a column, one statement whatever the rows.
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 2)
    assert all(audit.case_stream(c.pk) for c in cases)
    assert verify_chain() == []
