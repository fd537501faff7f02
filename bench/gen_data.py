"""What bench/generate.py writes, as data: how the cases are spread over the paths of the flow
(`MIX`), viewflow's references to the flow, the texts of the cases, the bulk tables and their
columns, the COPY text format, and the stage deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.utils.translation import gettext
from viewflow.workflow.fields import get_flow_ref, get_task_ref

from casework.choices import AuditAction as A
from casework.choices import InstructionRank
from casework.services import deadlines
from workflows.engine.flows import CaseFlow

# How the cases are spread over the flow (percent). Paths, not only statuses: a case in
# feedback got there by a decision or by an output's outcome, and the rows differ. Each path is
# driven through workflows.actions by tests/bench/test_generate_matches_actions.py, which
# checks that what is written here has the shape of what the actions write.
MIX = [
    ("draft", 3),
    ("review", 28),  # unclaimed, in its committee's queue
    ("review_claimed", 3),
    ("review_again", 2),  # back in review after the member answered a needs-info request
    ("review_transferred", 1),  # handed to another committee: a fresh review task in its queue
    ("review_sent_back", 1),  # accepted, then sent back to review: the decision undone
    ("needs_info", 4),
    ("conversion", 6),  # unclaimed convert task, in the queue
    ("conversion_claimed", 2),
    ("outcome", 8),  # converted, waiting for the output's outcome
    ("feedback_decided", 5),  # rejected / redirected / resolved, member to report back
    ("feedback_outcome", 5),
    ("closed_decided", 12),
    ("closed_outcome", 16),
    ("merged", 4),
]
OUTPUT_PATHS = ("outcome", "feedback_outcome", "closed_outcome")

# Id blocks per case (upper bounds of rows per case), so chunks can be made in parallel.
PER_CASE = {
    "task": 8,
    "previous": 7,
    "clock": 3,
    "event": 10,
    "contact": 3,
    "output": 1,
    "instruction": 1,
    "head": 2,
}

# viewflow's references to the flow and its nodes, as it stores them (viewflow_process.flow_class,
# viewflow_task.flow_task and flow_task_type), taken from the flow class itself.
FLOW_CLASS = get_flow_ref(CaseFlow)
NODES = ("start", "review", "route", "provide_info", "convert", "await_outcome", "feedback", "end", "merged")
FT = {name: get_task_ref(getattr(CaseFlow.instance, name)) for name in NODES}
FTT = {name: getattr(CaseFlow.instance, name).task_type for name in NODES}
DECIDED = {"rejected": A.CASE_REJECTED, "redirected": A.CASE_REDIRECTED, "resolved": A.CASE_RESOLVED}

TITLES = [
    "学校门口接送孩子交通拥堵",
    "老旧小区加装电梯推进缓慢",
    "农贸市场周边占道经营",
    "村道路灯损坏无人维修",
    "社区养老服务站点不足",
    "河道垃圾清理不及时",
    "公交线路调整后出行不便",
    "企业用工招聘困难",
    "农村饮用水水质问题",
    "小区停车位严重不足",
    "夜间施工噪音扰民",
    "菜市场食品安全监管",
    "乡村道路破损影响通行",
    "医院挂号难看病难",
    "幼儿园学位紧张",
    "工业园区污水排放",
]
DESCRIPTIONS = [
    "群众反映该问题已持续较长时间，多次向有关部门反映未见明显改善，希望政协委员帮助协调解决。",
    "经走访了解，周边居民意见较大，建议相关部门尽快研究制定解决方案并公开办理进度。",
    "该问题涉及多个部门职责，存在推诿现象，建议明确牵头单位，限期整改。",
]
NOTES = ["情况属实，建议转化为社情民意信息。", "已与有关部门沟通，问题已解决。", "", "建议由属地乡镇协调处理。"]
# An info report's analysis and suggestion, and the leaders' instructions that answer its cases.
ANALYSES = [
    "问题集中在高峰时段，现有设施和管理力量不足，部门之间协调不够。",
    "群众反映集中，涉及民生保障，长期未解决易引发矛盾。",
]
SUGGESTIONS = [
    "建议明确牵头部门，制定整改方案并限期落实，定期公开进展。",
    "建议纳入年度民生实事项目，统筹资金和力量加以解决。",
]
LEADERS = ["王某某", "李某某", "陈某某"]
RANKS = [r.value for r in InstructionRank]
INSTRUCTIONS = ["请有关部门研究落实。", "请牵头部门抓紧整改，并报告结果。", "此事关系群众切身利益，请认真办理。"]
QUESTIONS = ["请补充问题发生的具体位置和时间。", "请提供相关照片或书面材料。"]
SEND_BACK_REASONS = ["审核意见有误，退回重新审核。", "误操作，撤回上一步决定。"]
ANSWERS = ["已补充具体位置：南城街道某路口，早晚高峰。", "已上传现场照片三张。"]
OUTPUT_TYPES = ["proposal", "speech", "info_report", "research_report"]
REDIRECT_CHANNELS = ["petition", "hotline_12345", "court", "other"]
FEEDBACK_METHODS = ["visit", "phone", "message", "meeting"]
SATISFACTIONS = ["satisfied"] * 7 + ["basically"] * 2 + ["dissatisfied"]
URGENCIES = ["normal"] * 85 + ["urgent"] * 12 + ["critical"] * 3

# The bulk tables, in load order, with the columns each COPY names.
COLUMNS = {
    "casework_output": [
        "id",
        "output_type",
        "status",
        "title",
        "outcome",
        "outcome_recorded_at",
        "created_at",
        "committee_id",
        "created_by_id",
        "organisation_id",
        "session_id",
        "term_id",
        # The text and the lifecycles' columns: its first case's description as its situation;
        # an info report brought to a leader's instruction also has its analysis and suggestion,
        # its bulletin number and the times it was submitted and used.
        "situation",
        "analysis",
        "suggestion",
        "body",
        "series",
        "number",
        "is_key",
        "decision_note",
        "handling",
        "round",
        "followup_open",
        "speech_form",
        "selection",
        "number_seq",
        "submitted_at",
        "submitted_by_id",
        "decided_at",
        "bulletin_year",
        "bulletin_issue",
        "audit_seq",  # the head of its stream: filled in when the chunk's streams are chained
        "audit_head",
    ],
    "casework_instruction": ["id", "leader", "rank", "text", "given_on", "recorded_at", "output_id", "recorded_by_id"],
    "casework_case": [
        "id",
        "title",
        "description",
        "urgency",
        "consent_to_share",
        "status",
        "decision",
        "redirect_channel",
        "decision_note",
        "info_request",
        "info_answer",
        "outcome",
        "feedback_method",
        "satisfaction",
        "feedback_note",
        "feedback_told_on",
        "created_at",
        "updated_at",
        "submitted_at",
        "decided_at",
        "closed_at",
        "category_id",
        "committee_id",
        "created_by_id",
        "member_id",
        "merged_into_id",
        "organisation_id",
        "output_id",
        "reject_reason_id",
        "township_id",
        "audit_seq",
        "audit_head",
    ],
    "casework_case_contacts": ["id", "case_id", "contact_id"],
    "viewflow_process": ["id", "flow_class", "status", "created", "finished", "data"],
    "workflows_caseprocess": ["process_ptr_id", "case_id"],
    "viewflow_task": [
        "id",
        "flow_task",
        "flow_task_type",
        "status",
        "created",
        "started",
        "finished",
        "token",
        "owner_id",
        "process_id",
        "assigned",
        "data",
    ],
    "viewflow_task_previous": ["id", "from_task_id", "to_task_id"],
    "casework_caseclock": [
        "id",
        "stage",
        "task_id",
        "state",
        "started_at",
        "due_at",
        "paused_at",
        "paused_seconds",
        "claimed_at",
        "stopped_at",
        "is_met",
        "due_error",
        "days_left_at_pause",
        "assignee_id",
        "case_id",
        "queue_id",
        "organisation_id",
        "warn_at",
        "warned_at",
        "breached_at",
        "escalation_level",
        "next_escalation_at",
    ],
    "casework_auditevent": [
        "id",
        "stream",
        "seq",
        "action",
        "target_type",
        "target_id",
        "occurred_at",
        "source_ip",
        "success",
        "changes",
        "algorithm",
        "key_id",
        "prev_hash",
        "hash",
        "actor_id",
        "organisation_id",
    ],
    # One checkpoint per chunk records the head of every stream of the chunk.
    "casework_auditcheckpointhead": ["id", "checkpoint_id", "stream", "seq", "digest"],
}
# Truncated with the loaded tables: they refer to cases or outputs (a load has none of their rows).
BULK_TABLES = list(COLUMNS) + [
    "casework_auditcheckpoint",
    "casework_auditstream",
    "casework_notificationdelivery",
    "casework_notification",
    "casework_outputrating",
    "casework_outputfile",
    "casework_adoption",
    "casework_assignment",
    "casework_outputsigner",
    "casework_outputseries",
]


def instruction_words(leader: str, rank: str, given_on: date, text: str) -> str:
    """What a leader's instruction tells the cases (`info_reports.instruction_words`, which reads
    the instruction row)."""
    return gettext("%(leader)s（%(rank)s）%(day)s批示：%(text)s") % {
        "leader": leader,
        "rank": InstructionRank(rank).label,
        "day": given_on.isoformat(),
        "text": text,
    }


_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _v(value: object) -> str:
    """One value in COPY text format (the generic path; the hot rows format their own)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESC)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _t(value: datetime | None) -> str:
    return "\\N" if value is None else value.isoformat()


