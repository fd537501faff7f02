"""Output serializers (they only read) and the request serializers derived from the declared
inputs (they document; `workflows.inputs.Input.clean` is the one check of what comes in).
Every time is answered in the deployment's time zone (Asia/Shanghai, +08:00)."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from casework.choices import SlaState, Stage
from casework.pii import mask_address, mask_id_number, mask_phone
from workflows.inputs import MAX_ID, Choice, Count, Day, Flag, Input, Ref, Refs, Text


class RefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ChoiceOut(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class FieldOut(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["text", "choice", "ref", "refs", "flag", "date", "number"])
    label = serializers.CharField()
    required = serializers.BooleanField()
    max_length = serializers.IntegerField(required=False)
    multiline = serializers.BooleanField(required=False)
    choices = ChoiceOut(many=True, required=False)
    options = serializers.CharField(required=False, help_text=_("可选项的来源（参考数据接口名）"))
    max_items = serializers.IntegerField(required=False)
    min = serializers.IntegerField(required=False, help_text=_("整数的最小值"))
    max = serializers.IntegerField(required=False, help_text=_("整数的最大值"))
    only = serializers.CharField(required=False, help_text=_("只有该方可以设置此项，如 case_member（反映委员）"))


class TransitionOut(serializers.Serializer):
    name = serializers.CharField(help_text=_("POST /api/v1/cases/{id}/transitions/{name}/"))
    label = serializers.CharField()
    fields = FieldOut(many=True)


class CaseListOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    urgency = serializers.CharField()
    category = RefOut()
    township = RefOut(allow_null=True)
    committee = RefOut()
    member = RefOut()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)


class ContactOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_null=True, help_text=_("未经群众同意时不提供（为 null）"))
    phone = serializers.CharField(
        allow_null=True, help_text=_("联系电话，已脱敏（138****5678）；未经群众同意时为 null，无则为空串")
    )


class RosterContactOut(serializers.Serializer):
    """A constituent on the member's own roster, their personal data masked (the reveal answers
    it in clear, audited)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.SerializerMethodField(help_text=_("联系电话，已脱敏：138****5678"))
    id_number = serializers.SerializerMethodField(
        help_text=_("身份证号，已脱敏：前 4 位和后 4 位，如 3301**********1234")
    )
    address = serializers.SerializerMethodField(help_text=_("住址，已脱敏：只到区县，如 浙江省台州市黄岩区***"))
    consent_recorded_on = serializers.DateField(allow_null=True, help_text=_("同意登记日期"))

    def get_phone(self, contact: Any) -> str:
        return mask_phone(contact.phone)

    def get_id_number(self, contact: Any) -> str:
        return mask_id_number(contact.id_number)

    def get_address(self, contact: Any) -> str:
        return mask_address(contact.address)


class ContactRevealOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField(help_text=_("联系电话（明文）；无则为空串"))
    id_number = serializers.CharField(help_text=_("身份证号（明文）；无则为空串"))
    address = serializers.CharField(help_text=_("住址（明文）；无则为空串"))


class ClockOut(serializers.Serializer):
    stage = serializers.CharField()
    state = serializers.CharField()
    started_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True, help_text=_("截止时刻（最后一日 24:00）；无法计算时为 null"))
    last_day = serializers.DateField(allow_null=True, help_text=_("期限的最后一日"))
    due_error = serializers.CharField(help_text=_("到期时间无法计算的原因，如 calendar_missing:2027"))
    working_days_left = serializers.IntegerField(allow_null=True, help_text=_("剩余工作日；负数为已超期的工作日"))
    words = serializers.CharField(help_text=_("给人看的说法：剩余 2 个工作日 / 已超期 1 个工作日 / 暂停中"))
    sla = serializers.ChoiceField(choices=SlaState.choices, help_text=_("时限状态"))
    warn_at = serializers.DateTimeField(allow_null=True, help_text=_("预警时刻"))
    warned_at = serializers.DateTimeField(allow_null=True, help_text=_("已发出预警的时刻"))
    breached_at = serializers.DateTimeField(allow_null=True, help_text=_("巡检记为超期的时刻"))
    escalation_level = serializers.IntegerField(help_text=_("已提级次数：1 主任，2 主席会议"))
    stopped_at = serializers.DateTimeField(allow_null=True)
    is_met = serializers.BooleanField(allow_null=True)
    assignee = serializers.IntegerField(source="assignee_id", allow_null=True)


