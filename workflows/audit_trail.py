"""The audit trail as its auditor exports it: the export is itself an audited act, written on the
auditor's organisation's system stream in the transaction that reads the rows, so an export
that happened is always on the trail and a failed one leaves nothing behind."""

from __future__ import annotations

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
