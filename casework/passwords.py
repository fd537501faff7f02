"""The password policy (等保 level 3: complexity, no reuse), as Django password validators, so
every place that sets a password through Django's checks applies it: the password page, the
admin's, `createsuperuser`, `changepassword`.

Complexity: at least MINQING_PASSWORD_MIN_LENGTH characters (12; Django's length validator) and
at least three of the four kinds: capitals, small letters, digits, other characters. History: none
of the last MINQING_PASSWORD_HISTORY passwords (5) again."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from casework.models import PasswordHistory


def _kinds(password: str) -> int:
    return sum(
        (
            any(c.isupper() for c in password),
            any(c.islower() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )


class CharacterKindsValidator:
    """Three of the four kinds of character."""

    def __init__(self, kinds: int = 3) -> None:
        self.kinds = kinds

    def validate(self, password: str, user: Any = None) -> None:
        if _kinds(password) < self.kinds:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self) -> str:
        return _("密码须包含大写字母、小写字母、数字、其他符号中的至少 %(kinds)d 种。") % {"kinds": self.kinds}


class PasswordHistoryValidator:
    """Not one of the user's last passwords; each new password is remembered when it is saved
    (Django calls `password_changed` after the save), and only the last few are kept."""

    def __init__(self, count: int | None = None) -> None:
        self.count = count if count is not None else settings.MINQING_PASSWORD_HISTORY

    def _recent(self, user: Any) -> list[str]:
        return list(
            PasswordHistory.objects.filter(user=user)
            .order_by("-created_at", "-id")
            .values_list("password", flat=True)[: self.count]
        )

    def validate(self, password: str, user: Any = None) -> None:
        if user is None or user.pk is None or self.count <= 0:
            return
        known = self._recent(user)
        if user.password and user.password not in known:
            known.append(user.password)  # the current one, set before there was a history
        if any(check_password(password, encoded) for encoded in known):
            raise ValidationError(
                _("不能使用最近 %(count)d 次用过的密码。") % {"count": self.count}, code="password_reused"
            )

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is None or user.pk is None or self.count <= 0:
            return
        PasswordHistory.objects.create(user=user, password=user.password)
        keep = PasswordHistory.objects.filter(user=user).order_by("-created_at", "-id").values_list("id", flat=True)
        PasswordHistory.objects.filter(user=user).exclude(id__in=list(keep[: self.count])).delete()

    def get_help_text(self) -> str:
        return _("不能使用最近 %(count)d 次用过的密码。") % {"count": self.count}