def _n(value: object) -> str:
    return "\\N" if value is None else str(value)


def _s(value: str) -> str:
    """Text made here is free of tabs, newlines and backslashes; escape only if not."""
    return value.translate(_ESC) if ("\\" in value or "\t" in value or "\n" in value or "\r" in value) else value


# Deadlines depend on the start's Shanghai date only: cache them per (stage, date).
_DUE_CACHE: dict = {}
_SH = timedelta(hours=8)


def due(stage: str, start: datetime) -> datetime | None:
    """The stage's deadline as the app reckons it (`casework.services.deadlines`, on the calendar
    in the database), or None when it reaches a year with no published calendar."""
    return due_and_error(stage, start)[0]


def due_and_error(stage: str, start: datetime) -> tuple[datetime | None, str]:
    """The deadline, or None and why (`CaseClock.due_error`)."""
    key = (stage, (start + _SH).date())
    if key not in _DUE_CACHE:
        cal = _calendar()
        try:
            hit = policies[stage].due(cal, start)
            _DUE_CACHE[key] = (hit.astimezone(UTC), "")
        except deadlines.CalendarMissing as missing:
            _DUE_CACHE[key] = (None, f"{missing.code}:{missing.year}")
    return _DUE_CACHE[key]


def warn(stage: str, start: datetime, due_at: datetime | None) -> datetime | None:
    """When a clock opened (or resumed) at `start` warns, as `clocks._warn_at` reckons it."""
    if due_at is None:
        return None
    try:
        hit = policies[stage].warn_at(_calendar(), start, due_at)
    except deadlines.CalendarMissing:
        return None
    return hit.astimezone(UTC) if hit is not None else None


