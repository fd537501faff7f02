"""The effects of the case transitions (docs/domain.md §3).

Each function changes a case that the caller holds locked and returns what changed, for the
transition's audit event. Who may, from which status, the row locks, the flow's tasks, the stage
clocks and that audit event belong to the transition's declaration in `workflows/`; these
functions are private to that layer (an import contract keeps `api/` and `web/` out). They check
what only the domain knows: that a reason, a channel or a committee is one the case may use."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from casework import selectors
from casework.choices import STAGE_OF_STATUS, AuditAction, CaseStatus, Decision, NotificationKind
from casework.errors import InvalidInput, PermissionDenied
from casework.models import AuditEvent, Case, CaseCategory, Output, RosterEntry, Township, User
from casework.services import bulk, deadlines, locks
from casework.services.audit import audit_case, case_stream
from casework.services.notifications import notify
from casework.services.outputs import output_attach_case

Changes = dict[str, Any]

# Decisions after which the member reports back and staff may still undo the decision; after an
# output's outcome there is nothing of the committee's own to undo.
UNDOABLE_IN_FEEDBACK = (Decision.REJECTED, Decision.REDIRECTED, Decision.RESOLVED)


def can_send_back(case: Case) -> bool:
    """Send back undoes a review decision; a case in feedback because its output was answered
    has none to undo."""
    return case.status != CaseStatus.FEEDBACK or case.decision in UNDOABLE_IN_FEEDBACK


# Intake -----------------------------------------------------------------------------------------


def _category(actor: User, category_id: int) -> CaseCategory:
    category = selectors.categories(actor).filter(pk=category_id).first()
    if category is None:
        raise InvalidInput(_("类别不存在。"), code="invalid_category", details={"field": "category"})
    return category


def _township(actor: User, township_id: int | None) -> Township | None:
    if township_id is None:
        return None
    township = selectors.townships(actor).filter(pk=township_id).first()
    if township is None:
        raise InvalidInput(_("乡镇街道不存在。"), code="invalid_township", details={"field": "township"})
    return township


def _roster_contacts(member_id: int, contact_ids: list[int]) -> list[int]:
    wanted = sorted(set(contact_ids))
    if not wanted:
        return []
    found = set(
        RosterEntry.objects.filter(member_id=member_id, contact_id__in=wanted).values_list("contact_id", flat=True)
    )
    missing = [cid for cid in wanted if cid not in found]
    if missing:
        raise InvalidInput(
            _("只能选择您联系名单中的界别群众。"),
            code="invalid_contacts",
            details={"field": "contacts", "ids": missing},
        )
    return wanted


def _intake_committee(actor: User, category: CaseCategory, committee_id: int | None) -> int:
    if committee_id is not None:
        if not selectors.committees(actor).filter(pk=committee_id).exists():
            raise InvalidInput(_("受理委办不存在。"), code="invalid_committee", details={"field": "committee"})
        return committee_id
    if category.committee_id is not None:
        return category.committee_id
    default = selectors.committees(actor).filter(is_default_intake=True).values_list("id", flat=True).first()
    if default is None:
        raise InvalidInput(_("未设置默认受理委办，请联系管理员。"), code="no_intake_committee")
    return default


def create(
    *,
    actor: User,
    title: str,
    description: str,
    category: int,
    township: int | None = None,
    urgency: str,
    contacts: list[int],
    consent_to_share: bool,
    committee: int | None = None,
    submit: bool,
) -> tuple[Case, Changes]:
    """A member files a concern, as a draft or straight into review (`submit`)."""
    assert connection.in_atomic_block
    member = getattr(actor, "member", None)
    organisation = actor.organisation
    if member is None or organisation is None or member.organisation_id != organisation.pk:
        raise PermissionDenied(_("只有委员可以反映民情。"), code="not_a_member")
    category_row = _category(actor, category)
    township_row = _township(actor, township)
    contact_ids = _roster_contacts(member.id, contacts)
    case = Case.objects.create(
        organisation=organisation,
        member=member,
        title=title,
        description=description,
        category=category_row,
        township=township_row,
        urgency=urgency,
        consent_to_share=consent_to_share,
        committee_id=_intake_committee(actor, category_row, committee),
        created_by=actor,
        status=CaseStatus.REVIEW if submit else CaseStatus.DRAFT,
        submitted_at=timezone.now() if submit else None,
    )
    if contact_ids:
        Case.contacts.through.objects.bulk_create(
            [Case.contacts.through(case_id=case.pk, contact_id=cid) for cid in contact_ids]
        )
    return case, {
        "status": case.status,
        "title": title,
        "category": category_row.pk,
        "township": township,
        "urgency": urgency,
        "contacts": contact_ids,
        "committee": case.committee_id,
    }


def edit(*, case: Case, actor: User, **values: Any) -> Changes | None:
    """Edit a case's content: the member while it is theirs (draft, needs info), the committee's
    staff while they review and convert it. Answers None when nothing changed."""
    if not values:
        raise InvalidInput(_("没有要修改的内容。"), code="empty_update")
    diff: Changes = {}
    for field, value in values.items():
        if field == "contacts":
            new = _roster_contacts(case.member_id, value)
            old = sorted(case.contacts.values_list("id", flat=True))
            if new != old:
                case.contacts.set(new)
                diff["contacts"] = [old, new]
            continue
        attname = field
        if field == "category":
            value, attname = _category(actor, value).pk, "category_id"
        elif field == "township":
            value = _township(actor, value).pk if value is not None else None  # type: ignore[union-attr]
            attname = "township_id"
        old_value = getattr(case, attname)
        if old_value != value:
            setattr(case, attname, value)
            diff[field] = [old_value, value]
    scalar = [f"{f}_id" if f in ("category", "township") else f for f in diff if f != "contacts"]
    if scalar:
        case.save(update_fields=[*scalar, "updated_at"])
    return diff or None


def submit(*, case: Case, actor: User) -> Changes:
    case.status = CaseStatus.REVIEW
    case.submitted_at = timezone.now()
    case.save(update_fields=["status", "submitted_at", "updated_at"])
    return {"status": [CaseStatus.DRAFT, CaseStatus.REVIEW]}


def hold_task(*, case: Case, actor: User) -> Changes:
    """Claim or release: the task changes hands, the case does not."""
    return {"stage": STAGE_OF_STATUS[case.status]}


def reassign(*, case: Case, actor: User, to: int, holder_id: int | None, note: str = "") -> Changes:
    """The committee's head gives the open task to a member of the team (its staff or the head):
    the task changes hands, the case does not. `holder_id`: who holds it now (None: nobody), as
    the flow has it. Giving it to whoever holds it already is a mistake, said as one."""
    target = selectors.team_members(actor, case).filter(pk=to).first()
    if target is None:
        raise InvalidInput(_("只能改派给本委办的工作人员或主任。"), code="invalid_team_member", details={"field": "to"})
    if target.pk == holder_id:
        raise InvalidInput(
            _("该任务已由 %(name)s 办理，无需改派。") % {"name": target},
            code="same_holder",
            details={"field": "to"},
        )
    stage = STAGE_OF_STATUS[case.status]
    if target.pk != actor.pk:
        title = _("主任将案件改派给您：%(t)s") % {"t": case.title}
        notify(
            recipients=[target.pk],
            organisation_id=case.organisation_id,
            kind=NotificationKind.CASE_ASSIGNED,
            title=title,
            body=note or _("请在到期前处理。"),
            # The case's next audit seq is this event's: one notice per reassignment.
            dedupe_key=f"reassigned:{case.pk}:{case.audit_seq + 1}",
            case_id=case.pk,
        )
    return {"stage": stage, "from": holder_id, "to": target.pk, "note": note}


# Review -----------------------------------------------------------------------------------------


def _decide(case: Case, decision: Decision | str, status: CaseStatus, changes: Changes) -> Changes:
    old = case.status
    case.decision = decision
    case.status = status
    case.decided_at = timezone.now()
    case.save()
    return {"status": [old, status], "decision": decision, **changes}


def accept(*, case: Case, actor: User, note: str = "") -> Changes:
    case.decision_note = note
    return _decide(case, Decision.ACCEPTED, CaseStatus.CONVERSION, {"note": note})


def request_info(*, case: Case, actor: User, question: str) -> Changes:
    case.info_request = question
    return _decide(case, Decision.NEEDS_INFO, CaseStatus.NEEDS_INFO, {"question": question})


def reject(*, case: Case, actor: User, reason: int, note: str = "") -> Changes:
    reason_row = selectors.reject_reasons(actor).filter(pk=reason).first()
    if reason_row is None:
        raise InvalidInput(_("请选择有效的不予受理理由。"), code="invalid_reason", details={"field": "reason"})
    case.reject_reason = reason_row
    case.decision_note = note
    return _decide(case, Decision.REJECTED, CaseStatus.FEEDBACK, {"reason": reason_row.text, "note": note})


def redirect(*, case: Case, actor: User, channel: str, note: str = "") -> Changes:
    case.redirect_channel = channel
    case.decision_note = note
    return _decide(case, Decision.REDIRECTED, CaseStatus.FEEDBACK, {"channel": channel, "note": note})


def resolve(*, case: Case, actor: User, note: str, source_ip: str | None = None) -> Changes:
    case.decision_note = note
    case.outcome = note
    changes = _decide(case, Decision.RESOLVED, CaseStatus.FEEDBACK, {"note": note})
    pass_outcome_to_merged(case, actor, note, source_ip)
    return changes


def merge(*, case: Case, actor: User, into: Case, note: str = "", source_ip: str | None = None) -> Changes:
    """Merge a duplicate into `into` (held locked by the caller); it follows that case from
    then on, and takes at once an outcome the master already has."""
    if into.pk == case.pk:
        raise InvalidInput(_("不能合并到案件自身。"), code="merge_into_self", details={"field": "into"})
    if not selectors.is_merge_target(into):
        shown = into.get_decision_display() if into.decision else into.get_status_display()
        raise InvalidInput(
            _("不能合并到「%(s)s」的案件。") % {"s": shown},
            code="invalid_merge_target",
            details={"field": "into"},
        )
    case.merged_into = into
    case.decision_note = note
    case.closed_at = timezone.now()
    extra: Changes = {"into": into.pk, "note": note}
    if into.outcome:
        # The master has its outcome already: the duplicate takes it now, and so do the cases
        # merged into the duplicate before.
        case.outcome = extra["outcome"] = into.outcome
        pass_outcome_to_merged(case, actor, into.outcome, source_ip)
    changes = _decide(case, Decision.MERGED, CaseStatus.MERGED, extra)
    audit_case(into, actor, AuditAction.CASE_MERGE_RECEIVED, {"from": case.pk}, source_ip)
    return changes


def transfer(*, case: Case, actor: User, committee: int, note: str = "") -> Changes:
    """Hand a misrouted concern to another committee of the organisation: it leaves this queue
    and joins that one, to be reviewed afresh."""
    target = selectors.committees(actor).filter(pk=committee).first()
    if target is None:
        raise InvalidInput(_("受理委办不存在。"), code="invalid_committee", details={"field": "committee"})
    if target.pk == case.committee_id:
        raise InvalidInput(_("案件已在该委办。"), code="same_committee", details={"field": "committee"})
    old = case.committee_id
    case.committee = target
    case.decision = ""
    case.save(update_fields=["committee", "decision", "updated_at"])
    return {"committee": [old, target.pk], "note": note}


def answer_info(*, case: Case, actor: User, answer: str) -> Changes:
    case.info_answer = answer
    case.status = CaseStatus.REVIEW
    case.decision = ""
    case.save(update_fields=["info_answer", "status", "decision", "updated_at"])
    return {"status": [CaseStatus.NEEDS_INFO, CaseStatus.REVIEW], "answer": answer}


def send_back(*, case: Case, actor: User, reason: str, source_ip: str | None = None) -> Changes:
    """Undo the last review decision, with a reason; nothing is deleted. An outcome the decision
    gave (resolved) is withdrawn, from the case and from the duplicates that followed it."""
    old = case.status
    undone = case.decision
    changes: Changes = {
        "status": [old, CaseStatus.REVIEW],
        "reason": reason,
        "undone_decision": undone,
        "undone_note": case.decision_note,
    }
    case.status = CaseStatus.REVIEW
    case.decision = ""
    case.reject_reason = None
    case.redirect_channel = ""
    case.decided_at = None
    case.decision_note = ""
    if undone == Decision.RESOLVED:
        case.outcome = ""
        pass_outcome_to_merged(case, actor, "", source_ip)
    case.save()
    return changes


# Conversion, outcome, feedback --------------------------------------------------------------------


def convert(
    *,
    case: Case,
    actor: User,
    output_type: str,
    output: Output | None = None,
    title: str = "",
    source_ip: str | None = None,
) -> Changes:
    """Turn an accepted case into an output: a new one, or the existing draft `output` of the
    same type (held locked by the caller)."""
    target: Output = output_attach_case(
        case=case,
        actor=actor,
        output_type=output_type,
        output=output,
        title=title or case.title,
        source_ip=source_ip,
    )
    case.output = target
    case.status = CaseStatus.OUTCOME
    case.save(update_fields=["output", "status", "updated_at"])
    return {"status": [CaseStatus.CONVERSION, CaseStatus.OUTCOME], "output": target.pk, "output_type": output_type}


def receive_outcome(*, case: Case, actor: User | None, outcome: str, source_ip: str | None = None) -> Changes:
    """The output's outcome is written back onto a gathered case."""
    case.outcome = outcome
    case.status = CaseStatus.FEEDBACK
    case.save(update_fields=["outcome", "status", "updated_at"])
    pass_outcome_to_merged(case, actor, outcome, source_ip)
    return {"status": [CaseStatus.OUTCOME, CaseStatus.FEEDBACK], "output": case.output_id, "outcome": outcome}


