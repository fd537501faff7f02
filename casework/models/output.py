"""Outputs (成果) that cases become, and the records of their lifecycles (docs/domain.md §4):
the signers of a proposal and their ratings, the departments it is assigned to, an info report's
adoptions up the tree and the leaders' instructions on it, the files a department replies with,
the numbering series, and the rules (windows and time limits) an administrator sets."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from casework.choices import (
    AdoptionLevel,
    AssignmentRole,
    AssignmentStatus,
    ExtensionState,
    HandlingMode,
    InstructionRank,
    OutputStatus,
    OutputType,
    ReplyClass,
    Satisfaction,
    SignerRole,
    SpeechForm,
    SpeechSelection,
)

from .audit import AuditedRecord
from .org import Committee, Department, Organisation, Sector, Session, Term, User


class OutputRules(models.Model):
    """The windows and time limits of the output lifecycles. A row with no organisation is the
    default; an organisation's own row overrides it as a whole."""

    organisation = models.OneToOneField(
        Organisation, verbose_name=_("所属组织"), null=True, blank=True, on_delete=models.CASCADE
    )
    reply_months = models.PositiveSmallIntegerField(
        _("提案答复期限（月）"), default=3, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    reply_max_months = models.PositiveSmallIntegerField(
        _("延期后最长答复期限（月）"), default=6, validators=[MinValueValidator(1), MaxValueValidator(24)]
    )
    objection_working_days = models.PositiveSmallIntegerField(
        _("承办单位提出异议期限（工作日）"), default=7, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    views_months = models.PositiveSmallIntegerField(
        _("会办单位提出意见期限（月）"), default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    plenary_lead_months = models.PositiveSmallIntegerField(
        _("大会提案自开幕前几个月起征集"), default=3, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    info_report_max_chars = models.PositiveSmallIntegerField(
        _("社情民意信息字数上限"), default=1500, validators=[MinValueValidator(100), MaxValueValidator(20000)]
    )
    speech_max_chars = models.PositiveSmallIntegerField(
        _("大会发言字数上限"), default=2000, validators=[MinValueValidator(100), MaxValueValidator(20000)]
    )
    reply_warning_working_days = models.PositiveSmallIntegerField(
        _("答复期限前几个工作日预警"), default=10, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    speech_oral_max_minutes = models.PositiveSmallIntegerField(
        _("口头发言时长上限（分钟）"), default=8, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )

    class Meta:
        verbose_name = _("成果办理规则")
        verbose_name_plural = _("成果办理规则")
        constraints = [
            models.UniqueConstraint(
                fields=["reply_months"], condition=models.Q(organisation__isnull=True), name="output_rules_one_default"
            ),
        ]

    def __str__(self) -> str:
        return str(self.organisation or _("默认规则"))


class OutputReason(models.Model):
    """A reason from the editable list, e.g. why a proposal is not filed (不立案理由)."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    text = models.CharField(_("理由"), max_length=120)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("不立案理由")
        verbose_name_plural = _("不立案理由")
        constraints = [models.UniqueConstraint(fields=["organisation", "text"], name="output_reason_unique_text")]

    def __str__(self) -> str:
        return self.text


class Output(AuditedRecord):
    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    output_type = models.CharField(_("成果类型"), max_length=20, choices=OutputType.choices)
    status = models.CharField(_("状态"), max_length=20, choices=OutputStatus.choices, default=OutputStatus.DRAFT)
    title = models.CharField(_("标题"), max_length=200)
    committee = models.ForeignKey(Committee, verbose_name=_("负责委办"), on_delete=models.PROTECT)
    term = models.ForeignKey(Term, verbose_name=_("届"), null=True, blank=True, on_delete=models.PROTECT)
    session = models.ForeignKey(Session, verbose_name=_("会次"), null=True, blank=True, on_delete=models.PROTECT)
    # The text: an info report's situation, analysis and suggestion; a proposal's analysis and
    # suggestion; a speech's or research report's whole text in `body`.
    situation = models.TextField(_("基本情况"), blank=True)
    analysis = models.TextField(_("分析"), blank=True)
    suggestion = models.TextField(_("建议"), blank=True)
    body = models.TextField(_("正文"), blank=True)
    # Numbering, given at submission: gapless per series (`OutputSeries`).
    series = models.CharField(_("编号序列"), max_length=80, blank=True)
    number_seq = models.PositiveIntegerField(_("序号"), null=True, blank=True)
    number = models.CharField(_("编号"), max_length=80, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        User, verbose_name=_("提交人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Proposals.
    sector = models.ForeignKey(
        Sector, verbose_name=_("以界别名义"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_plenary = models.BooleanField(_("大会提案"), null=True, blank=True)
    is_key = models.BooleanField(_("重点提案"), default=False)
    supervisor = models.ForeignKey(
        User, verbose_name=_("督办领导"), null=True, blank=True, on_delete=models.PROTECT, related_name="supervised"
    )
    decided_at = models.DateTimeField(_("审查时间"), null=True, blank=True)
    refusal_reason = models.ForeignKey(
        OutputReason, verbose_name=_("不立案理由"), null=True, blank=True, on_delete=models.PROTECT
    )
    decision_note = models.TextField(_("审查意见"), blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("并入提案"), null=True, blank=True, on_delete=models.PROTECT, related_name="merged"
    )
    became = models.ForeignKey(
        "self", verbose_name=_("转为社情民意信息"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handling = models.CharField(_("办理方式"), max_length=16, choices=HandlingMode.choices, blank=True)
    round = models.PositiveSmallIntegerField(_("办理轮次"), default=0)
    assigned_at = models.DateTimeField(_("交办时间"), null=True, blank=True)
    followup_open = models.BooleanField(_("B类答复待跟踪落实"), default=False)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    # Info reports: the bulletin issue it was used in, and the organisation whose staff decide on
    # it now (its own, or one it was sent up to).
    bulletin_year = models.PositiveSmallIntegerField(_("编报年度"), null=True, blank=True)
    bulletin_issue = models.PositiveSmallIntegerField(_("期号"), null=True, blank=True)
    with_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("当前报送至"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referred_outputs",
    )
    # Speeches.
    speech_form = models.CharField(_("发言形式"), max_length=16, choices=SpeechForm.choices, blank=True)
    selection = models.CharField(_("采用情况"), max_length=16, choices=SpeechSelection.choices, blank=True)
    minutes = models.PositiveSmallIntegerField(_("口头发言时长（分钟）"), null=True, blank=True)
    # The spine's free-text outcome, kept for outputs that had one before the lifecycles.
    outcome = models.TextField(_("办理结果"), blank=True)
    outcome_recorded_at = models.DateTimeField(_("结果登记时间"), null=True, blank=True)
    created_by = models.ForeignKey(User, verbose_name=_("创建人"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("成果")
        verbose_name_plural = _("成果")
        indexes = [
            models.Index(fields=["organisation", "output_type", "status"], name="output_org_type_status"),
            models.Index(
                fields=["with_organisation", "status"],
                condition=models.Q(with_organisation__isnull=False),
                name="output_referred",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "number_seq"],
                condition=models.Q(number_seq__isnull=False),
                name="output_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def text_length(self) -> int:
        return len(self.situation) + len(self.analysis) + len(self.suggestion) + len(self.body)


class OutputSeries(models.Model):
    """A numbering series (a term and session's proposals, a year's info reports): its last
    number. Taking the next number updates this row in the submitting transaction, so a
    rolled-back submission gives its number back and the numbers have no gaps."""

    name = models.CharField(_("序列"), max_length=80, unique=True)
    last = models.PositiveIntegerField(_("最后序号"), default=0)

    class Meta:
        verbose_name = _("编号序列")
        verbose_name_plural = _("编号序列")

    def __str__(self) -> str:
        return f"{self.name}: {self.last}"


class OutputSigner(models.Model):
    """A proposal's or speech's signer: the first proposer, a co-signer, or the convener who signs
    a sector's proposal. Each confirms, and later rates, from their own login."""

    output = models.ForeignKey(Output, verbose_name=_("成果"), on_delete=models.CASCADE, related_name="signers")
    user = models.ForeignKey(User, verbose_name=_("委员"), on_delete=models.PROTECT, related_name="signatures")
    role = models.CharField(_("署名方式"), max_length=16, choices=SignerRole.choices)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    added_at = models.DateTimeField(_("加入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("署名")
        verbose_name_plural = _("署名")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["output", "user"], name="signer_once_per_output")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


class OutputRating(models.Model):
    """A signer's rating of one round of handling: the process and the result, separately."""

    output = models.ForeignKey(Output, verbose_name=_("成果"), on_delete=models.CASCADE, related_name="ratings")
    signer = models.ForeignKey(OutputSigner, verbose_name=_("署名"), on_delete=models.CASCADE, related_name="ratings")
    round = models.PositiveSmallIntegerField(_("办理轮次"))
    process = models.CharField(_("对办理过程"), max_length=16, choices=Satisfaction.choices)
    result = models.CharField(_("对办理结果"), max_length=16, choices=Satisfaction.choices)
    note = models.TextField(_("意见"), blank=True)
    rated_at = models.DateTimeField(_("评价时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("办理评价")
        verbose_name_plural = _("办理评价")
        constraints = [models.UniqueConstraint(fields=["signer", "round"], name="rating_once_per_round")]


class Assignment(models.Model):
    """A proposal assigned (交办) to a department for one round of handling: as lead (主办),
    co-handler (会办) or one of several that each reply (分办)."""

    output = models.ForeignKey(Output, verbose_name=_("提案"), on_delete=models.CASCADE, related_name="assignments")
    organisation = models.ForeignKey(Organisation, verbose_name=_("所属组织"), on_delete=models.PROTECT)
    department = models.ForeignKey(Department, verbose_name=_("承办单位"), on_delete=models.PROTECT)
    role = models.CharField(_("承办方式"), max_length=16, choices=AssignmentRole.choices)
    round = models.PositiveSmallIntegerField(_("办理轮次"), default=1)
    status = models.CharField(
        _("状态"), max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.ASSIGNED
    )
    assigned_at = models.DateTimeField(_("交办时间"))
    objection_until = models.DateTimeField(_("异议期截止"), null=True, blank=True)
    due_at = models.DateTimeField(_("答复期限"), null=True, blank=True)
    latest_due_at = models.DateTimeField(_("最长答复期限"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    objection = models.TextField(_("异议理由"), blank=True)
    objected_at = models.DateTimeField(_("提出异议时间"), null=True, blank=True)
    view = models.TextField(_("会办意见"), blank=True)
    countersigned_at = models.DateTimeField(_("会签时间"), null=True, blank=True)
    extension_state = models.CharField(
        _("延期申请"), max_length=16, choices=ExtensionState.choices, blank=True, default=""
    )
    extension_until = models.DateField(_("申请延期至"), null=True, blank=True)
    extension_reason = models.TextField(_("延期理由"), blank=True)
    reply_class = models.CharField(_("答复类别"), max_length=1, choices=ReplyClass.choices, blank=True)
    reply = models.TextField(_("答复内容"), blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    replied_by = models.ForeignKey(
        User, verbose_name=_("答复人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    solved_at = models.DateTimeField(_("B类落实时间"), null=True, blank=True)
    solved_note = models.TextField(_("落实情况"), blank=True)
    # The reply sweep's marks (`casework.services.reply_sweep`), each set once.
    warn_at = models.DateTimeField(_("答复预警时间"), null=True, blank=True)
    warned_at = models.DateTimeField(_("已预警"), null=True, blank=True)
    breached_at = models.DateTimeField(_("已超期"), null=True, blank=True)

    class Meta:
        verbose_name = _("交办")
        verbose_name_plural = _("交办")
        ordering = ["round", "id"]
        indexes = [
            # A department's desk: its open assignments, soonest due first.
            models.Index(fields=["department", "status", "due_at"], name="assignment_desk"),
            # The reply sweep: open assignments still waiting for their warning or breach mark.
            models.Index(
                fields=["warn_at"],
                condition=models.Q(status__in=("assigned", "accepted"), warned_at__isnull=True, warn_at__isnull=False),
                name="assignment_sweep_warn",
            ),
            models.Index(
                fields=["due_at"],
                condition=models.Q(status__in=("assigned", "accepted"), breached_at__isnull=True, due_at__isnull=False),
                name="assignment_sweep_breach",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department} · {self.get_role_display()}"


class OutputFile(models.Model):
    """A file attached to an output, e.g. a department's signed reply."""

    output = models.ForeignKey(Output, verbose_name=_("成果"), on_delete=models.CASCADE, related_name="files")
    assignment = models.ForeignKey(
        Assignment, verbose_name=_("交办"), null=True, blank=True, on_delete=models.CASCADE, related_name="files"
    )
    file = models.FileField(_("文件"), upload_to="outputs/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(User, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return self.name


class Adoption(models.Model):
    """An organisation's decision on an info report sent up to it (or its own, when used)."""

    output = models.ForeignKey(
        Output, verbose_name=_("社情民意信息"), on_delete=models.CASCADE, related_name="adoptions"
    )
    organisation = models.ForeignKey(Organisation, verbose_name=_("决定组织"), on_delete=models.PROTECT)
    adopted = models.BooleanField(_("采用"))
    level = models.CharField(_("采用层级"), max_length=16, choices=AdoptionLevel.choices, blank=True)
    note = models.TextField(_("说明"), blank=True)
    decided_by = models.ForeignKey(User, verbose_name=_("决定人"), on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("决定时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("采用情况")
        verbose_name_plural = _("采用情况")
        ordering = ["id"]


class Instruction(models.Model):
    """A leader's instruction (批示) on an info report, with the leader's rank."""

    output = models.ForeignKey(
        Output, verbose_name=_("社情民意信息"), on_delete=models.CASCADE, related_name="instructions"
    )
    leader = models.CharField(_("批示领导"), max_length=60)
    rank = models.CharField(_("领导级别"), max_length=16, choices=InstructionRank.choices)
    text = models.TextField(_("批示内容"))
    given_on = models.DateField(_("批示日期"))
    recorded_by = models.ForeignKey(User, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("领导批示")
        verbose_name_plural = _("领导批示")
        ordering = ["id"]
