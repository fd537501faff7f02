"""What the API answered to a request that carried an `Idempotency-Key`.

A client that lost the answer to a POST (a dropped connection, a timeout) sends it again with the
same key; the API then answers what it answered the first time instead of doing it twice. The row
is written in the transaction of the change it answers, so either both exist or neither does: a
crash half-way leaves no key, and the retry does the work."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .org import User

MAX_KEY_LENGTH = 255


class IdempotencyKey(models.Model):
    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("幂等键"), max_length=MAX_KEY_LENGTH)
    # What the key was first used for: the same key with another request is the client's mistake
    # and is refused rather than answered with an unrelated record.
    method = models.CharField(_("请求方法"), max_length=8)
    path = models.CharField(_("请求路径"), max_length=500)
    body_hash = models.CharField(_("请求内容摘要"), max_length=64)
    # The answer, written in the transaction that inserted the row: a committed row has it. The
    # body is the JSON text as first answered (jsonb would reorder its keys), "" for none.
    status = models.PositiveSmallIntegerField(_("答复状态"), default=0)
    body = models.TextField(_("答复内容"), blank=True, default="")
    headers = models.JSONField(_("答复头"), default=dict, blank=True)  # the answer's ETag
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("幂等键")
        verbose_name_plural = _("幂等键")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