def receive_outcomes(cases: list[Case], outcome: str) -> tuple[list[tuple[Case, Changes]], dict[str, Any]]:
    """`receive_outcome` for many gathered cases the caller holds locked, all in OUTCOME; their
    duplicates follow by `pass_outcome_to_merged_all`. Answers each case with the changes of its
    event, and the columns to write on all of them: the caller writes them with the cases'
    audit heads (`audit_cases(..., fields=...)`), so each case row is written once, not twice
    (a case row carries fifteen indexes: a second version of a thousand rows costs as much as
    the first)."""
    now = timezone.now()
    changes = []
    for case in cases:
        assert case.status == CaseStatus.OUTCOME, "every case receiving an outcome is locked and waits on it"
        case.outcome, case.status, case.updated_at = outcome, CaseStatus.FEEDBACK, now
        changes.append(
            (case, {"status": [CaseStatus.OUTCOME, CaseStatus.FEEDBACK], "output": case.output_id, "outcome": outcome})
        )
    return changes, {"outcome": outcome, "status": CaseStatus.FEEDBACK, "updated_at": now}


# The events that put a case in feedback: its output's outcome came back, or a review decision
# that ends the committee's part (rejected, redirected, resolved).
INTO_FEEDBACK = (
    AuditAction.CASE_OUTCOME_RECEIVED,
    AuditAction.CASE_REJECTED,
    AuditAction.CASE_REDIRECTED,
    AuditAction.CASE_RESOLVED,
)


