"""The case (民情案件) and its stage clocks (docs/domain.md §2, §3, §5)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.choices import (
    CaseStatus,
    ClockState,
    ClockUnit,
    Decision,
    FeedbackMethod,
    RedirectChannel,
    Satisfaction,
    Stage,
    Urgency,
)

from .audit import AuditedRecord
from .org import Committee, Contact, Member, Organisation, User


class CaseCategory(models.Model):
    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    name = models.CharField(_("类别"), max_length=40)
    committee = models.ForeignKey(
        Committee, verbose_name=_("默认受理委办"), null=True, blank=True, on_delete=models.PROTECT
    )

    class Meta:
        verbose_name = _("案件类别")
        verbose_name_plural = _("案件类别")
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="category_unique_name")]

    def __str__(self) -> str:
        return self.name


class Township(models.Model):
    """乡镇街道 of the organisation's area."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    name = models.CharField(_("乡镇街道"), max_length=40)

    class Meta:
        verbose_name = _("乡镇街道")
        verbose_name_plural = _("乡镇街道")
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="township_unique_name")]

    def __str__(self) -> str:
        return self.name


class RejectReason(models.Model):
    """The editable list of reasons a case is not taken up."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    text = models.CharField(_("理由"), max_length=120)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("不予受理理由")
        verbose_name_plural = _("不予受理理由")
        constraints = [models.UniqueConstraint(fields=["organisation", "text"], name="reject_reason_unique_text")]

    def __str__(self) -> str:
        return self.text


class Case(AuditedRecord):
    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    member = models.ForeignKey(Member, verbose_name=_("反映委员"), on_delete=models.PROTECT, related_name="cases")
    title = models.CharField(_("标题"), max_length=120)
    description = models.TextField(_("问题描述"))
    category = models.ForeignKey(CaseCategory, verbose_name=_("类别"), on_delete=models.PROTECT)
    township = models.ForeignKey(Township, verbose_name=_("乡镇街道"), null=True, blank=True, on_delete=models.PROTECT)
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    contacts = models.ManyToManyField(Contact, verbose_name=_("反映群众"), blank=True, related_name="cases")
    consent_to_share = models.BooleanField(_("同意提供姓名"), default=False)
    committee = models.ForeignKey(Committee, verbose_name=_("受理委办"), on_delete=models.PROTECT)

    status = models.CharField(_("状态"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.DRAFT)
    decision = models.CharField(_("审核决定"), max_length=16, choices=Decision.choices, blank=True)
    reject_reason = models.ForeignKey(
        RejectReason, verbose_name=_("不予受理理由"), null=True, blank=True, on_delete=models.PROTECT
    )
    redirect_channel = models.CharField(_("转办渠道"), max_length=16, choices=RedirectChannel.choices, blank=True)
    decision_note = models.TextField(_("审核意见"), blank=True)
    info_request = models.TextField(_("需补充的内容"), blank=True)
    info_answer = models.TextField(_("补充的材料"), blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("合并至"), null=True, blank=True, on_delete=models.PROTECT, related_name="merged_cases"
    )
    output = models.ForeignKey(
        "casework.Output",
        verbose_name=_("转化成果"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    outcome = models.TextField(_("办理结果"), blank=True)
    feedback_method = models.CharField(_("反馈方式"), max_length=16, choices=FeedbackMethod.choices, blank=True)
    satisfaction = models.CharField(_("群众满意度"), max_length=16, choices=Satisfaction.choices, blank=True)
    feedback_note = models.TextField(_("反馈情况"), blank=True)
    # The day the member told the constituent the outcome (never before it arrived, never ahead).
    feedback_told_on = models.DateField(_("告知群众日期"), null=True, blank=True)

    created_by = models.ForeignKey(User, verbose_name=_("创建人"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("民情案件")
        verbose_name_plural = _("民情案件")
        indexes = [
            # A member's own list, newest first.
            models.Index(fields=["member", "-id"], name="case_member_recent"),
            # A committee's cases by status (staff lists, dashboards).
            models.Index(fields=["committee", "status", "-id"], name="case_committee_status"),
            models.Index(fields=["organisation", "-id"], name="case_org_recent"),
            # The leadership dashboard: an organisation's cases submitted in a date range, with
            # every column its charts group by, so each chart is an index-only scan of the range
            # (PostgreSQL; elsewhere a plain index on the two key columns).
            models.Index(
                fields=["organisation", "submitted_at"],
                include=[
                    "status",
                    "member",
                    "category",
                    "township",
                    "decision",
                    "feedback_method",
                    "satisfaction",
                    "output",
                ],
                name="case_org_submitted",
            ),
            # The dashboard's trend: cases closed per month.
            models.Index(
                fields=["organisation", "closed_at"],
                include=["member"],
                condition=models.Q(closed_at__isnull=False),
                name="case_org_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class ClockPolicy(models.Model):
    """The target of one stage's clock, when to warn and whom to escalate a breach to. A row with
    no organisation is the default for all; an organisation's own row overrides it."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("所属组织"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("留空：适用于所有组织的默认设置"),
    )
    stage = models.CharField(_("环节"), max_length=16, choices=Stage.choices)
    amount = models.PositiveSmallIntegerField(_("时限"), validators=[MinValueValidator(1)])
    unit = models.CharField(_("单位"), max_length=16, choices=ClockUnit.choices, default=ClockUnit.WORKING_DAYS)
    # Warn at whichever comes first; both empty: no warning.
    warn_percent = models.PositiveSmallIntegerField(
        _("用时达到百分之几时预警"),
        null=True,
        blank=True,
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )
    warn_days_before = models.PositiveSmallIntegerField(
        _("到期前几个工作日预警"), null=True, blank=True, default=2, validators=[MaxValueValidator(60)]
    )
    # The escalation chain: the committee head this many working days after the breach, then
    # leadership a further number of working days after that (empty: never).
    escalate_head_after = models.PositiveSmallIntegerField(
        _("超期后几个工作日提级至主任"), default=0, validators=[MaxValueValidator(60)]
    )
    escalate_leadership_after = models.PositiveSmallIntegerField(
        _("再过几个工作日提级至主席会议"),
        null=True,
        blank=True,
        default=5,
        validators=[MaxValueValidator(120)],
    )

    class Meta:
        verbose_name = _("时限规则")
        verbose_name_plural = _("时限规则")
        ordering = ["organisation_id", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "stage"], name="clock_policy_one_per_stage"),
            models.UniqueConstraint(
                fields=["stage"], condition=models.Q(organisation__isnull=True), name="clock_policy_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: {self.amount} {self.get_unit_display()}"


class CaseClock(models.Model):
    """The clock of one stage of one case. A running clock of an unclaimed task is also the
    task's place in its committee's queue, so the queue is sorted by due time for free."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="clocks")
    stage = models.CharField(_("环节"), max_length=16, choices=Stage.choices)
    # The viewflow task now open for this stage; casework does not import viewflow, so an id.
    task_id = models.BigIntegerField(_("任务"), null=True, blank=True)
    queue = models.ForeignKey(
        Committee,
        verbose_name=_("工作队列"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="caseclock_queue",
    )
    assignee = models.ForeignKey(
        User, verbose_name=_("处理人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=16, choices=ClockState.choices, default=ClockState.RUNNING)
    started_at = models.DateTimeField(_("开始时间"))
    # 24:00 of the deadline's last day. Null when it cannot be reckoned (`due_error` says why: a
    # year with no published calendar), never a guess.
    due_at = models.DateTimeField(_("到期时间"), null=True, blank=True)
    due_error = models.CharField(_("到期时间无法计算的原因"), max_length=40, blank=True)
    paused_at = models.DateTimeField(_("暂停时间"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(_("累计暂停秒数"), default=0)
    # Working days that were left when the clock paused; resuming gives them back in full.
    days_left_at_pause = models.SmallIntegerField(_("暂停时剩余工作日"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("认领时间"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("停止时间"), null=True, blank=True)
    is_met = models.BooleanField(_("按时完成"), null=True, blank=True)
    # The sweep's marks, each set once (a conditional update), which is what makes a warning or an
    # escalation go out exactly once however many sweeps run.
    warn_at = models.DateTimeField(_("预警时间"), null=True, blank=True)
    warned_at = models.DateTimeField(_("已预警"), null=True, blank=True)
    breached_at = models.DateTimeField(_("已超期"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("提级次数"), default=0)
    next_escalation_at = models.DateTimeField(_("下次提级时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("时限")
        verbose_name_plural = _("时限")
        constraints = [
            # One live clock per stage of a case.
            models.UniqueConstraint(
                fields=["case", "stage"],
                condition=~models.Q(state="stopped"),
                name="clock_one_live_per_stage",
            ),
        ]
        indexes = [
            # The SLA verdicts of a range (the dashboard, `selectors.sla_report`): clocks that
            # stopped with a verdict, by organisation and the instant they stopped.
            models.Index(
                fields=["organisation", "stopped_at"],
                condition=models.Q(is_met__isnull=False),
                name="clock_org_verdict_stopped",
            ),
            # The queue page and claim-next: unclaimed running tasks of one queue, most urgent first.
            models.Index(
                fields=["queue", "due_at", "id"],
                condition=models.Q(state="running", assignee__isnull=True, queue__isnull=False),
                name="clock_queue_unclaimed",
            ),
            # The sweep: running clocks whose warning, deadline or next escalation has come. Each
            # holds only the clocks still waiting for that mark, so a sweep with nothing due reads
            # nothing, however many clocks are open.
            models.Index(
                fields=["warn_at"],
                condition=models.Q(state="running", warned_at__isnull=True, warn_at__isnull=False),
                name="clock_sweep_warn",
            ),
            models.Index(
                fields=["due_at"],
                condition=models.Q(state="running", breached_at__isnull=True, due_at__isnull=False),
                name="clock_sweep_breach",
            ),
            models.Index(
                fields=["next_escalation_at"],
                condition=models.Q(state="running", next_escalation_at__isnull=False),
                name="clock_sweep_escalate",
            ),
            # A staff member's own claimed work.
            models.Index(
                fields=["assignee", "due_at", "id"],
                condition=models.Q(state="running", assignee__isnull=False),
                name="clock_assignee_running",
            ),
        ]
