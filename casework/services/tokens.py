"""API tokens: issued (audited, the key shown once), replaced by the next one, revoked at sign-out
and when the password changes (audited when there was one to revoke)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from casework.choices import AuditAction
from casework.models import ApiToken, User
from casework.services.audit import SYSTEM_STREAM, audit_record


def _audit(user: User, action: AuditAction, token: ApiToken, source_ip: str | None, **more: Any) -> None:
    audit_record(
        stream=SYSTEM_STREAM,
        actor=user,
        action=action,
        target_type="user",
        target_id=user.pk,
        organisation_id=user.organisation_id,
        changes={"username": user.get_username(), "token": token.prefix, **more},
        source_ip=source_ip,
    )


def issue_token(user: User, *, source_ip: str | None) -> tuple[str, datetime]:
    """A new token for `user`, replacing theirs: its key (to be shown once) and when it expires."""
    with transaction.atomic():
        token, key = ApiToken.replace(user)
        _audit(user, AuditAction.ACCOUNT_TOKEN_ISSUED, token, source_ip, expires_at=token.expires_at.isoformat())
    return key, token.expires_at


def revoke_token(user: User, *, reason: str, source_ip: str | None = None) -> bool:
    """Delete `user`'s token, if they have one; whether there was one."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(user=user).first()
        if token is None:
            return False
        token.delete()
        _audit(user, AuditAction.ACCOUNT_TOKEN_REVOKED, token, source_ip, reason=reason)
    return True


def revoke_on_password_change(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    """post_save of a user: a new password revokes the token issued under the old one. Django
    keeps the new raw password on the instance (`_password`) until the save is done."""
    if not created and getattr(instance, "_password", None) is not None:
        revoke_token(instance, reason="password_changed")
