"""Account events (sign-in, sign-out, API tokens, the admin's changes), recorded through the workflow layer like
every other change: the pages' sign-in signals and the API's token endpoint call this, never the
domain's services themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from casework.choices import AuditAction
from casework.models import User
from casework.services.audit import SYSTEM_STREAM, audit_account_event, audit_record
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


ADMIN_ACTIONS = {
    "added": AuditAction.ADMIN_ADDED,
    "changed": AuditAction.ADMIN_CHANGED,
    "deleted": AuditAction.ADMIN_DELETED,
}


def record_admin_change(
    *,
    actor: User,
    what: str,
    model: str,
    object_id: Any,
    label: str,
    organisation_id: int | None,
    fields: list[str],
    source_ip: str | None,
    roles_before: list[str] | None = None,
    roles_after: list[str] | None = None,
) -> None:
    """A row added, changed or deleted in the admin, on the organisation's system stream, inside
    the admin's own transaction (a change that fails leaves no event, an event no change). The
    changed fields are named, their values never written (one may be a phone number). A change of
    an account's roles is its own action, with the roles before and after."""
    changes: dict[str, Any] = {"model": model, "object": str(object_id)[:100], "label": label, "fields": fields}
    action = ADMIN_ACTIONS[what]
    if roles_before is not None and roles_after is not None and roles_before != roles_after:
        action = AuditAction.ACCOUNT_ROLES_CHANGED
        changes |= {"roles_before": roles_before, "roles_after": roles_after}
    with transaction.atomic():
        audit_record(
            stream=SYSTEM_STREAM,
            actor=actor,
            action=action,
            # The model's name without its app (the column holds 20 characters; the label is in the changes).
            target_type=model.rsplit(".", 1)[-1][:20],
            target_id=object_id if isinstance(object_id, int) else 0,
            organisation_id=organisation_id,
            changes=changes,
            source_ip=source_ip,
        )
