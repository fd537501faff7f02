"""The tamper-evident audit trail (docs/domain.md §7).

Events chain per stream (one per case or output, one per organisation and day for sign-ins and
roster changes): a single global chain would serialise every writer. Each event's digest is an
HMAC under a key held outside the database (casework.services.audit_crypto), and the record that
owns a stream carries the stream's head (`AuditedRecord`), written in the event's transaction, so
a deleted tail shows at once. A periodic checkpoint records the head of every stream that moved
(`AuditCheckpointHead`) into one global chain whose digests are also appended outside the
database (casework.services.audit_anchor)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.choices import AuditAction

AUDIT_HEAD_FIELDS = ("audit_seq", "audit_head")


class AuditedRecord(models.Model):
    """A record that owns an audit stream carries that stream's head: its last event's seq and
    digest. Only `casework.services.audit.audit_record` writes them (with a conditional UPDATE in
    the event's transaction); a plain `save()` of an instance read before the event leaves them
    alone, so a stale copy can never rewind the head."""

    audit_seq = models.PositiveIntegerField(_("审计链序号"), default=0, editable=False)
    audit_head = models.CharField(_("审计链头摘要"), max_length=64, blank=True, default="", editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if (
            kwargs.get("update_fields") is None
            and not kwargs.get("force_insert")
            and not self._state.adding
            and self.pk is not None
        ):
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in AUDIT_HEAD_FIELDS and f.attname not in deferred
            ]
        super().save(*args, **kwargs)


class AuditStream(AuditedRecord):
    """The record of a stream no case or output owns: sign-ins and roster changes, one stream
    per organisation and day (`system:<organisation>:<yyyymmdd>`), and the verifier's alerts.
    Its row is the stream's lock."""

    name = models.CharField(_("链"), max_length=40, unique=True)
    organisation = models.ForeignKey(
        "casework.Organisation", verbose_name=_("所属组织"), null=True, blank=True, on_delete=models.PROTECT
    )
    day = models.DateField(_("日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("审计链")
        verbose_name_plural = _("审计链")

    def __str__(self) -> str:
        return self.name


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
    # "hmac-sm3" / "hmac-sha256" with the id of the key; events written before keys existed
    # carry "sm3" / "sha256" and no key id, and are trusted only as far as a keyed checkpoint
    # sealed them (casework.services.audit_verify).
    algorithm = models.CharField(_("摘要算法"), max_length=16)
    key_id = models.CharField(_("密钥标识"), max_length=24, blank=True, default="")
    prev_hash = models.CharField(_("前一摘要"), max_length=64)
    hash = models.CharField(_("摘要"), max_length=64)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="audit_stream_seq")]


class AuditCheckpoint(models.Model):
    """A link of the global chain: the heads of every stream that moved since the last one
    (`AuditCheckpointHead`), an HMAC over them and the link before, and `resume_after`, the
    event id below which every event had committed, where the next checkpoint starts."""

    seq = models.PositiveIntegerField(_("序号"), unique=True)
    created_at = models.DateTimeField(_("时间"))
    last_event_id = models.BigIntegerField(_("截至事件"))
    resume_after = models.BigIntegerField(_("续检起点"), default=0)
    # Checkpoints written before keys existed kept their heads here; keyed ones use the table.
    heads = models.JSONField(_("各链头（旧）"), null=True, blank=True)
    n_heads = models.PositiveIntegerField(_("链头数"), default=0)
    algorithm = models.CharField(_("摘要算法"), max_length=16)
    key_id = models.CharField(_("密钥标识"), max_length=24, blank=True, default="")
    # Set on the last checkpoint signed with a key: the key that signs the ones after it.
    next_key_id = models.CharField(_("下一密钥"), max_length=24, blank=True, default="")
    prev_hash = models.CharField(_("前一摘要"), max_length=64)
    hash = models.CharField(_("摘要"), max_length=64)

    class Meta:
        verbose_name = _("审计检查点")
        verbose_name_plural = _("审计检查点")


class AuditCheckpointHead(models.Model):
    """One stream's head as a checkpoint recorded it. Verification checks that every one still
    exists as recorded, so a stream cannot be cut back below any head it ever had."""

    checkpoint = models.ForeignKey(
        AuditCheckpoint, verbose_name=_("检查点"), on_delete=models.PROTECT, related_name="head_rows", db_index=False
    )
    stream = models.CharField(_("链"), max_length=40)
    seq = models.PositiveIntegerField(_("序号"))
    digest = models.CharField(_("摘要"), max_length=64)

    class Meta:
        verbose_name = _("检查点链头")
        verbose_name_plural = _("检查点链头")
        constraints = [models.UniqueConstraint(fields=["checkpoint", "stream"], name="audit_checkpoint_head_stream")]
        # The latest recorded head of a stream that moved (incremental verification).
        indexes = [models.Index(fields=["stream", "checkpoint"], name="audit_head_stream_ckpt")]
