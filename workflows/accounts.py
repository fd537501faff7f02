"""Account events (sign-in, failed sign-in, sign-out), recorded through the workflow layer like
every other change: the pages' sign-in signals call this, never the audit service itself."""

from __future__ import annotations

from casework.choices import AuditAction
from casework.models import User
from casework.services.audit import audit_account_event


def record_account_event(
    action: AuditAction, *, user: User | None, username: str, source_ip: str | None, success: bool
) -> None:
    audit_account_event(action=action, user=user, username=username, source_ip=source_ip, success=success)