def outcome_arrived_on(case: Case) -> date | None:
    """The day (Asia/Shanghai) the case's outcome reached its member: the last event that put it
    in feedback, read from its audit trail (a case sent back and decided again counts from the
    new decision). None when the trail holds none."""
    at = (
        AuditEvent.objects.filter(stream=case_stream(case.pk), action__in=INTO_FEEDBACK)
        .order_by("-seq")
        .values_list("occurred_at", flat=True)
        .first()
    )
    return deadlines.local_day(at) if at is not None else None


def _check_told_on(case: Case, told_on: date) -> None:
    today = deadlines.local_day(timezone.now())
    if told_on > today:
        raise InvalidInput(
            _("告知群众的日期不能晚于今天（%(d)s）。") % {"d": today.isoformat()},
            code="told_on_in_future",
            details={"field": "told_on"},
        )
    arrived = outcome_arrived_on(case)
    if arrived is not None and told_on < arrived:
        raise InvalidInput(
            _("告知群众的日期不能早于收到办理结果的日期（%(d)s）。") % {"d": arrived.isoformat()},
            code="told_on_before_outcome",
            details={"field": "told_on"},
        )


def record_feedback(
    *, case: Case, actor: User, method: str, satisfaction: str, told_on: date, note: str = ""
) -> Changes:
    """The member told the constituent the outcome (on `told_on`, how, and how satisfied they
    were): the case closes."""
    _check_told_on(case, told_on)
    case.feedback_method = method
    case.satisfaction = satisfaction
    case.feedback_note = note
    case.feedback_told_on = told_on
    case.status = CaseStatus.CLOSED
    case.closed_at = timezone.now()
    case.save(
        update_fields=[
            "feedback_method",
            "satisfaction",
            "feedback_note",
            "feedback_told_on",
            "status",
            "closed_at",
            "updated_at",
        ]
    )
    return {
        "status": [CaseStatus.FEEDBACK, CaseStatus.CLOSED],
        "method": method,
        "satisfaction": satisfaction,
        "told_on": told_on.isoformat(),
    }


