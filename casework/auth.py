"""The password sign-in every door uses (Django's `authenticate`: the login page, the admin's,
the API's token), with the lock-out in front of it (casework.services.signin)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils.translation import ngettext

from casework.services import signin
from config.http import client_ip

# The attribute a refused request carries, so the door that asked can say why.
LOCK_ATTRIBUTE = "minqing_sign_in_lock"


class LockoutModelBackend(ModelBackend):
    """Django's username-and-password check, refused while the account or the address is locked
    (a PermissionDenied: Django stops asking other backends and the door reads the lock from the
    request), and counting each failure."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if username is None:
            username = kwargs.get(self._username_field())
        if username is None or password is None:
            return None
        ip = client_ip(request) if request is not None else None
        lock = signin.current_lock(str(username), ip)
        if lock is not None:
            if request is not None:
                setattr(request, LOCK_ATTRIBUTE, lock)
            raise PermissionDenied(f"sign-in locked ({lock.key})")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            signin.record_failure(str(username), ip)
        else:
            signin.record_success(str(username))
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


def lock_of(request: Any) -> signin.Lock | None:
    return getattr(request, LOCK_ATTRIBUTE, None)


def locked_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return ngettext(
        "登录失败次数过多，已锁定。请 %(minutes)d 分钟后再试，或联系安全管理员解锁。",
        "登录失败次数过多，已锁定。请 %(minutes)d 分钟后再试，或联系安全管理员解锁。",
        minutes,
    ) % {"minutes": minutes}
