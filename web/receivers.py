"""Django's sign-in signals, adapted to audit events. Adapters only: the event is recorded through
the workflow layer (`workflows.accounts`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from casework.choices import AuditAction
from config.http import client_ip
from workflows.accounts import record_account_event


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


@receiver(user_login_failed, dispatch_uid="minqing-audit-login-failed")
def on_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    record_account_event(
        AuditAction.ACCOUNT_LOGIN_FAILED,
        user=None,
        username=str(credentials.get("username", "")),
        source_ip=_ip(request),
        success=False,
    )
