"""Domain errors. Each has a stable machine-readable code; the API maps them to one error shape."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "error"
    default_message: Any = _("操作失败。")

    def __init__(self, message: Any = None, *, code: str | None = None, details: dict | None = None) -> None:
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.details = details or {}
        super().__init__(str(self.message))


class NotFound(DomainError):
    """Missing and forbidden records both look like this (docs/domain.md §7: 404, not 403)."""

    code = "not_found"
    default_message = _("记录不存在。")


class PermissionDenied(DomainError):
    """The record is visible to the actor but the action is not theirs to take."""

    code = "permission_denied"
    default_message = _("您无权执行此操作。")


class TransitionNotAllowed(DomainError):
    code = "transition_not_allowed"
    default_message = _("当前状态下不能执行此操作。")


class Conflict(DomainError):
    """Someone else got there first (a claim, a decision, a lock)."""

    code = "conflict"
    default_message = _("该任务已被他人处理，请刷新后重试。")


class InvalidInput(DomainError):
    code = "invalid"
    default_message = _("输入有误。")