class TaskOut(serializers.Serializer):
    """The step the case waits on, in our words."""

    id = serializers.IntegerField()
    stage = serializers.CharField()
    claimed_by = serializers.IntegerField(source="owner_id", allow_null=True)
    claimed_at = serializers.DateTimeField(allow_null=True)


class CaseOut(CaseListOut):
    description = serializers.CharField()
    contacts = ContactOut(many=True, source="contact_rows")
    consent_to_share = serializers.BooleanField()
    decision = serializers.CharField()
    decision_note = serializers.CharField()
    reject_reason = serializers.CharField(source="reject_reason.text", allow_null=True, default=None)
    redirect_channel = serializers.CharField()
    info_request = serializers.CharField()
    info_answer = serializers.CharField()
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)
    output = serializers.IntegerField(source="output_id", allow_null=True)
    outcome = serializers.CharField()
    feedback_method = serializers.CharField()
    satisfaction = serializers.CharField()
    feedback_told_on = serializers.DateField(allow_null=True, help_text=_("委员告知群众办理结果的日期"))
    decided_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    task = TaskOut(source="task_row", allow_null=True)
    clock = ClockOut(source="open_clock", allow_null=True, help_text=_("当前环节的时限（计时中或暂停中）；无则为 null"))
    clocks = ClockOut(many=True, source="clock_rows", help_text=_("全部时限，含历史，按开始先后"))
    available_transitions = TransitionOut(many=True, source="transition_rows")


class CaseCreatedOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    urgency = serializers.CharField()
    category = serializers.IntegerField(source="category_id")
    township = serializers.IntegerField(source="township_id", allow_null=True)
    committee = serializers.IntegerField(source="committee_id")
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)


