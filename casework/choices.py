"""Enumerations of the domain. Identifiers are English; labels are translated (zh-hans first)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgLevel(models.TextChoices):
    DISTRICT = "district", _("区县政协")
    CITY = "city", _("市政协")
    PROVINCE = "province", _("省政协")


class Role(models.TextChoices):
    """Django groups, created by a migration (docs/domain.md §1)."""

    MEMBER = "member", _("委员")
    CONVENER = "convener", _("界别召集人")
    COMMITTEE_STAFF = "committee_staff", _("委办工作人员")
    COMMITTEE_HEAD = "committee_head", _("专委会主任")
    PROPOSAL_OFFICE = "proposal_office", _("提案委员会")
    DEPARTMENT_LIAISON = "department_liaison", _("承办单位联络员")
    LEADERSHIP = "leadership", _("主席会议成员")
    AUDITOR = "auditor", _("审计管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    SYSADMIN = "sysadmin", _("系统管理员")


class CaseStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    REVIEW = "review", _("委办审核")
    NEEDS_INFO = "needs_info", _("待补充材料")
    CONVERSION = "conversion", _("成果转化")
    OUTCOME = "outcome", _("跟踪办理结果")
    FEEDBACK = "feedback", _("反馈群众")
    CLOSED = "closed", _("已办结")
    MERGED = "merged", _("已合并")


class Decision(models.TextChoices):
    ACCEPTED = "accepted", _("受理转化")
    REJECTED = "rejected", _("不予受理")
    REDIRECTED = "redirected", _("转其他渠道")
    MERGED = "merged", _("合并")
    RESOLVED = "resolved", _("直接解决")
    NEEDS_INFO = "needs_info", _("需补充材料")


class RedirectChannel(models.TextChoices):
    PETITION = "petition", _("信访渠道")
    HOTLINE_12345 = "hotline_12345", _("12345热线")
    COURT = "court", _("司法诉讼")
    OTHER = "other", _("其他渠道")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    CRITICAL = "critical", _("特急")


class OutputType(models.TextChoices):
    PROPOSAL = "proposal", _("提案")
    SPEECH = "speech", _("大会发言")
    INFO_REPORT = "info_report", _("社情民意信息")
    RESEARCH_REPORT = "research_report", _("调研报告")


class OutputStatus(models.TextChoices):
    """The statuses of every output type; each type's lifecycle uses its own part of them
    (`workflows/output_lifecycle.py`)."""

    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    # Proposals.
    FILED = "filed", _("已立案")
    NOT_FILED = "not_filed", _("不立案")
    MERGED = "merged", _("已并案")
    WITHDRAWN = "withdrawn", _("已撤案")
    ASSIGNED = "assigned", _("办理中")
    REPLIED = "replied", _("已答复待评价")
    CLOSED = "closed", _("已办结")
    # Info reports.
    USED = "used", _("已编报")
    NOT_USED = "not_used", _("未采用")
    SENT_UP = "sent_up", _("已报送上级")
    ADOPTED = "adopted", _("已被采用")
    NOT_ADOPTED = "not_adopted", _("上级未采用")
    # Speeches.
    ORAL = "oral", _("选为口头发言")
    WRITTEN = "written", _("选为书面发言")
    # Research reports.
    APPROVED = "approved", _("已审定")
    RETURNED = "returned", _("已退回修改")
    TRANSMITTED = "transmitted", _("已报送")
    # The spine's free-text outcome, before the lifecycles.
    OUTCOME_RECORDED = "outcome_recorded", _("已有办理结果")


class SignerRole(models.TextChoices):
    FIRST = "first", _("第一提案人")
    CO = "co", _("联名人")
    CONVENER = "convener", _("界别召集人")


class HandlingMode(models.TextChoices):
    JOINT = "joint", _("主办会办")
    SPLIT = "split", _("分办")


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("主办")
    CO = "co", _("会办")
    SPLIT = "split", _("分办")


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", _("待签收")
    ACCEPTED = "accepted", _("办理中")
    OBJECTED = "objected", _("已提出异议")
    WITHDRAWN = "withdrawn", _("已改办")
    COUNTERSIGNED = "countersigned", _("已会签")
    REPLIED = "replied", _("已答复")


class ExtensionState(models.TextChoices):
    NONE = "", _("未申请")
    REQUESTED = "requested", _("待审批")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("未批准")


class ReplyClass(models.TextChoices):
    A = "A", _("A类：已解决或基本解决")
    B = "B", _("B类：部分解决或列入计划")
    C = "C", _("C类：留作参考")


class AdoptionLevel(models.TextChoices):
    DISTRICT = "district", _("区县政协")
    CITY = "city", _("市政协")
    PROVINCE = "province", _("省政协")
    NATIONAL = "national", _("全国政协")
    PARTY_GOVERNMENT = "party_government", _("党委政府")


class InstructionRank(models.TextChoices):
    NATIONAL = "national", _("国家级领导")
    PROVINCIAL = "provincial", _("省部级领导")
    CITY = "city", _("市厅级领导")
    DISTRICT = "district", _("县处级领导")


class SpeechForm(models.TextChoices):
    INDIVIDUAL = "individual", _("个人发言")
    JOINT = "joint", _("联名发言")
    SECTOR = "sector", _("界别发言")


class SpeechSelection(models.TextChoices):
    ORAL = "oral", _("口头发言")
    WRITTEN = "written", _("书面发言")
    NOT_USED = "not_used", _("未采用")


class SpeechUse(models.TextChoices):
    """How a selected plenary speech is given: the choices of its `select` (not using it is a
    transition of its own)."""

    ORAL = "oral", _("口头发言")
    WRITTEN = "written", _("书面发言")


class Stage(models.TextChoices):
    """A step of the case lifecycle where the case waits on someone: one open task, and a clock
    when the stage has a target (see `DEFAULT_SLA_TARGETS`)."""

    REVIEW = "review", _("审核")
    NEEDS_INFO = "needs_info", _("补充材料")
    CONVERSION = "conversion", _("成果转化")
    OUTCOME = "outcome", _("跟踪办理结果")
    FEEDBACK = "feedback", _("反馈群众")


# Which stage a case of each status is in; a status missing here (draft, closed, merged) has no
# open task. The flow routes by this table and the transitions' status guards read it, so the
# open task and the status cannot disagree.
STAGE_OF_STATUS: dict[str, Stage] = {
    CaseStatus.REVIEW: Stage.REVIEW,
    CaseStatus.NEEDS_INFO: Stage.NEEDS_INFO,
    CaseStatus.CONVERSION: Stage.CONVERSION,
    CaseStatus.OUTCOME: Stage.OUTCOME,
    CaseStatus.FEEDBACK: Stage.FEEDBACK,
}
# Stages worked by the committee's staff from its queue; the others wait on the case's member
# (needs info, feedback) or on the output (outcome).
QUEUED_STAGES = frozenset({Stage.REVIEW, Stage.CONVERSION})
MEMBER_STAGES = frozenset({Stage.NEEDS_INFO, Stage.FEEDBACK})
# What waits on a member: their drafts, and their cases in a stage of theirs.
WAITING_ON_MEMBER = (CaseStatus.DRAFT, *(s for s, stage in STAGE_OF_STATUS.items() if stage in MEMBER_STAGES))


class ClockState(models.TextChoices):
    RUNNING = "running", _("计时中")
    PAUSED = "paused", _("已暂停")
    STOPPED = "stopped", _("已停止")


class FeedbackMethod(models.TextChoices):
    VISIT = "visit", _("走访")
    PHONE = "phone", _("电话")
    MESSAGE = "message", _("短信/微信")
    MEETING = "meeting", _("座谈")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY = "basically", _("基本满意")
    DISSATISFIED = "dissatisfied", _("不满意")


class EngagementMethod(models.TextChoices):
    VISIT = "visit", _("走访交流")
    DIGITAL = "digital", _("数字手段")
    PLATFORM = "platform", _("依托平台")
    SERVICE = "service", _("参与服务")


class EngagementChannel(models.TextChoices):
    TALK = "talk", _("谈心谈话")
    CONDOLENCE = "condolence", _("交流慰问")
    DIGITAL_CPPCC = "digital_cppcc", _("数字政协平台")
    ZHEZHENGDING = "zhezhengding", _("浙政钉")
    WEIBO = "weibo", _("个人微博")
    EMAIL = "email", _("电子邮箱")
    WECHAT_GROUP = "wechat_group", _("微信群")
    MEMBER_PARLOUR = "member_parlour", _("委员会客厅")
    LIVELIHOOD_HALL = "livelihood_hall", _("民生议事堂")
    MEMBER_STUDIO = "member_studio", _("委员工作室")
    INFO_POINT = "info_point", _("社情民意信息联系点")
    CONSULTATION_STATION = "consultation_station", _("协商驿站")
    THEMED_TALK = "themed_talk", _("主题宣讲")
    READING = "reading", _("读书学习")


class EngagementPurpose(models.TextChoices):
    PUBLICISE_POLICY = "publicise_policy", _("宣传政策")
    LEARN_OPINION = "learn_opinion", _("了解民意")
    PROMOTE_DUTIES = "promote_duties", _("促进履职")
    PRACTICAL_SERVICE = "practical_service", _("办好实事")


class ServiceKind(models.TextChoices):
    POLICY_ADVICE = "policy_advice", _("政策咨询")
    LEGAL_AID = "legal_aid", _("法律援助")
    TECHNICAL = "technical", _("技术指导")
    SCIENCE = "science", _("科普宣传")
    CLINIC = "clinic", _("义诊服务")


# The default clock targets of docs/domain.md §5; an organisation overrides them in its own row.
class SlaState(models.TextChoices):
    """Where a clock stands against its policy (derived, not stored)."""

    OK = "ok", _("正常")
    WARNING = "warning", _("即将超期")
    BREACHED = "breached", _("已超期")
    PAUSED = "paused", _("暂停中")
    STOPPED = "stopped", _("已停止")
    ERROR = "error", _("无法计算")


# The filters a list offers: nearly due, overdue.
SLA_FILTERS = (SlaState.WARNING, SlaState.BREACHED)


class ClockUnit(models.TextChoices):
    WORKING_DAYS = "working_days", _("工作日")
    DAYS = "days", _("自然日")
    MONTHS = "months", _("个月")


# The clock policies a new deployment starts with (stage → target and unit); administrators
# change them as data (`ClockPolicy`), for every organisation or for one.
DEFAULT_SLA_TARGETS = {
    "review": {"working_days": 5},
    "needs_info": {"working_days": 5},
    "conversion": {"working_days": 10},
    "feedback": {"days": 15},
}


class NotificationKind(models.TextChoices):
    CLOCK_WARNING = "clock_warning", _("即将超期")
    CLOCK_BREACH = "clock_breach", _("已超期")
    ESCALATION_HEAD = "escalation_head", _("超期提级（主任）")
    ESCALATION_LEADERSHIP = "escalation_leader", _("超期提级（主席会议）")
    OUTPUT = "output", _("成果办理")
    CASE_ASSIGNED = "case_assigned", _("改派给我")


class NotificationChannel(models.TextChoices):
    """Channels besides in-app, which every notification is."""

    EMAIL = "email", _("电子邮件")
    DINGTALK = "dingtalk", _("钉钉/浙政钉")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")


class AuditAction(models.TextChoices):
    """What an audit event records. The values are stored in the hash-chained trail: never rename
    one (a new meaning gets a new member); the labels are how the timeline reads them."""

    CASE_CREATED = "case.created", _("保存草稿")
    CASE_SUBMITTED = "case.submitted", _("提交反映")
    CASE_UPDATED = "case.updated", _("修改案件")
    CASE_CLAIMED = "case.claimed", _("认领")
    CASE_RELEASED = "case.released", _("放弃认领")
    CASE_ACCEPTED = "case.accepted", _("受理转化")
    CASE_NEEDS_INFO = "case.needs_info", _("要求补充材料")
    CASE_INFO_ANSWERED = "case.info_answered", _("补充材料")
    CASE_REJECTED = "case.rejected", _("不予受理")
    CASE_REDIRECTED = "case.redirected", _("转其他渠道")
    CASE_RESOLVED = "case.resolved", _("直接解决")
    CASE_MERGED = "case.merged", _("合并至其他案件")
    CASE_MERGE_RECEIVED = "case.merge_received", _("并入重复案件")
    CASE_TRANSFERRED = "case.transferred", _("转交其他委办")
    CASE_CONVERTED = "case.converted", _("成果转化")
    CASE_OUTCOME_RECEIVED = "case.outcome_received", _("收到办理结果")
    CASE_OUTCOME_FOLLOWED = "case.outcome_followed", _("随主案件获得办理结果")
    CASE_OUTCOME_WITHDRAWN = "case.outcome_withdrawn", _("主案件退回，撤回随其获得的办理结果")
    CASE_CLOSED = "case.closed", _("反馈群众，办结")
    CASE_SENT_BACK = "case.sent_back", _("退回上一步")
    # The committee's head gave the open task to a member of their team: changes {"stage",
    # "from": the holder's id (None: it was unclaimed), "to": the new holder's id, "note"}.
    CASE_REASSIGNED = "case.reassigned", _("改派")
    # An event of the output the case was gathered into (a proposal filed, a report adopted ...),
    # written onto the case's timeline: changes {"output": id, "event": the output's action,
    # "summary": what happened, in words}.
    CASE_OUTPUT_EVENT = "case.output_event", _("成果进展")
    OUTPUT_CREATED = "output.created", _("新建成果")
    OUTPUT_CASE_GATHERED = "output.case_gathered", _("汇集案件")
    OUTPUT_OUTCOME_RECORDED = "output.outcome_recorded", _("登记办理结果")
    OUTPUT_EDITED = "output.edited", _("修改成果")
    OUTPUT_CASE_RELEASED = "output.case_released", _("案件退出成果")
    OUTPUT_SIGNERS_SET = "output.signers_set", _("确定署名")
    OUTPUT_SIGNED = "output.signed", _("确认署名")
    OUTPUT_SUBMITTED = "output.submitted", _("提交成果")
    OUTPUT_EXPORTED = "output.exported", _("导出成果文稿")
    PROPOSAL_FILED = "proposal.filed", _("立案")
    PROPOSAL_NOT_FILED = "proposal.not_filed", _("不立案")
    PROPOSAL_MERGED = "proposal.merged", _("并案")
    PROPOSAL_WITHDRAWN = "proposal.withdrawn", _("撤案")
    PROPOSAL_ASSIGNED = "proposal.assigned", _("交办")
    PROPOSAL_REASSIGNED = "proposal.reassigned", _("异议后改办")
    PROPOSAL_RATED = "proposal.rated", _("提案人评价")
    ASSIGNMENT_ACCEPTED = "assignment.accepted", _("承办单位签收")
    ASSIGNMENT_OBJECTED = "assignment.objected", _("承办单位提出异议")
    ASSIGNMENT_VIEW_SENT = "assignment.view_sent", _("会办单位提出意见")
    ASSIGNMENT_EXTENSION_REQUESTED = "assignment.extension_requested", _("申请延期答复")
    ASSIGNMENT_EXTENSION_DECIDED = "assignment.extension_decided", _("审批延期申请")
    ASSIGNMENT_REPLIED = "assignment.replied", _("承办单位答复")
    ASSIGNMENT_SOLVED = "assignment.solved", _("B类答复事项已落实")
    ASSIGNMENT_FILE_ADDED = "assignment.file_added", _("上传答复附件")
    INFO_REPORT_USED = "info_report.used", _("编报")
    INFO_REPORT_NOT_USED = "info_report.not_used", _("未采用")
    INFO_REPORT_SENT_UP = "info_report.sent_up", _("报送上级")
    INFO_REPORT_ADOPTED = "info_report.adopted", _("被采用")
    INFO_REPORT_NOT_ADOPTED = "info_report.not_adopted", _("上级未采用")
    INFO_REPORT_INSTRUCTED = "info_report.instructed", _("领导批示")
    SPEECH_SELECTED = "speech.selected", _("大会发言选用")
    SPEECH_NOT_USED = "speech.not_used", _("大会发言未采用")
    RESEARCH_APPROVED = "research.approved", _("调研报告审定")
    RESEARCH_RETURNED = "research.returned", _("调研报告退回修改")
    RESEARCH_TRANSMITTED = "research.transmitted", _("调研报告报送")
    ROSTER_LINKED = "roster.linked", _("调整联系名单")
    ACCOUNT_LOGIN = "account.login", _("登录")
    ACCOUNT_LOGOUT = "account.logout", _("退出登录")
    ACCOUNT_LOGIN_FAILED = "account.login_failed", _("登录失败")
    ACCOUNT_LOCKED = "account.locked", _("登录失败次数过多，锁定")
    ACCOUNT_TOKEN_ISSUED = "account.token_issued", _("签发 API 令牌")
    ACCOUNT_TOKEN_REVOKED = "account.token_revoked", _("吊销 API 令牌")
    ACCOUNT_OTP_ENROLLED = "account.otp_enrolled", _("启用动态验证码")
    ACCOUNT_ROLES_CHANGED = "account.roles_changed", _("调整账号角色")
    ADMIN_ADDED = "admin.added", _("管理后台新增")
    ADMIN_CHANGED = "admin.changed", _("管理后台修改")
    ADMIN_DELETED = "admin.deleted", _("管理后台删除")
    AUDIT_VERIFY_FAILED = "audit.verify_failed", _("审计链校验失败")
    CONTACT_PII_REVEALED = "contact.pii_revealed", _("查看界别群众的完整个人信息")
    CONTACT_ANONYMISED = "contact.anonymised", _("界别群众信息超过保存期限，已匿名化")
    AUDIT_EXPORTED = "audit.exported", _("导出审计记录")
    # A page's list taken away as a spreadsheet: changes {"list": which, "filters", "rows", "truncated"}.
    LIST_EXPORTED = "list.exported", _("导出列表")
