"""Enumerations of the domain. Identifiers are English; labels are translated (zh-hans first)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgLevel(models.TextChoices):
    DISTRICT = "district", _("区县政协")
    CITY = "city", _("市政协")
    PROVINCE = "province", _("省政协")


class Role(models.TextChoices):
    """Django groups, created by a migration (DOMAIN.md §1)."""

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
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    OUTCOME_RECORDED = "outcome_recorded", _("已有办理结果")


class Stage(models.TextChoices):
    """A stage with a clock (DOMAIN.md §5)."""

    REVIEW = "review", _("审核")
    NEEDS_INFO = "needs_info", _("补充材料")
    CONVERSION = "conversion", _("成果转化")
    FEEDBACK = "feedback", _("反馈群众")


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


# The default clock targets of DOMAIN.md §5; an organisation overrides them in its own row.
DEFAULT_SLA_TARGETS = {
    "review": {"working_days": 5},
    "needs_info": {"working_days": 5},
    "conversion": {"working_days": 10},
    "feedback": {"days": 15},
}
