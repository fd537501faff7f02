"""Input and output serializers. Inputs validate shape only; outputs only read. Neither writes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from casework.choices import FeedbackMethod, OutputType, RedirectChannel, Satisfaction, Urgency


class RefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CaseCreateIn(serializers.Serializer):
    title = serializers.CharField(max_length=120, label=_("标题"))
    description = serializers.CharField(max_length=5000, label=_("问题描述"))
    category = serializers.IntegerField(label=_("类别"))
    township = serializers.IntegerField(required=False, allow_null=True, label=_("乡镇街道"))
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.NORMAL, label=_("紧急程度"))
    contacts = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, max_length=20, label=_("反映群众")
    )
    consent_to_share = serializers.BooleanField(default=False, label=_("同意提供姓名"))
    committee = serializers.IntegerField(required=False, allow_null=True, label=_("受理委办"))
    submit = serializers.BooleanField(
        default=True, label=_("直接提交"), help_text=_("false 时保存为草稿，之后用 submit 提交。")
    )


class CaseUpdateIn(serializers.Serializer):
    title = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(max_length=5000, required=False)
    category = serializers.IntegerField(required=False)
    township = serializers.IntegerField(required=False, allow_null=True)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    contacts = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=20)
    consent_to_share = serializers.BooleanField(required=False)


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
    name = serializers.CharField()


class ClockOut(serializers.Serializer):
    stage = serializers.CharField()
    state = serializers.CharField()
    started_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    stopped_at = serializers.DateTimeField(allow_null=True)
    is_met = serializers.BooleanField(allow_null=True)
    assignee = serializers.IntegerField(source="assignee_id", allow_null=True)


class TaskOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    owner = serializers.IntegerField(allow_null=True)


class CaseOut(CaseListOut):
    description = serializers.CharField()
    contacts = ContactOut(many=True)
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
    decided_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    clocks = ClockOut(many=True, source="clock_rows")
    open_tasks = TaskOut(many=True, source="open_task_rows")


class CaseCreatedOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    status_display = serializers.CharField()
    urgency = serializers.CharField()
    category = serializers.IntegerField()
    township = serializers.IntegerField(allow_null=True)
    committee = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)


class TransitionIn(serializers.Serializer):
    """One body for every transition; each uses the fields its description names."""

    note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text=_("accept/reject/redirect/merge: 意见；resolve: 解决情况（必填）"),
    )
    question = serializers.CharField(required=False, max_length=2000, help_text=_("request_info: 需补充的内容"))
    answer = serializers.CharField(required=False, max_length=5000, help_text=_("answer_info: 补充的材料"))
    reason = serializers.IntegerField(required=False, help_text=_("reject: 不予受理理由 id"))
    channel = serializers.ChoiceField(choices=RedirectChannel.choices, required=False, help_text=_("redirect"))
    into = serializers.IntegerField(required=False, help_text=_("merge: 主案件 id"))
    output_type = serializers.ChoiceField(choices=OutputType.choices, required=False, help_text=_("convert"))
    output = serializers.IntegerField(
        required=False, allow_null=True, help_text=_("convert: 并入已有草稿成果的 id；不填则新建")
    )
    title = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text=_("convert"))
    method = serializers.ChoiceField(choices=FeedbackMethod.choices, required=False, help_text=_("feedback"))
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices, required=False, help_text=_("feedback"))
    send_back_reason = serializers.CharField(required=False, max_length=2000, help_text=_("send_back: 退回理由"))


class EventOut(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    action = serializers.CharField()
    actor = serializers.IntegerField(source="actor_id", allow_null=True)
    actor_name = serializers.SerializerMethodField()
    occurred_at = serializers.DateTimeField()
    source_ip = serializers.IPAddressField(allow_null=True)
    success = serializers.BooleanField()
    changes = serializers.JSONField()
    algorithm = serializers.CharField()
    hash = serializers.CharField()

    def get_actor_name(self, event) -> str | None:  # type: ignore[no-untyped-def]
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
    due_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField()
    case = QueueCaseOut()


class ClaimedCaseOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    urgency = serializers.CharField()


class ClaimOut(serializers.Serializer):
    task = serializers.IntegerField()
    stage = serializers.CharField()
    due_at = serializers.DateTimeField()
    owner = serializers.IntegerField()
    case = ClaimedCaseOut()


class OutcomeIn(serializers.Serializer):
    outcome = serializers.CharField(max_length=5000)


class OutputOut(serializers.Serializer):
    id = serializers.IntegerField()
    output_type = serializers.CharField()
    status = serializers.CharField()
    title = serializers.CharField()
    outcome = serializers.CharField()


class PageOut(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
