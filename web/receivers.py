"""Django's sign-in signals, adapted to audit events. Adapters only: the event is recorded through
the workflow layer (`workflows.accounts`). A failed sign-in is audited by the lock-out itself
(`casework.auth`), which knows whether the failure is still under the limits."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from casework.choices import AuditAction
from config.http import client_ip
from workflows.accounts import record_account_event, revoke_api_token


def _ip(request: Any) -> str | None:
    return client_ip(request) if request is not None else None


@receiver(user_logged_in, dispatch_uid="minqing-audit-login")
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record_account_event(
        AuditAction.ACCOUNT_LOGIN, user=user, username=user.get_username(), source_ip=_ip(request), success=True
    )


@receiver(user_logged_out, dispatch_uid="minqing-audit-logout")
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record_account_event(
            AuditAction.ACCOUNT_LOGOUT,
            user=user,
            username=user.get_username(),
            source_ip=_ip(request),
            success=True,
        )
        # Signing out of the pages signs out the API client too: its token is revoked.
        revoke_api_token(user, reason="logout", source_ip=_ip(request))
