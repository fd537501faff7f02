"""The case lifecycle, one declaration per transition (see `declare.py` for what each part
means). A member files a concern → the committee's staff review it from their queue (claim,
then decide) → an accepted case is converted into an output → the output's outcome comes back →
the member tells the constituent and the case closes. Staff may send a case back one step."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from casework.choices import AuditAction, FeedbackMethod, OutputType, RedirectChannel, Satisfaction, Urgency
from casework.choices import CaseStatus as S
from casework.services import cases
from casework.services.roster import ROSTER_MAX

from .declare import Grant, Hold, Lifecycle, Move, Party, Rule, Transition, head, member, staff
from .inputs import Choice, Day, Flag, Input, Ref, Refs, Text

MEMBER = Party.CASE_MEMBER.value
NOTE = Text("note", _("说明"), required=False, max_length=5000, multiline=True)


class Intake:
    """Filing a concern creates the case: a draft, or straight into its committee's queue."""

    label = _("反映民情")
    done = _("已提交，案件进入委办审核。")
    input = Input(
        (
            Text("title", _("标题"), max_length=120),
            Text("description", _("问题描述"), max_length=5000, multiline=True),
            Ref("category", _("类别"), options="categories"),
            Ref("township", _("乡镇街道"), required=False, options="townships"),
            Choice("urgency", _("紧急程度"), required=False, choices=Urgency, default="normal"),
            Refs(
                "contacts",
                _("反映群众"),
                required=False,
                options="contacts",
                max_items=ROSTER_MAX,
                help=_("只能选择您联系名单中的界别群众。"),
            ),
            Flag(
                "consent_to_share",
                _("群众同意提供姓名"),
                help=_("勾选表示反映群众同意其姓名随案件转给办理单位；未勾选时只转问题本身。"),
            ),
            Ref("committee", _("受理委办"), required=False, options="committees", help=_("不填时按类别确定受理委办。")),
            Flag("submit", _("直接提交"), default=True, help=_("否：保存为草稿，之后再提交。")),
        )
    )

    @staticmethod
    def audit(submitted: bool) -> AuditAction:
        return AuditAction.CASE_SUBMITTED if submitted else AuditAction.CASE_CREATED


EDITABLE = Input(
    (
        Text("title", _("标题"), max_length=120),
        Text("description", _("问题描述"), max_length=5000, multiline=True),
        Ref("category", _("类别"), options="categories"),
        Ref("township", _("乡镇街道"), required=False, options="townships"),
        Choice("urgency", _("紧急程度"), choices=Urgency),
        # The contacts are the member's roster, and consent is the constituent's, given through
        # their member (PIPL): never the committee's to set.
        Refs("contacts", _("反映群众"), required=False, options="contacts", max_items=ROSTER_MAX, only=MEMBER),
        Flag("consent_to_share", _("群众同意提供姓名"), only=MEMBER),
    ),
    partial=True,
)