# Merged cases follow their master -----------------------------------------------------------------


def pass_outcome_to_merged_all(masters: list[Case], outcome: str) -> list[tuple[Case, str, Changes]]:
    """`pass_outcome_to_merged` for many masters (locked by the caller) at once, in two
    statements whatever their number: the duplicates' trees read and locked in one, their
    outcome written by one UPDATE. Answers the audit entries (case, action, changes) for the
    caller to append with the masters' own (`audit.audit_cases`)."""
    locked = locks.merged_trees(masters)
    if not locked:
        return []
    now = timezone.now()
    Case.objects.filter(pk__in=bulk.one_of([c.pk for c in locked])).update(outcome=outcome, updated_at=now)
    action = AuditAction.CASE_OUTCOME_FOLLOWED if outcome else AuditAction.CASE_OUTCOME_WITHDRAWN
    entries = []
    for duplicate in locked:
        duplicate.outcome, duplicate.updated_at = outcome, now
        entries.append((duplicate, action, {"master": duplicate.merged_into_id, "outcome": outcome}))
    return entries


def _follow_outcome(cases: list[Case], master: Case, actor: User | None, outcome: str, source_ip: str | None) -> None:
    action = AuditAction.CASE_OUTCOME_FOLLOWED if outcome else AuditAction.CASE_OUTCOME_WITHDRAWN
    for duplicate in cases:
        duplicate.outcome = outcome
        duplicate.save(update_fields=["outcome", "updated_at"])
        audit_case(duplicate, actor, action, {"master": master.pk, "outcome": outcome}, source_ip)


def pass_outcome_to_merged(master: Case, actor: User | None, outcome: str, source_ip: str | None) -> None:
    """Merged duplicates follow their master case, and a duplicate's own duplicates follow it:
    the outcome (or its withdrawal, `outcome=""`) is written onto every case merged into the
    master, directly or through another duplicate."""
    locked = locks.merged_tree(master)
    if not locked:
        return
    by_master: dict[int, list[Case]] = {}
    for duplicate in locked:
        assert duplicate.merged_into_id is not None
        by_master.setdefault(duplicate.merged_into_id, []).append(duplicate)
    masters = {master.pk: master, **{c.pk: c for c in locked}}
    for master_id, duplicates in by_master.items():
        _follow_outcome(duplicates, masters[master_id], actor, outcome, source_ip)