def met(at: datetime, due_at: datetime | None) -> bool | None:
    """A clock's verdict as the app gives it: none without a due time."""
    return None if due_at is None else at <= due_at


def resumed_due(due_at: datetime | None, paused_at: datetime, resumed_at: datetime) -> datetime | None:
    """The review clock's due time when it resumes, as `clocks._resumed_due` reckons it."""
    left = days_left(paused_at, due_at)
    if due_at is None or left is None:
        return None if due_at is None else due_at + (resumed_at - paused_at)
    if left < 0:
        return due_at
    cal = _calendar()
    if left == 0:
        return deadlines.end_of(cal.next_working(deadlines.local_day(resumed_at))).astimezone(UTC)
    return deadlines.add_working_days(cal, resumed_at, left).astimezone(UTC)


def days_left(paused_at: datetime, due_at: datetime | None) -> int | None:
    """What a paused review clock kept: its working days left when it paused."""
    if due_at is None:
        return None
    try:
        return deadlines.working_days_left(_calendar(), paused_at, due_at)
    except deadlines.CalendarMissing:
        return None


_CAL: list = []


def _calendar() -> deadlines.WorkCalendar:
    if not _CAL:
        _CAL.append(deadlines.WorkCalendar())
    return _CAL[0]


# stage → casework.services.policies.Policy: the default policies, as the app reads them.
policies: dict = {}

MIX_NAMES = [n for n, _w in MIX]
