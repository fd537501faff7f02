"""Django's sign-in signals, adapted to audit events. Adapters only: the event is written by
casework.services.audit."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from casework.services.audit import audit_account_event


def _ip(request: Any) -> str | None:
    if request is None:
        return None
    from api.views import client_ip

    return client_ip(request)


@receiver(user_logged_in, dispatch_uid="minqing-audit-login")
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_account_event(
        action="account.login", user=user, username=user.get_username(), source_ip=_ip(request), success=True
    )


@receiver(user_logged_out, dispatch_uid="minqing-audit-logout")
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_account_event(
            action="account.logout", user=user, username=user.get_username(), source_ip=_ip(request), success=True
        )


@receiver(user_login_failed, dispatch_uid="minqing-audit-login-failed")
def on_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    audit_account_event(
        action="account.login_failed",
        user=None,
        username=str(credentials.get("username", "")),
        source_ip=_ip(request),
        success=False,
    )