CASE = Lifecycle(
    "case",
    [
        Transition(
            name="submit",
            label=_("提交"),
            done=_("已提交，案件进入委办审核。"),
            grants=(member(S.DRAFT),),
            effect=cases.submit,
            audit=AuditAction.CASE_SUBMITTED,
            move=Move.START,
            tone="primary",
            button=_("提交给委办审核"),
        ),
        Transition(
            name="claim",
            label=_("认领"),
            done=_("已认领，请在到期前处理。"),
            grants=(staff(S.REVIEW, S.CONVERSION),),
            effect=cases.hold_task,
            audit=AuditAction.CASE_CLAIMED,
            move=Move.CLAIM,
            hold=Hold.FREE,
            help=_("未认领时直接作出决定，也会先为您认领。"),
        ),
        Transition(
            name="release",
            label=_("放弃认领"),
            done=_("已放弃认领，案件回到队列。"),
            grants=(staff(S.REVIEW, S.CONVERSION),),
            effect=cases.hold_task,
            audit=AuditAction.CASE_RELEASED,
            move=Move.RELEASE,
            hold=Hold.MINE,
        ),
        Transition(
            name="reassign",
            label=_("改派"),
            done=_("已改派。"),
            grants=(head(S.REVIEW, S.CONVERSION),),
            input=Input(
                (
                    Ref(
                        "to",
                        _("改派给"),
                        options="team_members",
                        help=_("本委办的工作人员或主任；已认领的任务也可改派。"),
                    ),
                    NOTE,
                )
            ),
            effect=cases.reassign,
            audit=AuditAction.CASE_REASSIGNED,
            move=Move.REASSIGN,
            help=_("主任可将待认领或他人已认领的任务交给本委办的其他成员办理，时限不变。"),
            button=_("改派"),
        ),
        Transition(
            name="accept",
            label=_("受理转化"),
            done=_("已受理，案件进入成果转化。"),
            grants=(staff(S.REVIEW),),
            input=Input((Text("note", _("审核意见"), required=False, max_length=5000, multiline=True),)),
            effect=cases.accept,
            audit=AuditAction.CASE_ACCEPTED,
            hold=Hold.TAKE,
            tone="primary",
            button=_("受理，转入成果转化"),
        ),
        Transition(
            name="request_info",
            label=_("要求补充材料"),
            done=_("已请委员补充材料，审核计时暂停。"),
            grants=(staff(S.REVIEW),),
            input=Input((Text("question", _("需补充的内容"), max_length=2000, multiline=True),)),
            effect=cases.request_info,
            audit=AuditAction.CASE_NEEDS_INFO,
            hold=Hold.TAKE,
            button=_("发给委员补充"),
        ),
        Transition(
            name="resolve",
            label=_("直接解决"),
            done=_("已直接解决，待委员反馈群众。"),
            grants=(staff(S.REVIEW),),
            input=Input((Text("note", _("解决情况"), max_length=5000, multiline=True),)),
            effect=cases.resolve,
            audit=AuditAction.CASE_RESOLVED,
            hold=Hold.TAKE,
            button=_("登记为直接解决"),
        ),
        Transition(
            name="redirect",
            label=_("转其他渠道"),
            done=_("已转其他渠道，待委员反馈群众。"),
            grants=(staff(S.REVIEW),),
            input=Input((Choice("channel", _("转办渠道"), choices=RedirectChannel), NOTE)),
            effect=cases.redirect,
            audit=AuditAction.CASE_REDIRECTED,
            hold=Hold.TAKE,
            help=_("信访、诉讼和个人事项转相应渠道，不转化为成果。"),
            button=_("转出"),
        ),
        Transition(
            name="reject",
            label=_("不予受理"),
            done=_("已不予受理，待委员反馈群众。"),
            grants=(staff(S.REVIEW),),
            input=Input((Ref("reason", _("不予受理理由"), options="reject_reasons"), NOTE)),
            effect=cases.reject,
            audit=AuditAction.CASE_REJECTED,
            hold=Hold.TAKE,
            tone="danger",
        ),
        Transition(
            name="merge",
            label=_("合并"),
            done=_("已合并，此案件今后随主案件办理。"),
            grants=(staff(S.REVIEW),),
            input=Input((Ref("into", _("主案件"), options="merge_targets", locks="case", searchable=True), NOTE)),
            effect=cases.merge,
            audit=AuditAction.CASE_MERGED,
            hold=Hold.TAKE,
            help=_("重复反映的问题并入已有案件，随其获得办理结果。"),
            button=_("合并到所选案件"),
        ),
        Transition(
            name="transfer",
            label=_("转交其他委办"),
            done=_("已转交，案件进入该委办的审核队列。"),
            grants=(staff(S.REVIEW),),
            input=Input((Ref("committee", _("转交至"), options="transfer_committees"), NOTE)),
            effect=cases.transfer,
            audit=AuditAction.CASE_TRANSFERRED,
            hold=Hold.TAKE,
            help=_("不属本委办的问题转交本会其他专门委员会，重新计算审核时限。"),
            button=_("转交"),
        ),
        Transition(
            name="answer_info",
            label=_("补充材料"),
            done=_("补充材料已提交，案件回到委办审核。"),
            grants=(member(S.NEEDS_INFO),),
            input=Input((Text("answer", _("补充的材料"), max_length=5000, multiline=True),)),
            effect=cases.answer_info,
            audit=AuditAction.CASE_INFO_ANSWERED,
            tone="primary",
            help=_("委办请您补充材料，补充后案件回到委办审核。"),
            button=_("提交补充材料"),
        ),
        Transition(
            name="convert",
            label=_("成果转化"),
            done=_("已转化为成果，待跟踪办理结果。"),
            grants=(staff(S.CONVERSION),),
            input=Input(
                (
                    Choice("output_type", _("成果类型"), choices=OutputType),
                    Ref(
                        "output",
                        _("并入已有成果"),
                        required=False,
                        options="joinable_outputs",
                        locks="output",
                        help=_("不选则新建成果。"),
                    ),
                    Text("title", _("新成果标题"), required=False, max_length=200, help=_("不填则用案件标题。")),
                )
            ),
            effect=cases.convert,
            audit=AuditAction.CASE_CONVERTED,
            hold=Hold.TAKE,
            tone="primary",
        ),
        Transition(
            name="receive_outcome",
            label=_("收到办理结果"),
            done=_("已收到办理结果，待委员反馈群众。"),
            grants=(Grant(Party.SYSTEM, (S.OUTCOME,)),),
            input=Input((Text("outcome", _("办理结果"), max_length=5000, multiline=True),)),
            effect=cases.receive_outcome,
            audit=AuditAction.CASE_OUTCOME_RECEIVED,
        ),
        Transition(
            name="feedback",
            label=_("反馈群众"),
            done=_("已记录反馈情况，案件办结。"),
            grants=(member(S.FEEDBACK),),
            input=Input(
                (
                    Day(
                        "told_on",
                        _("告知日期"),
                        help=_("告知群众办理结果的日期，不早于收到办理结果之日，不晚于今天。"),
                    ),
                    Choice("method", _("反馈方式"), choices=FeedbackMethod),
                    Choice("satisfaction", _("群众满意度"), choices=Satisfaction),
                    Text("note", _("反馈情况"), required=False, max_length=5000, multiline=True),
                )
            ),
            effect=cases.record_feedback,
            audit=AuditAction.CASE_CLOSED,
            tone="primary",
            help=_("请将办理结果告知反映群众，并记录告知日期、反馈方式和群众满意度。"),
            button=_("记录反馈并办结"),
        ),
        Transition(
            name="send_back",
            label=_("退回上一步"),
            done=_("已退回，案件回到委办审核。"),
            grants=(staff(S.NEEDS_INFO, S.CONVERSION, S.FEEDBACK),),
            input=Input((Text("reason", _("退回理由"), max_length=2000, multiline=True),)),
            effect=cases.send_back,
            audit=AuditAction.CASE_SENT_BACK,
            move=Move.SEND_BACK,
            when=Rule(cases.can_send_back, _("办理结果已回写，不能退回。")),
            help=_("撤销上一次审核决定，案件回到审核环节；原决定保留在办理记录中。"),
            tone="danger",
        ),
        Transition(
            name="edit",
            label=_("修改案件"),
            done=_("已保存修改。"),
            grants=(member(S.DRAFT, S.NEEDS_INFO), staff(S.REVIEW, S.CONVERSION)),
            input=EDITABLE,
            effect=cases.edit,
            audit=AuditAction.CASE_UPDATED,
            move=Move.STAY,
            help=_("委员在提交前或补充材料时修改；委办在审核和转化时修改。"),
        ),
    ],
)

__all__ = ["CASE", "Intake"]
