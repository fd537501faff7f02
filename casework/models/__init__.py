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
from .output import Output

__all__ = [
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
    "Department",
    "DingTalkRobot",
    "Engagement",
    "IdempotencyKey",
    "Member",
    "Notification",
    "NotificationDelivery",
    "Organisation",
    "Output",
    "RejectReason",
    "RosterEntry",
    "Sector",
    "ServiceRecord",
    "Session",
    "Term",
    "Township",
    "User",
]
