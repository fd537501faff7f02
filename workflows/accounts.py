"""Account events (sign-in, sign-out, API tokens), recorded through the workflow layer like
every other change: the pages' sign-in signals and the API's token endpoint call this, never the
domain's services themselves."""

from __future__ import annotations

from datetime import datetime

from casework.choices import AuditAction
from casework.models import User
from casework.services.audit import audit_account_event
from casework.services.tokens import issue_token, revoke_token


def record_account_event(
    action: AuditAction, *, user: User | None, username: str, source_ip: str | None, success: bool
) -> None:
    audit_account_event(action=action, user=user, username=username, source_ip=source_ip, success=success)


def issue_api_token(user: User, *, source_ip: str | None) -> tuple[str, datetime]:
    """A new API token for `user` (their old one revoked): the key, shown once, and its expiry."""
    return issue_token(user, source_ip=source_ip)


def revoke_api_token(user: User, *, reason: str, source_ip: str | None) -> bool:
    return revoke_token(user, reason=reason, source_ip=source_ip)