class EventOut(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    action = serializers.CharField()
    action_display = serializers.CharField(source="get_action_display")
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_name = serializers.SerializerMethodField()
    occurred_at = serializers.DateTimeField()
    source_ip = serializers.IPAddressField(
        allow_null=True,
        help_text=_("操作的来源地址：仅审计管理员可见他人的地址，其他人只看到自己操作的地址，否则为 null。"),
    )
    success = serializers.BooleanField()
    changes = serializers.JSONField()
    algorithm = serializers.CharField()
    hash = serializers.CharField()

    def get_actor_name(self, event: Any) -> str | None:
        return str(event.actor) if event.actor_id else None


class QueueOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    unclaimed = serializers.IntegerField(help_text=_("待认领数，最多数到 1000"))
    unclaimed_more = serializers.BooleanField(help_text=_("待认领数超过 1000"))
    mine = serializers.IntegerField()


class QueueCaseOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    urgency = serializers.CharField()
    category = RefOut()
    township = RefOut(allow_null=True)
    member = RefOut()
    submitted_at = serializers.DateTimeField(allow_null=True)


class QueueItemOut(serializers.Serializer):
    clock = serializers.IntegerField(source="pk")
    task = serializers.IntegerField(source="task_id")
    stage = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    sla = serializers.ChoiceField(
        choices=[SlaState.OK, SlaState.WARNING, SlaState.BREACHED, SlaState.ERROR],
        help_text=_("正常 / 即将超期 / 已超期 / 到期时间无法计算"),
    )
    started_at = serializers.DateTimeField()
    owner = serializers.IntegerField(source="assignee_id", allow_null=True, help_text=_("认领人（未认领时为空）"))
    case = QueueCaseOut()


class ClaimedCaseOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    urgency = serializers.CharField()


class ClaimOut(serializers.Serializer):
    task = serializers.IntegerField(source="task_id")
    stage = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    owner = serializers.IntegerField(source="assignee_id")
    case = ClaimedCaseOut()


class OutputOut(serializers.Serializer):
    id = serializers.IntegerField()
    output_type = serializers.CharField()
    output_type_display = serializers.CharField(source="get_output_type_display")
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    title = serializers.CharField()
    committee = RefOut()
    outcome = serializers.CharField()
    outcome_recorded_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ReferralOut(OutputOut):
    """An info report sent up to the user's organisation, waiting for its decision."""

    number = serializers.CharField(help_text=_("报送单位编报的期号"))
    organisation = RefOut(help_text=_("报送的（最基层的）政协"))
    submitted_at = serializers.DateTimeField(allow_null=True)
    bulletin_year = serializers.IntegerField(allow_null=True)
    bulletin_issue = serializers.IntegerField(allow_null=True)


class UserRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class RatingOut(serializers.Serializer):
    round = serializers.IntegerField()
    process = serializers.CharField()
    result = serializers.CharField()
    note = serializers.CharField()
    rated_at = serializers.DateTimeField()


class SignatureOut(serializers.Serializer):
    id = serializers.IntegerField()
    user = UserRefOut()
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")
    confirmed_at = serializers.DateTimeField(allow_null=True)
    ratings = RatingOut(many=True, source="rating_rows")
    available_transitions = TransitionOut(
        many=True, source="transition_rows", help_text=_("POST /api/v1/signatures/{id}/transitions/{name}/")
    )


class FileOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()


class AssignmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    department = RefOut()
    role = serializers.CharField()
    role_display = serializers.CharField(source="get_role_display")
    round = serializers.IntegerField()
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    assigned_at = serializers.DateTimeField()
    objection_until = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    latest_due_at = serializers.DateTimeField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    objection = serializers.CharField()
    view = serializers.CharField()
    countersigned_at = serializers.DateTimeField(allow_null=True)
    extension_state = serializers.CharField()
    extension_until = serializers.DateField(allow_null=True)
    extension_reason = serializers.CharField()
    reply_class = serializers.CharField()
    reply = serializers.CharField()
    replied_at = serializers.DateTimeField(allow_null=True)
    solved_at = serializers.DateTimeField(allow_null=True)
    solved_note = serializers.CharField()
    files = FileOut(many=True, source="file_rows")
    available_transitions = TransitionOut(
        many=True, source="transition_rows", help_text=_("POST /api/v1/assignments/{id}/transitions/{name}/")
    )


class AdoptionOut(serializers.Serializer):
    id = serializers.IntegerField()
    organisation = RefOut()
    adopted = serializers.BooleanField()
    level = serializers.CharField()
    note = serializers.CharField()
    decided_at = serializers.DateTimeField()


class InstructionOut(serializers.Serializer):
    id = serializers.IntegerField()
    leader = serializers.CharField()
    rank = serializers.CharField()
    rank_display = serializers.CharField(source="get_rank_display")
    text = serializers.CharField()
    given_on = serializers.DateField()


class OutputDetailOut(OutputOut):
    number = serializers.CharField()
    situation = serializers.CharField()
    analysis = serializers.CharField()
    suggestion = serializers.CharField()
    body = serializers.CharField()
    term = RefOut(allow_null=True)
    session = RefOut(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    is_plenary = serializers.BooleanField(
        allow_null=True, help_text=_("大会提案为 true，平时提案为 false；提交前为 null")
    )
    is_key = serializers.BooleanField()
    supervisor = UserRefOut(allow_null=True)
    sector = RefOut(allow_null=True)
    handling = serializers.CharField()
    round = serializers.IntegerField()
    followup_open = serializers.BooleanField()
    refusal_reason = serializers.CharField(source="refusal_reason.text", allow_null=True, default=None)
    decision_note = serializers.CharField()
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)
    became = serializers.IntegerField(source="became_id", allow_null=True)
    bulletin_year = serializers.IntegerField(allow_null=True)
    bulletin_issue = serializers.IntegerField(allow_null=True)
    with_organisation = RefOut(allow_null=True)
    speech_form = serializers.CharField()
    selection = serializers.CharField()
    minutes = serializers.IntegerField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    signatures = SignatureOut(many=True, source="signer_rows")
    assignments = AssignmentOut(many=True, source="assignment_rows")
    adoptions = AdoptionOut(many=True, source="adoption_rows")
    instructions = InstructionOut(many=True, source="instruction_rows")
    cases = CaseListOut(many=True, source="case_rows")
    available_transitions = TransitionOut(many=True, source="transition_rows")


class OptionOut(serializers.Serializer):
    """A choice of reference data, {id, name}: the name is how the record reads (a reject
    reason's text, a category's name)."""

    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class CommitteeOut(OptionOut):
    is_default_intake = serializers.BooleanField()


class CategoryOut(OptionOut):
    committee = serializers.IntegerField(source="committee_id", allow_null=True, help_text=_("默认受理委办"))


class MergeTargetOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    committee = RefOut()
    member = RefOut()
    submitted_at = serializers.DateTimeField(allow_null=True)


# Request bodies, derived from the declared inputs ----------------------------------------------


def _field(spec: Any, partial: bool) -> serializers.Field:
    required = spec.required and not partial
    # `Input.clean` takes null for an optional field as its absence (the field's default).
    common: dict[str, Any] = {
        "required": required,
        "allow_null": not spec.required,
        "help_text": spec.help or None,
        "label": spec.label,
    }
    if isinstance(spec, Text):
        # The pattern documents what `Text.clean` refuses (control characters, blank when required).
        pattern = RegexValidator(spec.pattern())
        return serializers.CharField(
            max_length=spec.max_length, allow_blank=not spec.required, validators=[pattern], **common
        )
    if isinstance(spec, Choice):
        return serializers.ChoiceField(choices=spec.choices.choices, **common)
    if isinstance(spec, Ref):
        return serializers.IntegerField(min_value=1, max_value=MAX_ID, **common)
    if isinstance(spec, Refs):
        child = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        return serializers.ListField(child=child, max_length=spec.max_items, **common)
    if isinstance(spec, Flag):
        return serializers.BooleanField(**common)
    if isinstance(spec, Day):
        return serializers.DateField(**common)
    if isinstance(spec, Count):
        return serializers.IntegerField(min_value=spec.least, max_value=spec.most, **common)
    raise AssertionError(spec)


def request_serializer(name: str, spec: Input) -> type[serializers.Serializer]:
    """A serializer class describing `spec`, named `name` in the OpenAPI components. A partial
    input (an edit) needs at least one field: `api.schema` says so as minProperties."""
    fields: dict[str, Any] = {field.name: _field(field, spec.partial) for field in spec.fields}
    fields["min_properties"] = 1 if spec.partial else 0
    return type(name, (serializers.Serializer,), fields)


class SlaCountsOut(serializers.Serializer):
    judged = serializers.IntegerField(help_text=_("期间内结束并有结论的时限数"))
    met = serializers.IntegerField(help_text=_("按时完成"))
    late = serializers.IntegerField(help_text=_("超时完成"))
    compliance = serializers.FloatField(allow_null=True, help_text=_("按时率 met/judged；无结论时为 null"))
    open = serializers.IntegerField(help_text=_("现在计时中的"))
    warning = serializers.IntegerField(help_text=_("现在即将超期的"))
    overdue = serializers.IntegerField(help_text=_("现在已超期的"))


class SlaRowOut(SlaCountsOut):
    committee = RefOut()
    stage = serializers.ChoiceField(choices=Stage.choices)


class SlaReportOut(serializers.Serializer):
    first = serializers.DateField()
    last = serializers.DateField()
    rows = SlaRowOut(many=True)
    totals = SlaCountsOut()


# Notifications ------------------------------------------------------------------------------


class NotificationOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_display = serializers.CharField(source="get_kind_display")
    title = serializers.CharField()
    body = serializers.CharField()
    case = serializers.IntegerField(source="case_id", allow_null=True, help_text=_("所涉案件；不涉及单个案件时为 null"))
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True, help_text=_("未读时为 null"))


class NotificationSettingsOut(serializers.Serializer):
    email = serializers.BooleanField(help_text=_("用电子邮件通知（需有邮箱地址）"))
    dingtalk = serializers.BooleanField(help_text=_("用钉钉/浙政钉群机器人通知"))
    mobile = serializers.CharField(help_text=_("手机号，仅用于钉钉群消息中 @ 本人；空为不提供"))
    email_address = serializers.CharField(help_text=_("通知邮件的收件地址（由管理员维护）；空为没有"))


# Documents the PATCH body; `workflows.notifications.clean_settings` is its one check.
class NotificationSettingsIn(serializers.Serializer):
    min_properties = 1
    closed = True  # api.schema: additionalProperties false, as the check refuses unknown fields

    email = serializers.BooleanField(required=False)
    dingtalk = serializers.BooleanField(required=False)
    mobile = serializers.RegexField(
        r"^(1[0-9]{10})?$", required=False, allow_blank=True, max_length=11, help_text=_("11 位手机号；空字符串为删除")
    )
