"""Small readers the tests share."""

from __future__ import annotations

from casework.models import AuditEvent, Case, CaseClock
from casework.services.audit import case_stream
from workflows.selectors import open_tasks


def task_names(case: Case) -> list[str]:
    return [t["name"] for t in open_tasks(case.pk)]


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
