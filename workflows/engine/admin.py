"""viewflow's own admin pages, made read-only.

viewflow registers its process and task tables in the admin as editable: a superuser could
change a task's status or owner, or delete a process, beside the workflow, with no transition,
no lock, no stage clock and no audit event. Here they stay readable (what a flow did is worth
seeing when something looks wrong) and nothing can be added, changed or deleted through them:
a case moves only through `workflows.actions`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from viewflow.workflow.models import Process, Task


def _no(self: Any, request: Any, obj: Any = None) -> bool:
    return False


def make_viewflow_admin_read_only(site: admin.AdminSite) -> None:
    """Replace viewflow's registrations of Process and Task on `site` with read-only copies of
    them (its list columns and filters kept). Called once the apps' admin modules are loaded."""
    for model in (Process, Task):
        registered = site._registry.get(model)
        base = type(registered) if registered is not None else admin.ModelAdmin
        read_only = type(
            f"ReadOnly{base.__name__}",
            (base,),
            {
                "__doc__": f"viewflow's {model.__name__} admin, read-only: changes go through the workflow.",
                "has_add_permission": _no,
                "has_change_permission": _no,
                "has_delete_permission": _no,
                "actions": None,
            },
        )
        if registered is not None:
            site.unregister(model)
        site.register(model, read_only)
