"""Small readers and doers the tests share."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from viewflow.workflow.models import Task

from casework.models import AuditEvent, Case, CaseClock
from casework.services.audit import case_stream
from workflows import actions, engine


def today() -> str:
    """Today in Asia/Shanghai, as a transition's date field takes it (the feedback's `told_on`)."""
    return timezone.localdate().isoformat()


def open_tasks(case_id: int) -> list[dict]:
    """The case's open tasks as {id, stage, owner}, however many there are (one, if the flow is
    right), read straight from viewflow's rows."""
    rows = Task.objects.filter(process__caseprocess__case_id=case_id, status__in=engine.OPEN).order_by("id")
    return [{"id": t.pk, "stage": engine.STAGE_OF_NODE[t.flow_task.name], "owner": t.owner_id} for t in rows]


def task_names(case: Case) -> list[str]:
    return [t["stage"] for t in open_tasks(case.pk)]


def open_task(case: Case) -> dict:
    tasks = open_tasks(case.pk)
    assert len(tasks) == 1, tasks
    return tasks[0]


def events(case: Case) -> list[tuple[str, int | None]]:
    return list(
        AuditEvent.objects.filter(stream=case_stream(case.pk)).order_by("seq").values_list("action", "actor_id")
    )


def snapshot(case: Case) -> dict:
    """Everything a denied transition must leave as it was."""
    case.refresh_from_db()
    return {
        "case": {f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields},
        "events": AuditEvent.objects.count(),
        "tasks": open_tasks(case.pk),
        "clocks": list(CaseClock.objects.filter(case=case).order_by("id").values()),
    }


def do(name: str, case_id: int, actor: Any, **data: Any) -> Case:
    """Run the case transition `name` as `actor` with `data` as its input."""
    return actions.perform(name, case_id=case_id, actor=actor, data=data)


def do_output(name: str, output_id: int, actor: Any, **data: Any) -> Any:
    return actions.perform_output(name, output_id=output_id, actor=actor, data=data)


def file(actor: Any, *, submit: bool = True, **data: Any) -> Case:
    """File a concern as `actor` (a member's user)."""
    return actions.file_case(actor=actor, data={"submit": submit, **data})


def answer_output(output_id: int, staff: Any, text: str) -> Any:
    """Bring an info report gathered by `staff`'s committee to a decisive outcome event through
    its own lifecycle (submitted, used in a bulletin, a leader's instruction `text`): the cases
    waiting for an outcome move to feedback with an outcome that quotes `text`. The test's way to
    give cases an answer, where the spine once recorded a free-text outcome."""
    from django.utils import timezone

    from casework.models import Output
    from workflows import output_actions

    output = Output.objects.get(pk=output_id)
    assert output.output_type == "info_report", "answer_output drives an info report; convert to one"

    def step(name: str, **data: Any) -> Any:
        return output_actions.perform("output", name, record_id=output_id, actor=staff, data=data)

    if output.status == "draft":
        step("edit", situation="情况", analysis="分析", suggestion="建议")
        step("submit")
        step("use")
    return step("instruct", leader="周主席", rank="city", text=text, given_on=timezone.localdate().isoformat())
