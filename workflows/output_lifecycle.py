"""The output lifecycles, one declaration per transition (see `declare.py`; docs/domain.md §4).

Every output has the transitions of `OUTPUT` (edit its draft, let a case leave it); each type
adds its own: `PROPOSAL` (signatures, submission and numbering, the proposal office's review and
assignment), `INFO_REPORT`, `SPEECH` and `RESEARCH_REPORT`. A proposal's assignments to
departments (`ASSIGNMENT`) and its signatures (`SIGNATURE`) are records with lifecycles of their
own, so a department acts on its own assignment and a signer on their own signature only.

A transition with `tells` is an outcome event: it goes onto the timeline of each case the output
gathered, and when its `moves` holds, the cases waiting for an outcome move to feedback."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casework.choices import (
    AdoptionLevel,
    AuditAction,
    HandlingMode,
    InstructionRank,
    ReplyClass,
    Satisfaction,
    SpeechUse,
)
from casework.choices import (
    AssignmentStatus as A,
)
from casework.choices import OutputStatus as O
from casework.services import info_reports, outputs, proposals, research, speeches

from .declare import Grant, Lifecycle, Move, Party, Rule, Tell, Transition
from .inputs import Choice, Count, Day, Flag, Input, Ref, Refs, Text

NOTE = Text("note", _("说明"), required=False, max_length=5000, multiline=True)


def office(*statuses: str) -> Grant:
    return Grant(Party.PROPOSAL_OFFICE, statuses)


def output_staff(*statuses: str) -> Grant:
    return Grant(Party.OUTPUT_STAFF, statuses)


def department(*statuses: str) -> Grant:
    return Grant(Party.DEPARTMENT, statuses)


def _number(output: Any) -> str:
    return f"（{output.number}）" if output.number else ""


def leadership(*statuses: str) -> Grant:
    return Grant(Party.LEADERSHIP, statuses)


def receiving(*statuses: str) -> Grant:
    return Grant(Party.RECEIVING_STAFF, statuses)


# Who signs a proposal or a speech (the same input for both: one endpoint).
SIGNERS = Input(
    (
        Ref("first", _("第一提案人"), options="members"),
        Refs("co_signers", _("联名人"), required=False, options="members", max_items=100),
        Ref("sector", _("以界别名义提出"), required=False, options="sectors"),
        Ref("convener", _("界别召集人"), required=False, options="members"),
    )
)
NO_WITHHELD_IDENTITY = Rule(outputs.identities_withheld, outputs.withheld_words, explained=True)
SIGNED = Rule(proposals.all_signed, _("尚有署名人未确认（以界别名义的须有召集人确认），不能提交。"))


OUTPUT = Lifecycle(
    "output",
    [
        Transition(
            name="edit",
            label=_("修改成果"),
            done=_("已保存修改。"),
            grants=(output_staff(O.DRAFT, O.RETURNED),),
            input=Input(
                (
                    Text("title", _("标题"), max_length=200),
                    Text("situation", _("基本情况"), max_length=20000, multiline=True),
                    Text("analysis", _("分析"), max_length=20000, multiline=True),
                    Text("suggestion", _("建议"), max_length=20000, multiline=True),
                    Text("body", _("正文"), max_length=20000, multiline=True),
                ),
                partial=True,
            ),
            effect=outputs.edit,
            audit=AuditAction.OUTPUT_EDITED,
            move=Move.STAY,
        ),
        Transition(
            name="remove_case",
            label=_("移出案件"),
            done=_("案件已移出，回到成果转化环节。"),
            grants=(output_staff(O.DRAFT),),
            input=Input(
                (Ref("case", _("移出的案件"), options="gathered_cases", locks="case"), NOTE),
            ),
            effect=outputs.release_case,
            audit=AuditAction.OUTPUT_CASE_RELEASED,
            move=Move.REOPEN,
            help=_("成果提交前，可将案件移出；案件回到成果转化环节，可另行转化。"),
        ),
    ],
)


PROPOSAL = Lifecycle(
    "proposal",
    [
        Transition(
            name="set_signers",
            label=_("确定署名"),
            done=_("已确定署名，新加入的署名人将收到确认通知。"),
            grants=(output_staff(O.DRAFT),),
            input=SIGNERS,
            effect=proposals.set_signers,
            audit=AuditAction.OUTPUT_SIGNERS_SET,
            move=Move.STAY,
            help=_("每位署名人须在自己的账号中确认；以界别名义提出的须有该界别召集人署名。"),
        ),
        Transition(
            name="submit",
            label=_("提交提案"),
            done=_("提案已提交并编号，进入提案审查。"),
            grants=(output_staff(O.DRAFT), Grant(Party.FIRST_PROPOSER, (O.DRAFT,))),
            effect=proposals.submit,
            audit=AuditAction.OUTPUT_SUBMITTED,
            move=Move.STAY,
            when=SIGNED,
            tells=Tell(lambda o: gettext("提案已提交%(n)s，等待审查。") % {"n": _number(o)}),
            tone="primary",
        ),
        Transition(
            name="file",
            label=_("立案"),
            done=_("已立案，请交办承办单位。"),
            grants=(office(O.SUBMITTED),),
            input=Input(
                (
                    Flag("key", _("重点提案")),
                    Ref("supervisor", _("督办领导"), required=False, options="leaders"),
                    NOTE,
                )
            ),
            effect=proposals.file,
            audit=AuditAction.PROPOSAL_FILED,
            move=Move.STAY,
            tells=Tell(lambda o: gettext("提案已立案%(n)s。") % {"n": _number(o)}),
            tone="primary",
        ),
        Transition(
            name="not_file",
            label=_("不立案"),
            done=_("已作不立案处理。"),
            grants=(office(O.SUBMITTED),),
            input=Input(
                (
                    Ref("reason", _("不立案理由"), options="output_reasons"),
                    NOTE,
                    Flag("to_info_report", _("转为社情民意信息")),
                    Flag("proposer_consents", _("提案人已同意转为社情民意信息")),
                )
            ),
            effect=proposals.not_file,
            audit=AuditAction.PROPOSAL_NOT_FILED,
            move=Move.STAY,
            tells=Tell(
                lambda o: (
                    (
                        gettext("提案不立案（%(r)s），经提案人同意转为社情民意信息办理。")
                        if o.became_id
                        else gettext("提案不立案：%(r)s。")
                    )
                    % {"r": o.refusal_reason.text if o.refusal_reason else ""}
                ),
                moves=lambda o: o.became_id is None,
                to=lambda o: o.became or o,
            ),
            tone="danger",
        ),
        Transition(
            name="merge",
            label=_("并案"),
            done=_("已并案，随所选提案办理。"),
            grants=(office(O.SUBMITTED),),
            input=Input((Ref("into", _("并入提案"), options="merge_proposals", locks="output", searchable=True), NOTE)),
            effect=proposals.merge,
            audit=AuditAction.PROPOSAL_MERGED,
            move=Move.STAY,
            tells=Tell(
                lambda o: (
                    gettext("提案已并入「%(t)s」%(n)s办理。") % {"t": o.merged_into.title, "n": _number(o.merged_into)}
                ),
                to=lambda o: o.merged_into,
            ),
        ),
        Transition(
            name="withdraw",
            label=_("撤案"),
            done=_("提案已撤案。"),
            grants=(office(O.SUBMITTED, O.FILED), Grant(Party.FIRST_PROPOSER, (O.SUBMITTED,))),
            input=Input((NOTE,)),
            effect=proposals.withdraw,
            audit=AuditAction.PROPOSAL_WITHDRAWN,
            move=Move.STAY,
            tells=Tell(lambda o: gettext("提案已撤案。"), moves=lambda o: True),
            tone="danger",
        ),
        Transition(
            name="assign",
            label=_("交办"),
            done=_("已交办，承办单位将收到通知。"),
            grants=(office(O.FILED),),
            input=Input(
                (
                    Choice("handling", _("办理方式"), choices=HandlingMode, default=HandlingMode.JOINT),
                    Ref("lead", _("主办单位"), required=False, options="departments"),
                    Refs("co_handlers", _("会办单位"), required=False, options="departments", max_items=20),
                    Refs("split", _("分办单位"), required=False, options="departments", max_items=20),
                )
            ),
            # What goes to a department carries no constituent's identity their consent does not cover.
            when=NO_WITHHELD_IDENTITY,
            effect=proposals.assign,
            audit=AuditAction.PROPOSAL_ASSIGNED,
            move=Move.STAY,
            tells=Tell(lambda o: gettext("提案已交办：%(a)s。") % {"a": proposals.assignment_words(o)}),
            tone="primary",
            help=_("主办会办：一个主办单位答复，会办单位向主办单位提出意见；分办：每个单位分别答复。"),
        ),
        Transition(
            name="reassign",
            label=_("异议改办"),
            done=_("已改办，新的承办单位将收到通知。"),
            grants=(office(O.ASSIGNED),),
            input=Input(
                (
                    Ref("assignment", _("提出异议的交办"), options="objected_assignments"),
                    Ref("department", _("改由"), options="departments"),
                    NOTE,
                )
            ),
            effect=proposals.reassign,
            audit=AuditAction.PROPOSAL_REASSIGNED,
            move=Move.STAY,
            when=(Rule(proposals.has_objection, _("没有承办单位提出异议。")), NO_WITHHELD_IDENTITY),
            tells=Tell(lambda o: gettext("提案改办：%(a)s。") % {"a": proposals.assignment_words(o)}),
        ),
    ],
)


def _signer_status(signer: Any) -> str:
    return str(signer.output.status)


def _signer_status_display(signer: Any) -> str:
    return str(signer.output.get_status_display())


def _rating_words(signer: Any) -> str:
    output = signer.output
    rating = signer.ratings.order_by("-id").first()
    said = gettext("%(who)s 评价：办理过程%(p)s，办理结果%(r)s。") % {
        "who": signer.user,
        "p": Satisfaction(rating.process).label,
        "r": Satisfaction(rating.result).label,
    }
    if output.status == O.ASSIGNED:
        return said + gettext("提案人不满意，提案重新办理（第 %(n)d 轮）。") % {"n": output.round}
    if output.status == O.CLOSED:
        return said + gettext("提案已办结。")
    return said


SIGNATURE = Lifecycle(
    "signature",
    [
        Transition(
            name="confirm",
            label=_("确认署名"),
            done=_("已确认署名。"),
            grants=(Grant(Party.SIGNER, (O.DRAFT,)),),
            effect=proposals.confirm,
            audit=AuditAction.OUTPUT_SIGNED,
            move=Move.STAY,
            when=Rule(proposals.unconfirmed, _("您已确认过署名。")),
            tone="primary",
        ),
        Transition(
            name="rate",
            label=_("评价办理"),
            done=_("已提交评价，谢谢。"),
            grants=(Grant(Party.SIGNER, (O.REPLIED,)),),
            input=Input(
                (
                    Choice("process", _("对办理过程"), choices=Satisfaction),
                    Choice("result", _("对办理结果"), choices=Satisfaction),
                    Text("note", _("意见"), required=False, max_length=2000, multiline=True),
                )
            ),
            effect=proposals.rate,
            audit=AuditAction.PROPOSAL_RATED,
            move=Move.STAY,
            when=Rule(proposals.not_rated_yet, _("您已评价过本轮办理。")),
            tells=Tell(_rating_words),
            tone="primary",
            help=_("每位署名人分别评价；有人对结果不满意的，提案将重新办理。"),
        ),
    ],
    status_of=_signer_status,
    display_of=_signer_status_display,
)


ASSIGNMENT = Lifecycle(
    "assignment",
    [
        Transition(
            name="accept",
            label=_("签收"),
            done=_("已签收，请在答复期限前办理。"),
            grants=(department(A.ASSIGNED),),
            effect=proposals.accept,
            audit=AuditAction.ASSIGNMENT_ACCEPTED,
            move=Move.STAY,
            tone="primary",
        ),
        Transition(
            name="object",
            label=_("提出异议"),
            done=_("已提出异议，提案委员会将改办。"),
            grants=(department(A.ASSIGNED),),
            input=Input((Text("reason", _("异议理由"), max_length=2000, multiline=True),)),
            effect=proposals.object_to,
            audit=AuditAction.ASSIGNMENT_OBJECTED,
            move=Move.STAY,
            when=Rule(proposals.within_objection_window, _("异议期已过，不能再提出异议。")),
            help=_("不属本单位职责的，可在异议期内提出异议。"),
            tone="danger",
        ),
        Transition(
            name="send_view",
            label=_("提出会办意见"),
            done=_("会办意见已送主办单位。"),
            grants=(department(A.ASSIGNED, A.ACCEPTED),),
            input=Input((Text("view", _("会办意见"), max_length=10000, multiline=True),)),
            effect=proposals.send_view,
            audit=AuditAction.ASSIGNMENT_VIEW_SENT,
            move=Move.STAY,
            when=Rule(proposals.is_co, _("只有会办单位提出会办意见。")),
            tone="primary",
        ),
        Transition(
            name="request_extension",
            label=_("申请延期"),
            done=_("延期申请已提交，等待提案委员会审批。"),
            grants=(department(A.ASSIGNED, A.ACCEPTED),),
            input=Input(
                (
                    Day("until", _("延期至")),
                    Text("reason", _("延期理由"), max_length=2000, multiline=True),
                )
            ),
            effect=proposals.request_extension,
            audit=AuditAction.ASSIGNMENT_EXTENSION_REQUESTED,
            move=Move.STAY,
            when=Rule(proposals.no_extension_pending, _("已有待审批的延期申请（会办单位不申请延期）。")),
        ),
        Transition(
            name="decide_extension",
            label=_("审批延期"),
            done=_("已审批延期申请。"),
            grants=(office(A.ASSIGNED, A.ACCEPTED),),
            input=Input((Flag("approve", _("批准延期")), NOTE)),
            effect=proposals.decide_extension,
            audit=AuditAction.ASSIGNMENT_EXTENSION_DECIDED,
            move=Move.STAY,
            when=Rule(proposals.extension_requested, _("没有待审批的延期申请。")),
        ),
        Transition(
            name="reply",
            label=_("答复"),
            done=_("已答复。"),
            grants=(department(A.ASSIGNED, A.ACCEPTED),),
            input=Input(
                (
                    Choice("reply_class", _("答复类别"), choices=ReplyClass),
                    Text("text", _("答复内容"), max_length=20000, multiline=True),
                )
            ),
            effect=proposals.reply,
            audit=AuditAction.ASSIGNMENT_REPLIED,
            move=Move.STAY,
            when=(
                Rule(proposals.is_replier, _("会办单位向主办单位提出意见，不直接答复。")),
                Rule(proposals.co_handlers_countersigned, _("尚有会办单位未会签，主办单位暂不能答复。")),
            ),
            tells=Tell(
                lambda a: (
                    proposals.reply_words(a.output)
                    if a.output.status == O.REPLIED
                    else gettext("%(d)s 已答复（%(c)s）。") % {"d": a.department, "c": ReplyClass(a.reply_class).label}
                ),
                moves=lambda a: a.output.status == O.REPLIED,
            ),
            tone="primary",
            help=_("答复前可上传正式答复函等附件。"),
        ),
        Transition(
            name="report_solved",
            label=_("报告落实情况"),
            done=_("已报告落实情况。"),
            grants=(department(A.REPLIED),),
            input=Input((Text("note", _("落实情况"), max_length=5000, multiline=True),)),
            effect=proposals.report_solved,
            audit=AuditAction.ASSIGNMENT_SOLVED,
            move=Move.STAY,
            when=Rule(proposals.is_b_unsolved, _("只有尚未落实的B类答复需要报告落实情况。")),
            tells=Tell(
                lambda a: gettext("%(d)s 报告：B类答复事项已落实。%(n)s") % {"d": a.department, "n": a.solved_note}
            ),
        ),
    ],
)


INFO_REPORT = Lifecycle(
    "info_report",
    [
        Transition(
            name="submit",
            label=_("提交社情民意信息"),
            done=_("社情民意信息已提交，等待编报。"),
            grants=(output_staff(O.DRAFT),),
            effect=info_reports.submit,
            audit=AuditAction.OUTPUT_SUBMITTED,
            move=Move.STAY,
            tells=Tell(lambda o: gettext("社情民意信息已提交，等待编报。")),
            tone="primary",
            help=_("一事一报，分基本情况、分析、建议三部分，合计不超过字数上限。"),
        ),
        Transition(
            name="use",
            label=_("编报"),
            done=_("已编报，编入本年度社情民意信息专报。"),
            grants=(output_staff(O.SUBMITTED),),
            input=Input((NOTE,)),
            effect=info_reports.use,
            audit=AuditAction.INFO_REPORT_USED,
            move=Move.STAY,
            tells=Tell(info_reports.used_words),
            tone="primary",
        ),
        Transition(
            name="not_use",
            label=_("不采用"),
            done=_("已作不采用处理。"),
            grants=(output_staff(O.SUBMITTED),),
            input=Input((NOTE,)),
            effect=info_reports.not_use,
            audit=AuditAction.INFO_REPORT_NOT_USED,
            move=Move.STAY,
            tells=Tell(info_reports.not_used_words, moves=lambda o: True),
            tone="danger",
        ),
        Transition(
            name="send_up",
            label=_("报送上级"),
            done=_("已报送上级政协，由其决定是否采用。"),
            grants=(output_staff(O.USED), receiving(O.ADOPTED)),
            input=Input((NOTE,)),
            effect=info_reports.send_up,
            audit=AuditAction.INFO_REPORT_SENT_UP,
            move=Move.STAY,
            when=Rule(info_reports.has_parent, info_reports.top_of_tree),
            tells=Tell(info_reports.sent_up_words),
            help=_("报送至本会的上级政协；上级采用后，可由上级继续向上报送。"),
        ),
        Transition(
            name="adopt",
            label=_("采用"),
            done=_("已采用。"),
            grants=(receiving(O.SENT_UP),),
            input=Input((Choice("level", _("采用层级"), choices=AdoptionLevel), NOTE)),
            effect=info_reports.adopt,
            audit=AuditAction.INFO_REPORT_ADOPTED,
            move=Move.STAY,
            tells=Tell(info_reports.decision_words, moves=info_reports.first_decision),
            tone="primary",
        ),
        Transition(
            name="not_adopt",
            label=_("不予采用"),
            done=_("已作不予采用处理。"),
            grants=(receiving(O.SENT_UP),),
            input=Input((NOTE,)),
            effect=info_reports.not_adopt,
            audit=AuditAction.INFO_REPORT_NOT_ADOPTED,
            move=Move.STAY,
            tells=Tell(info_reports.decision_words, moves=info_reports.first_decision),
            tone="danger",
        ),
        Transition(
            name="instruct",
            label=_("登记领导批示"),
            done=_("已登记领导批示，并告知汇集的每个案件。"),
            grants=(output_staff(O.USED), receiving(O.ADOPTED)),
            input=Input(
                (
                    Text("leader", _("批示领导"), max_length=60),
                    Choice("rank", _("领导级别"), choices=InstructionRank),
                    Text("text", _("批示内容"), max_length=5000, multiline=True),
                    Day("given_on", _("批示日期")),
                )
            ),
            effect=info_reports.instruct,
            audit=AuditAction.INFO_REPORT_INSTRUCTED,
            move=Move.STAY,
            tells=Tell(info_reports.instruction_words, moves=lambda o: True),
            help=_("由现在持有该信息的政协的工作人员登记。"),
        ),
    ],
)


SPEECH = Lifecycle(
    "speech",
    [
        Transition(
            name="set_signers",
            label=_("确定署名"),
            done=_("已确定署名，新加入的署名人将收到确认通知。"),
            grants=(output_staff(O.DRAFT),),
            input=SIGNERS,
            effect=speeches.set_signers,
            audit=AuditAction.OUTPUT_SIGNERS_SET,
            move=Move.STAY,
            help=_("一人署名为个人发言，多人为联名发言；以界别名义的为界别发言，须有该界别召集人署名。"),
        ),
        Transition(
            name="submit",
            label=_("提交大会发言"),
            done=_("大会发言已提交并编号，等待遴选。"),
            grants=(output_staff(O.DRAFT), Grant(Party.FIRST_PROPOSER, (O.DRAFT,))),
            effect=speeches.submit,
            audit=AuditAction.OUTPUT_SUBMITTED,
            move=Move.STAY,
            when=(SIGNED, Rule(speeches.window_open, speeches.window_words)),
            tells=Tell(lambda o: gettext("大会发言已提交%(n)s，等待遴选。") % {"n": _number(o)}),
            tone="primary",
            help=_("只能在大会发言征集期内提交。"),
        ),
        Transition(
            name="select",
            label=_("选用"),
            done=_("已选用。"),
            grants=(office(O.SUBMITTED),),
            input=Input(
                (
                    Choice("selection", _("发言方式"), choices=SpeechUse),
                    Count("minutes", _("口头发言时长（分钟）"), required=False, least=1, most=60),
                    NOTE,
                )
            ),
            effect=speeches.select,
            audit=AuditAction.SPEECH_SELECTED,
            move=Move.STAY,
            tells=Tell(speeches.selected_words, moves=lambda o: True),
            tone="primary",
            help=_("口头发言须填写时长，不超过规定的分钟数；书面发言不填。"),
        ),
        Transition(
            name="not_use",
            label=_("不采用"),
            done=_("已作不采用处理。"),
            grants=(office(O.SUBMITTED),),
            input=Input((NOTE,)),
            effect=speeches.not_use,
            audit=AuditAction.SPEECH_NOT_USED,
            move=Move.STAY,
            tells=Tell(speeches.not_used_words, moves=lambda o: True),
            tone="danger",
        ),
    ],
)


RESEARCH_REPORT = Lifecycle(
    "research_report",
    [
        Transition(
            name="submit",
            label=_("提交审定"),
            done=_("调研报告已提交，等待审定。"),
            grants=(output_staff(O.DRAFT, O.RETURNED),),
            effect=research.submit,
            audit=AuditAction.OUTPUT_SUBMITTED,
            move=Move.STAY,
            tells=Tell(lambda o: gettext("调研报告已提交，等待审定。")),
            tone="primary",
        ),
        Transition(
            name="approve",
            label=_("审定"),
            done=_("调研报告已审定，可以报送。"),
            grants=(leadership(O.SUBMITTED),),
            input=Input((NOTE,)),
            effect=research.approve,
            audit=AuditAction.RESEARCH_APPROVED,
            move=Move.STAY,
            tells=Tell(lambda o: gettext("调研报告已审定。")),
            tone="primary",
        ),
        Transition(
            name="return",
            label=_("退回修改"),
            done=_("已退回修改。"),
            grants=(leadership(O.SUBMITTED),),
            input=Input((Text("reason", _("退回理由"), max_length=2000, multiline=True),)),
            effect=research.send_back,
            audit=AuditAction.RESEARCH_RETURNED,
            move=Move.STAY,
            tells=Tell(research.returned_words),
            help=_("退回后由委办修改，再次提交审定。"),
        ),
        Transition(
            name="transmit",
            label=_("报送"),
            done=_("调研报告已报送，并告知汇集的每个案件。"),
            grants=(output_staff(O.APPROVED),),
            input=Input((NOTE,)),
            effect=research.transmit,
            audit=AuditAction.RESEARCH_TRANSMITTED,
            move=Move.STAY,
            tells=Tell(research.transmitted_words, moves=lambda o: True),
            tone="primary",
        ),
    ],
)


# Each output type's lifecycle, after the transitions every output has.
LIFECYCLES: dict[str, Lifecycle] = {
    "proposal": OUTPUT + PROPOSAL,
    "info_report": OUTPUT + INFO_REPORT,
    "speech": OUTPUT + SPEECH,
    "research_report": OUTPUT + RESEARCH_REPORT,
}


def lifecycle_of(output: Any) -> Lifecycle:
    return LIFECYCLES[output.output_type]


def every_output_transition() -> list[Transition]:
    """Each output transition once by name (one endpoint per name; a name several types share
    takes the same input in each)."""
    seen: dict[str, Transition] = {}
    for lifecycle in LIFECYCLES.values():
        for t in lifecycle.public():
            known = seen.setdefault(t.name, t)
            assert known.input == t.input, f"{t.name}: output types declare different inputs"
    return list(seen.values())
