"""Accounts: the sign-in lock-out's counters and the API tokens.

The counters live in the database (not in a process's memory) so every web and API process
sees the same lock: a guesser cannot spread attempts over the workers."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SignInThrottle(models.Model):
    """Failed sign-ins of one account (`user:<username>`) or one address (`addr:<ip>`) within the
    failure window, and the lock they led to. A row whose window and lock have both passed is
    deleted by the next failure anywhere (`expires_at`), so guessing names does not grow the table."""

    key = models.CharField(_("账号或地址"), max_length=200, unique=True)
    failures = models.PositiveIntegerField(_("失败次数"), default=0)
    window_started_at = models.DateTimeField(_("计数起始"))
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    # Attempts refused while locked: counted here, not audited one by one.
    refused = models.PositiveIntegerField(_("锁定期间被拒次数"), default=0)
    expires_at = models.DateTimeField(_("过期时间"), db_index=True)

    class Meta:
        verbose_name = _("登录锁定")
        verbose_name_plural = _("登录锁定")

    def __str__(self) -> str:
        return self.key


class ApiToken(models.Model):
    """A user's API token (`Authorization: Token <key>`), stored as a password is: only the
    SHA-256 digest of the key (looked up by its unique index) and the first characters, which
    name it in the admin. The key itself is shown once, when issued. A key is 160 random bits,
    so a fast digest is enough: there is nothing to guess by trying keys against a stolen digest.

    One per user: issuing a new one replaces the old (rotation). It expires a fixed time after
    issue (MINQING_API_TOKEN_HOURS), checked in the one statement that signs a request in, and is
    deleted at sign-out and when the password changes."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_token"
    )
    digest = models.CharField(_("摘要"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("前缀"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("签发时间"), editable=False)
    expires_at = models.DateTimeField(_("过期时间"), editable=False)

    KEY_BYTES = 20  # 40 hexadecimal characters, as clients had them

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.prefix}…"

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    @classmethod
    def replace(cls, user: Any) -> tuple[ApiToken, str]:
        """A new token for `user`, replacing theirs if any: the token and its key (to be shown
        once). Must run in a transaction."""
        key = secrets.token_hex(cls.KEY_BYTES)
        now = timezone.now()
        cls.objects.filter(user=user).delete()
        token = cls.objects.create(
            user=user,
            digest=cls.digest_of(key),
            prefix=key[:8],
            created_at=now,
            expires_at=now + timedelta(hours=settings.MINQING_API_TOKEN_HOURS),
        )
        return token, key


class PasswordHistory(models.Model):
    """The hashes of a user's last passwords, so a new one cannot be an old one again
    (casework.passwords.PasswordHistoryValidator keeps the last MINQING_PASSWORD_HISTORY)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="password_history"
    )
    password = models.CharField(_("密码摘要"), max_length=128)
    created_at = models.DateTimeField(_("设置时间"), default=timezone.now)

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        indexes = [models.Index(fields=["user", "-created_at"], name="password_history_latest")]
