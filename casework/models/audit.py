"""The tamper-evident audit trail (DOMAIN.md §7).

Events chain per stream (one per case or output, one for account and system events): a single
global chain serialises every writer. A periodic checkpoint chains the heads of the streams that
moved into one global chain, so a deleted tail is detected too."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.choices import AuditAction


def audit_action_choices() -> list[tuple[str, Any]]:
    return AuditAction.choices


class AuditEvent(models.Model):
    stream = models.CharField(_("链"), max_length=40)
    seq = models.PositiveIntegerField(_("序号"))
    organisation = models.ForeignKey(
        "casework.Organisation", verbose_name=_("所属组织"), null=True, blank=True, on_delete=models.PROTECT
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT
    )
    # A callable, so a new action is a new enum member and not a migration.
    action = models.CharField(_("操作"), max_length=40, choices=audit_action_choices)
    target_type = models.CharField(_("对象类型"), max_length=20)
    target_id = models.BigIntegerField(_("对象"))
    occurred_at = models.DateTimeField(_("时间"))
    source_ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    success = models.BooleanField(_("成功"), default=True)
    changes = models.JSONField(_("变更"), default=dict)
    algorithm = models.CharField(_("摘要算法"), max_length=10)
    prev_hash = models.CharField(_("前一摘要"), max_length=64)
    hash = models.CharField(_("摘要"), max_length=64)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="audit_stream_seq")]


class AuditCheckpoint(models.Model):
    """A link of the global chain: the heads of every stream that moved since the last one."""

    seq = models.PositiveIntegerField(_("序号"), unique=True)
    created_at = models.DateTimeField(_("时间"))
    last_event_id = models.BigIntegerField(_("截至事件"))
    heads = models.JSONField(_("各链头"))
    algorithm = models.CharField(_("摘要算法"), max_length=10)
    prev_hash = models.CharField(_("前一摘要"), max_length=64)
    hash = models.CharField(_("摘要"), max_length=64)

    class Meta:
        verbose_name = _("审计检查点")
        verbose_name_plural = _("审计检查点")
