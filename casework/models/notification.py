"""Notifications and their outbox.

A notification is what one user is told (a deadline near, a deadline passed, an escalation): it
is the in-app message itself, read in the user's unread list. Each other channel the user chose
(email, a DingTalk / 浙政钉 group robot) gets a `NotificationDelivery` row in the same transaction
as the fact it tells of; a Celery task drains the pending deliveries after commit, with retries
and backoff, so a failed channel is retried and never blocks or undoes a case."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.choices import DeliveryState, NotificationChannel, NotificationKind

from .case import Case
from .org import Organisation, User


class Notification(models.Model):
    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    recipient = models.ForeignKey(
        User, verbose_name=_("接收人"), on_delete=models.PROTECT, related_name="notifications"
    )
    kind = models.CharField(_("类型"), max_length=24, choices=NotificationKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    # The case it is about, when it is about one; a digest of several cases names them in its body.
    case = models.ForeignKey(
        Case, verbose_name=_("案件"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Unique per recipient: telling the same thing twice (a task run again) creates nothing.
    dedupe_key = models.CharField(_("去重键"), max_length=120)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_once"),
        ]
        indexes = [
            # A user's unread list and the header's count.
            models.Index(
                fields=["recipient", "-id"], condition=models.Q(read_at__isnull=True), name="notification_unread"
            ),
            models.Index(fields=["recipient", "-id"], name="notification_recent"),
        ]

    def __str__(self) -> str:
        return self.title


class NotificationDelivery(models.Model):
    """One notification on one channel other than in-app: the outbox row a task sends."""

    notification = models.ForeignKey(
        Notification, verbose_name=_("通知"), on_delete=models.PROTECT, related_name="deliveries"
    )
    channel = models.CharField(_("渠道"), max_length=16, choices=NotificationChannel.choices)
    state = models.CharField(_("状态"), max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知发送")
        verbose_name_plural = _("通知发送")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel"),
        ]
        indexes = [
            # The outbox: pending deliveries whose time has come, oldest first.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(state="pending"),
                name="delivery_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notification_id}/{self.channel}"


class DingTalkRobot(models.Model):
    """A DingTalk / 浙政钉 group robot (自定义机器人) that messages are posted to, signed with its
    secret (the robot's "加签" security setting). A message goes to the robot of a committee the
    recipient works in, else to the organisation's own robot (no committee); at most one active
    robot per committee and one per organisation, so the choice is never a guess."""

    class Format(models.TextChoices):
        MARKDOWN = "markdown", _("Markdown")
        TEXT = "text", _("纯文本")

    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    committee = models.ForeignKey(
        "casework.Committee",
        verbose_name=_("专门委员会"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("留空为整个组织的机器人"),
    )
    name = models.CharField(_("名称"), max_length=60)
    webhook_url = models.URLField(
        _("Webhook 地址"), max_length=500, help_text=_("机器人设置中的 Webhook，含 access_token")
    )
    secret = models.CharField(_("加签密钥"), max_length=200, help_text=_("机器人安全设置“加签”中的密钥（SEC 开头）"))
    message_format = models.CharField(_("消息格式"), max_length=16, choices=Format.choices, default=Format.MARKDOWN)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("钉钉群机器人")
        verbose_name_plural = _("钉钉群机器人")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "committee"],
                condition=models.Q(is_active=True, committee__isnull=False),
                name="dingtalk_robot_one_per_committee",
            ),
            models.UniqueConstraint(
                fields=["organisation"],
                condition=models.Q(is_active=True, committee__isnull=True),
                name="dingtalk_robot_one_per_organisation",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        committee = self.committee if self.committee_id is not None else None
        if committee is not None and committee.organisation_id != self.organisation_id:
            raise ValidationError({"committee": _("专门委员会须属于该组织。")})
        if self.webhook_url and not self.webhook_url.startswith(("https://", "http://")):
            raise ValidationError({"webhook_url": _("Webhook 地址须以 https:// 或 http:// 开头。")})
