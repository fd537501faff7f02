"""The audit trail as its auditor exports it: the export is itself an audited act, written on the
auditor's organisation's system stream in the transaction that reads the rows, so an export
that happened is always on the trail and a failed one leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from casework import selectors
from casework.choices import AuditAction
from casework.models import User
from casework.services.audit import SYSTEM_STREAM, audit_record


def export_events(
    actor: User, filters: selectors.AuditFilters, *, source_ip: str | None
) -> tuple[list[dict[str, Any]], bool]:
    """The rows of the filter (at most selectors.AUDIT_EXPORT_MAX_ROWS, and whether more were
    left out), audited with the filter and the row count; not_auditor for anyone else."""
    with transaction.atomic():
        rows, truncated = selectors.audit_export_rows(actor, filters)
        audit_record(
            stream=SYSTEM_STREAM,
            actor=actor,
            action=AuditAction.AUDIT_EXPORTED,
            target_type="audit",
            target_id=0,
            organisation_id=actor.organisation_id,
            changes={"filters": filters.as_params(), "rows": len(rows), "truncated": truncated},
            source_ip=source_ip,
        )
    return rows, truncated


def export_list(
    actor: User,
    *,
    name: str,
    filters: dict[str, str],
    read: Callable[[], tuple[list[Any], bool]],
    source_ip: str | None,
) -> tuple[list[Any], bool]:
    """A page's list as its viewer exports it (`read` gives the rows and whether more were left
    out), audited as the audit trail's own export is: on the actor's organisation's system
    stream, with which list, its filters and the row count, in the transaction that reads the
    rows. A refused read (the list is not the actor's) raises before anything is written."""
    with transaction.atomic():
        rows, truncated = read()
        audit_record(
            stream=SYSTEM_STREAM,
            actor=actor,
            action=AuditAction.LIST_EXPORTED,
            target_type="list",
            target_id=0,
            organisation_id=actor.organisation_id,
            changes={"list": name, "filters": filters, "rows": len(rows), "truncated": truncated},
            source_ip=source_ip,
        )
    return rows, truncated
