"""Reads of the flow state of cases."""

from __future__ import annotations

from typing import Any

from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)


def open_tasks(case_id: int) -> list[dict[str, Any]]:
    """The human and waiting tasks now open on a case (gateways and ends are never left open)."""
    rows = Task.objects.filter(process__caseprocess__case_id=case_id, status__in=OPEN).order_by("id")
    return [{"id": t.pk, "name": t.flow_task.name, "status": t.status, "owner": t.owner_id} for t in rows]
