from .account import ApiToken, PasswordHistory, SignInThrottle
from .audit import AuditCheckpoint, AuditCheckpointHead, AuditedRecord, AuditEvent, AuditStream
from .calendar import CalendarDay, CalendarYear
from .case import Case, CaseCategory, CaseClock, ClockPolicy, RejectReason, Township
from .engagement import Engagement, ServiceRecord
from .idempotency import IdempotencyKey
from .notification import DingTalkRobot, Notification, NotificationDelivery
from .org import (
    Committee,
    Contact,
    Department,
    Member,
    Organisation,
    RosterEntry,
    Sector,
    Session,
    Term,
    User,
)
from .output import (
    Adoption,
    Assignment,
    Instruction,
    Output,
    OutputFile,
    OutputRating,
    OutputReason,
    OutputRules,
    OutputSeries,
    OutputSigner,
)
from .report import DashboardMonth, DashboardRollup

__all__ = [
    "Adoption",
    "Assignment",
    "Instruction",
    "OutputFile",
    "OutputRating",
    "OutputReason",
    "OutputRules",
    "OutputSeries",
    "OutputSigner",
    "ApiToken",
    "AuditCheckpoint",
    "AuditCheckpointHead",
    "AuditEvent",
    "AuditStream",
    "AuditedRecord",
    "CalendarDay",
    "CalendarYear",
    "Case",
    "CaseCategory",
    "CaseClock",
    "ClockPolicy",
    "Committee",
    "Contact",
    "DashboardMonth",
    "DashboardRollup",
    "Department",
    "DingTalkRobot",
    "Engagement",
    "IdempotencyKey",
    "Member",
    "Notification",
    "NotificationDelivery",
    "Organisation",
    "Output",
    "PasswordHistory",
    "RejectReason",
    "RosterEntry",
    "Sector",
    "ServiceRecord",
    "Session",
    "SignInThrottle",
    "Term",
    "Township",
    "User",
]
