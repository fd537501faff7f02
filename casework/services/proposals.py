"""The proposal (提案) lifecycle's effects (docs/domain.md §4): signatures, submission and
numbering, the proposal office's review (file, not file, merge, withdraw), assignment to
departments, objections and re-assignment, co-handlers' views, extensions, replies, the signers'
ratings and re-handling. Private to the workflow layer (`workflows/output_lifecycle.py` declares
who may do each, from which status); each runs inside the transition's transaction with the
output row locked, and answers the changes its audit event records."""

from __future__ import annotations

import calendar as gregorian
from datetime import date, datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.choices import (
    AssignmentRole,
    AssignmentStatus,
    CaseStatus,
    ExtensionState,
    HandlingMode,
    NotificationKind,
    OutputStatus,
    OutputType,
    ReplyClass,
    Role,
    Satisfaction,
    SignerRole,
)
from casework.errors import InvalidInput, NotFound
from casework.models import (
    Assignment,
    Case,
    Department,
    Member,
    Output,
    OutputRating,
    OutputReason,
    OutputSigner,
    Session,
    User,
)
from casework.services import deadlines, numbering
from casework.services.notifications import notify
from casework.services.outputs import current_term_and_session, rules

Changes = dict[str, Any]


def _bad(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, details={"field": field})


def _tell(users: Any, output: Output, title: str, body: str = "", key: str = "") -> None:
    ids = sorted({u if isinstance(u, int) else u.pk for u in users})
    if ids:
        notify(
            recipients=ids,
            organisation_id=output.organisation_id,
            kind=NotificationKind.OUTPUT,
            title=title,
            body=body,
            dedupe_key=key or f"output:{output.pk}:{output.audit_seq}:{title}",
        )


def office_users(output: Output) -> list[int]:
    return list(
        User.objects.filter(
            organisation_id=output.organisation_id, groups__name=Role.PROPOSAL_OFFICE, is_active=True
        ).values_list("id", flat=True)
    )


def department_users(department_ids: Any) -> list[int]:
    return list(
        User.objects.filter(
            department_id__in=list(department_ids), groups__name=Role.DEPARTMENT_LIAISON, is_active=True
        ).values_list("id", flat=True)
    )


# Signatures -------------------------------------------------------------------------------------


def sign_on(output: Output, user: User, role: str) -> OutputSigner | None:
    """Add `user` (a member) as a signer, unless they sign it already."""
    signer, created = OutputSigner.objects.get_or_create(output=output, user=user, defaults={"role": role})
    return signer if created else None


def set_signers(
    *,
    output: Output,
    actor: User,
    first: int,
    co_signers: list[int],
    sector: int | None = None,
    convener: int | None = None,
) -> Changes:
    """Who signs the draft: the first proposer, the co-signers and, for a proposal in a sector's
    name, that sector's convener. A signer who stays keeps their confirmation; one who is added
    confirms from their own login."""
    wanted: dict[int, str] = {first: SignerRole.FIRST}
    for user_id in co_signers:
        wanted.setdefault(user_id, SignerRole.CO)
    if sector is not None:
        from casework.models import Sector

        found = Sector.objects.filter(pk=sector, organisation_id=output.organisation_id).first()
        if found is None:
            raise NotFound(_("所选的界别不存在。"), code="sector_not_found", details={"field": "sector"})
        if convener is None:
            raise _bad("convener", _("以界别名义提出，须由该界别的召集人署名。"), "convener_required")
        if not found.conveners.filter(user_id=convener).exists():
            raise _bad("convener", _("所选委员不是该界别的召集人。"), "not_convener")
        wanted[convener] = SignerRole.CONVENER if convener != first else SignerRole.FIRST
    elif convener is not None:
        raise _bad("convener", _("只有以界别名义提出时才需要召集人署名。"), "convener_without_sector")
    members = set(
        Member.objects.filter(organisation_id=output.organisation_id, user_id__in=list(wanted)).values_list(
            "user_id", flat=True
        )
    )
    missing = [u for u in wanted if u not in members]
    if missing:
        raise NotFound(_("署名人须是本会委员。"), code="signer_not_found", details={"field": "co_signers"})
    current = {s.user_id: s for s in output.signers.all()}
    for user_id, signer in current.items():
        if user_id not in wanted:
            signer.delete()
    for user_id, role in wanted.items():
        signer = current.get(user_id)
        if signer is None:
            OutputSigner.objects.create(output=output, user_id=user_id, role=role)
        elif signer.role != role:
            signer.role = role
            signer.save(update_fields=["role"])
    output.sector_id = sector
    output.save(update_fields=["sector"])
    added = [u for u in wanted if u not in current]
    _tell(added, output, _("请确认联名：%(t)s") % {"t": output.title})
    return {"signers": {str(u): r for u, r in wanted.items()}, "sector": sector}


def confirm(*, signer: OutputSigner, actor: User) -> Changes:
    signer.confirmed_at = timezone.now()
    signer.save(update_fields=["confirmed_at"])
    return {"signer": signer.pk, "user": signer.user_id, "role": signer.role}


def unconfirmed(signer: OutputSigner) -> bool:
    return signer.confirmed_at is None


def all_signed(output: Output) -> bool:
    """Every signer has confirmed; a proposal in a sector's name has its convener's signature."""
    signers = list(output.signers.all())
    if not signers or any(s.confirmed_at is None for s in signers):
        return False
    if output.sector_id is not None:
        return any(s.role in (SignerRole.CONVENER, SignerRole.FIRST) and s.confirmed_at for s in signers) and (
            _has_convener(output, signers)
        )
    return True


def _has_convener(output: Output, signers: list[OutputSigner]) -> bool:
    conveners = set(output.sector.conveners.values_list("user_id", flat=True)) if output.sector else set()
    return any(s.user_id in conveners and s.confirmed_at for s in signers)


# Submission ---------------------------------------------------------------------------------------


def plenary_session(organisation_id: int, day: date, lead_months: int) -> Session | None:
    """The session whose plenary proposals are being collected on `day`: from `lead_months`
    before its opening until its deadline (its opening day when none is set)."""
    sessions = Session.objects.filter(term__organisation_id=organisation_id).select_related("term")
    for session in sessions.order_by("-opens_on"):
        closes = session.proposals_close_on or session.opens_on
        if _months_before(session.opens_on, lead_months) <= day <= closes:
            return session
    return None


def _months_before(day: date, months: int) -> date:
    index = day.month - 1 - months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, gregorian.monthrange(year, month)[1]))


def submit(*, output: Output, actor: User) -> Changes:
    """Submit a signed draft: it is numbered in its term and session's series, and is a plenary
    proposal when submitted in a session's collection window (else interim, 平时提案)."""
    if not output.suggestion.strip():
        raise _bad("suggestion", _("提案须有具体建议，请先填写“建议”。"), "empty_text")
    now = timezone.now()
    today = timezone.localdate(now)
    limits = rules(output.organisation_id)
    session = plenary_session(output.organisation_id, today, limits.plenary_lead_months)
    output.is_plenary = session is not None
    if session is not None:
        output.session = session
        output.term = session.term
    else:
        # An interim proposal is numbered in the session current when it is submitted, not the
        # one current when its draft was made.
        output.term, output.session = current_term_and_session(output.organisation_id)
    term_no = output.term.number if output.term else None
    session_no = output.session.number if output.session else None
    output.series = numbering.proposal_series(output.organisation_id, term_no, session_no, today.year)
    output.number_seq = numbering.take(output.series)
    output.number = numbering.proposal_number(term_no, session_no, today.year, output.number_seq)
    output.status = OutputStatus.SUBMITTED
    output.submitted_at = now
    output.submitted_by = actor
    output.save(
        update_fields=[
            "is_plenary",
            "session",
            "term",
            "series",
            "number_seq",
            "number",
            "status",
            "submitted_at",
            "submitted_by",
        ]
    )
    _tell(office_users(output), output, _("新提案待审查：%(t)s") % {"t": output.title}, output.number)
    return {
        "status": [OutputStatus.DRAFT, OutputStatus.SUBMITTED],
        "number": output.number,
        "plenary": output.is_plenary,
    }


# The proposal office's review ---------------------------------------------------------------------


def _decided(output: Output, status: str, note: str) -> None:
    output.status = status
    output.decided_at = timezone.now()
    output.decision_note = note
    output.save(update_fields=["status", "decided_at", "decision_note", "refusal_reason", "merged_into", "became"])


def file(*, output: Output, actor: User, key: bool = False, supervisor: int | None = None, note: str = "") -> Changes:
    """立案. A key proposal (重点提案) carries a supervising leader."""
    if supervisor is not None:
        leader = User.objects.filter(
            pk=supervisor, organisation_id=output.organisation_id, groups__name=Role.LEADERSHIP
        ).first()
        if leader is None:
            raise NotFound(_("所选的督办领导不存在。"), code="supervisor_not_found", details={"field": "supervisor"})
        key = True
    elif key:
        raise _bad("supervisor", _("重点提案须确定督办领导。"), "supervisor_required")
    output.is_key = key
    output.supervisor_id = supervisor
    output.save(update_fields=["is_key", "supervisor"])
    _decided(output, OutputStatus.FILED, note)
    return {"status": [OutputStatus.SUBMITTED, OutputStatus.FILED], "key": key, "supervisor": supervisor}


def not_file(
    *,
    output: Output,
    actor: User,
    reason: int,
    note: str = "",
    to_info_report: bool = False,
    proposer_consents: bool = False,
) -> Changes:
    """不立案, with a reason from the list. With the first proposer's consent, recorded here, it
    becomes an info report: a new draft with the same text, and the gathered cases go with it."""
    found = OutputReason.objects.filter(pk=reason, organisation_id=output.organisation_id, is_active=True).first()
    if found is None:
        raise NotFound(_("所选的不立案理由不存在。"), code="reason_not_found", details={"field": "reason"})
    if to_info_report and not proposer_consents:
        raise _bad(
            "proposer_consents", _("转为社情民意信息须经提案人同意，请先征得并勾选提案人同意。"), "consent_required"
        )
    output.refusal_reason = found
    changes: Changes = {"status": [OutputStatus.SUBMITTED, OutputStatus.NOT_FILED], "reason": found.text}
    if to_info_report:
        report = Output.objects.create(
            organisation_id=output.organisation_id,
            output_type=OutputType.INFO_REPORT,
            title=output.title,
            committee_id=output.committee_id,
            term=output.term,
            session=output.session,
            situation=output.situation,
            analysis=output.analysis,
            suggestion=output.suggestion,
            created_by=actor,
        )
        output.became = report
        moved = Case.objects.filter(output=output).update(output=report)
        changes.update({"info_report": report.pk, "cases_moved": moved})
    _decided(output, OutputStatus.NOT_FILED, note)
    return changes


def merge(*, output: Output, actor: User, into: Output, note: str = "") -> Changes:
    """并案: the proposal is handled as part of `into` (locked by the caller); its cases and its
    signers go with it."""
    if (
        into.pk == output.pk
        or into.output_type != OutputType.PROPOSAL
        or into.organisation_id != output.organisation_id
    ):
        raise _bad("into", _("只能并入本会的另一件提案。"), "invalid_merge_target")
    if into.status not in (OutputStatus.SUBMITTED, OutputStatus.FILED, OutputStatus.ASSIGNED):
        raise _bad("into", _("只能并入待审查、已立案或办理中的提案。"), "invalid_merge_target")
    output.merged_into = into
    moved = Case.objects.filter(output=output).update(output=into)
    for signer in output.signers.all():
        sign_on(into, signer.user, SignerRole.CO)
    _decided(output, OutputStatus.MERGED, note)
    return {"status": [OutputStatus.SUBMITTED, OutputStatus.MERGED], "into": into.pk, "cases_moved": moved}


def withdraw(*, output: Output, actor: User, note: str = "") -> Changes:
    """撤案."""
    left = output.status
    _decided(output, OutputStatus.WITHDRAWN, note)
    return {"status": [left, OutputStatus.WITHDRAWN], "note": note}


# Assignment ---------------------------------------------------------------------------------------


def _departments(output: Output, ids: list[int], field: str) -> list[Department]:
    found = {d.pk: d for d in Department.objects.filter(organisation_id=output.organisation_id, pk__in=ids)}
    if len(found) != len(set(ids)):
        raise NotFound(_("所选的承办单位不存在。"), code="department_not_found", details={"field": field})
    return [found[i] for i in ids]


def _open_assignment(output: Output, department: Department, role: str, now: datetime) -> Assignment:
    limits = rules(output.organisation_id)
    cal = deadlines.LenientCalendar()
    due = deadlines.add_months(cal, now, limits.reply_months)
    latest = deadlines.add_months(cal, now, limits.reply_max_months)
    return Assignment.objects.create(
        output=output,
        organisation_id=output.organisation_id,
        department=department,
        role=role,
        round=output.round,
        assigned_at=now,
        objection_until=deadlines.add_working_days(cal, now, limits.objection_working_days),
        due_at=due,
        latest_due_at=latest,
        warn_at=reply_warning(output, due),
    )


def reply_warning(output: Output, due: datetime) -> datetime:
    """When a reply due at `due` is nearly due: the organisation's number of working days before."""
    days = rules(output.organisation_id).reply_warning_working_days
    return deadlines.back_working_days(deadlines.LenientCalendar(), due, days)


def assign(
    *,
    output: Output,
    actor: User,
    handling: str,
    lead: int | None = None,
    co_handlers: list[int] | None = None,
    split: list[int] | None = None,
) -> Changes:
    """交办: one lead department with co-handlers (主办会办), or several that each reply (分办).
    Each reply is due `reply_months` after assignment, never later than `reply_max_months`."""
    co_handlers = list(dict.fromkeys(co_handlers or []))
    split = list(dict.fromkeys(split or []))
    if handling == HandlingMode.JOINT:
        if lead is None:
            raise _bad("lead", _("主办会办须确定一个主办单位。"), "lead_required")
        if split:
            raise _bad("split", _("主办会办时不填分办单位。"), "split_with_joint")
        if lead in co_handlers:
            raise _bad("co_handlers", _("主办单位不能同时是会办单位。"), "lead_is_co_handler")
        plan = [(d, AssignmentRole.LEAD) for d in _departments(output, [lead], "lead")]
        plan += [(d, AssignmentRole.CO) for d in _departments(output, co_handlers, "co_handlers")]
    else:
        if lead is not None or co_handlers:
            raise _bad("lead", _("分办时不填主办和会办单位。"), "joint_with_split")
        if len(split) < 2:
            raise _bad("split", _("分办至少需要两个承办单位；只有一个时请选主办。"), "split_too_few")
        plan = [(d, AssignmentRole.SPLIT) for d in _departments(output, split, "split")]
    now = timezone.now()
    output.handling = handling
    output.round = 1
    output.status = OutputStatus.ASSIGNED
    output.assigned_at = now
    output.save(update_fields=["handling", "round", "status", "assigned_at"])
    made = [_open_assignment(output, department, role, now) for department, role in plan]
    _tell(
        department_users(d.pk for d, _role in plan),
        output,
        _("新交办提案：%(t)s") % {"t": output.title},
        output.number,
    )
    return {
        "status": [OutputStatus.FILED, OutputStatus.ASSIGNED],
        "handling": handling,
        "assignments": {str(a.pk): [a.department.name, a.role] for a in made},
    }


def assignment_words(output: Output) -> str:
    live = output.assignments.filter(round=output.round).exclude(status=AssignmentStatus.WITHDRAWN)
    parts = [f"{a.get_role_display()}：{a.department.name}" for a in live.select_related("department")]
    return "；".join(parts)


def within_objection_window(assignment: Assignment) -> bool:
    return assignment.objection_until is not None and timezone.now() <= assignment.objection_until


def object_to(*, assignment: Assignment, actor: User, reason: str) -> Changes:
    """A department objects (within the window) that the proposal is not theirs to handle."""
    assignment.status = AssignmentStatus.OBJECTED
    assignment.objection = reason
    assignment.objected_at = timezone.now()
    assignment.save(update_fields=["status", "objection", "objected_at"])
    _tell(
        office_users(assignment.output),
        assignment.output,
        _("承办单位对交办提出异议：%(t)s") % {"t": assignment.output.title},
        f"{assignment.department.name}：{reason}",
    )
    return {"assignment": assignment.pk, "status": [AssignmentStatus.ASSIGNED, AssignmentStatus.OBJECTED]}


def reassign(*, output: Output, actor: User, assignment: int, department: int, note: str = "") -> Changes:
    """The office re-assigns an objected assignment to another department, with fresh windows."""
    objected = (
        Assignment.objects.select_for_update()
        .filter(pk=assignment, output=output, status=AssignmentStatus.OBJECTED)
        .first()
    )
    if objected is None:
        raise NotFound(
            _("所选的交办不存在或未提出异议。"), code="assignment_not_found", details={"field": "assignment"}
        )
    target = _departments(output, [department], "department")[0]
    taken = output.assignments.filter(round=output.round, department=target).exclude(status=AssignmentStatus.WITHDRAWN)
    if taken.exists():
        raise _bad("department", _("该单位已承办此提案。"), "department_already_assigned")
    objected.status = AssignmentStatus.WITHDRAWN
    objected.save(update_fields=["status"])
    fresh = _open_assignment(output, target, objected.role, timezone.now())
    _tell(department_users([target.pk]), output, _("新交办提案：%(t)s") % {"t": output.title}, output.number)
    return {"withdrawn": objected.pk, "assignment": fresh.pk, "department": target.name, "note": note}


def has_objection(output: Output) -> bool:
    return output.assignments.filter(round=output.round, status=AssignmentStatus.OBJECTED).exists()


def accept(*, assignment: Assignment, actor: User) -> Changes:
    assignment.status = AssignmentStatus.ACCEPTED
    assignment.accepted_at = timezone.now()
    assignment.save(update_fields=["status", "accepted_at"])
    return {"assignment": assignment.pk, "status": [AssignmentStatus.ASSIGNED, AssignmentStatus.ACCEPTED]}


def is_co(assignment: Assignment) -> bool:
    return assignment.role == AssignmentRole.CO


def is_replier(assignment: Assignment) -> bool:
    return assignment.role != AssignmentRole.CO


def send_view(*, assignment: Assignment, actor: User, view: str) -> Changes:
    """A co-handler sends its view to the lead department: its countersignature."""
    left = assignment.status
    assignment.view = view
    assignment.status = AssignmentStatus.COUNTERSIGNED
    assignment.countersigned_at = timezone.now()
    assignment.save(update_fields=["view", "status", "countersigned_at"])
    lead = _round(assignment.output).filter(role=AssignmentRole.LEAD).first()
    if lead is not None:
        _tell(
            department_users([lead.department_id]),
            assignment.output,
            _("会办单位已提出意见：%(t)s") % {"t": assignment.output.title},
            assignment.department.name,
        )
    return {"assignment": assignment.pk, "status": [left, AssignmentStatus.COUNTERSIGNED]}


def _round(output: Output) -> Any:
    return output.assignments.filter(round=output.round).exclude(status=AssignmentStatus.WITHDRAWN)


def co_handlers_countersigned(assignment: Assignment) -> bool:
    """The lead replies only after every co-handler of the round has countersigned."""
    if assignment.role != AssignmentRole.LEAD:
        return True
    return (
        not _round(assignment.output)
        .filter(role=AssignmentRole.CO)
        .exclude(status=AssignmentStatus.COUNTERSIGNED)
        .exists()
    )


def request_extension(*, assignment: Assignment, actor: User, until: date, reason: str) -> Changes:
    """Ask for more time; never past the latest due day."""
    assert assignment.due_at is not None and assignment.latest_due_at is not None
    if until <= deadlines.last_day(assignment.due_at):
        raise _bad("until", _("延期后的日期应晚于现在的答复期限。"), "extension_too_short")
    if until > deadlines.last_day(assignment.latest_due_at):
        raise _bad(
            "until",
            _("答复期限最迟不能超过 %(d)s。") % {"d": deadlines.last_day(assignment.latest_due_at).isoformat()},
            "extension_too_long",
        )
    assignment.extension_state = ExtensionState.REQUESTED
    assignment.extension_until = until
    assignment.extension_reason = reason
    assignment.save(update_fields=["extension_state", "extension_until", "extension_reason"])
    _tell(
        office_users(assignment.output),
        assignment.output,
        _("承办单位申请延期：%(t)s") % {"t": assignment.output.title},
        f"{assignment.department.name} → {until.isoformat()}",
    )
    return {"assignment": assignment.pk, "until": until.isoformat(), "reason": reason}


def extension_requested(assignment: Assignment) -> bool:
    return assignment.extension_state == ExtensionState.REQUESTED


def no_extension_pending(assignment: Assignment) -> bool:
    return assignment.extension_state != ExtensionState.REQUESTED and assignment.role != AssignmentRole.CO


def decide_extension(*, assignment: Assignment, actor: User, approve: bool, note: str = "") -> Changes:
    assert assignment.extension_until is not None
    if approve:
        # A new deadline: the sweep warns and marks a breach afresh against it.
        assignment.due_at = deadlines.end_of(assignment.extension_until)
        assignment.warn_at = reply_warning(assignment.output, assignment.due_at)
        assignment.warned_at = assignment.breached_at = None
    assignment.extension_state = ExtensionState.APPROVED if approve else ExtensionState.REFUSED
    assignment.save(update_fields=["extension_state", "due_at", "warn_at", "warned_at", "breached_at"])
    _tell(
        department_users([assignment.department_id]),
        assignment.output,
        (_("延期申请已批准：%(t)s") if approve else _("延期申请未批准：%(t)s")) % {"t": assignment.output.title},
    )
    return {"assignment": assignment.pk, "approved": approve, "due_at": assignment.due_at.isoformat(), "note": note}


def reply(*, assignment: Assignment, actor: User, reply_class: str, text: str) -> Changes:
    """The department's reply, with its class. When every replying department of the round has
    replied, the proposal waits for its signers' ratings."""
    left = assignment.status
    now = timezone.now()
    assignment.reply_class = reply_class
    assignment.reply = text
    assignment.replied_at = now
    assignment.replied_by = actor
    assignment.status = AssignmentStatus.REPLIED
    assignment.save(update_fields=["reply_class", "reply", "replied_at", "replied_by", "status"])
    output = assignment.output
    waiting = _round(output).filter(~Q(role=AssignmentRole.CO)).exclude(status=AssignmentStatus.REPLIED)
    changes: Changes = {
        "assignment": assignment.pk,
        "status": [left, AssignmentStatus.REPLIED],
        "class": reply_class,
        "files": list(assignment.files.values_list("id", flat=True)),
    }
    if not waiting.exists():
        output.status = OutputStatus.REPLIED
        output.save(update_fields=["status"])
        changes["output_status"] = [OutputStatus.ASSIGNED, OutputStatus.REPLIED]
        _tell(
            [s.user_id for s in output.signers.all()],
            output,
            _("提案已答复，请评价：%(t)s") % {"t": output.title},
            output.number,
        )
    return changes


def reply_words(output: Output) -> str:
    """The replies of the current round, as a member passes them on."""
    rows = _round(output).filter(status=AssignmentStatus.REPLIED).select_related("department")
    return "\n".join(
        f"{a.department.name}（{a.get_role_display()}，{ReplyClass(a.reply_class).label}）：{a.reply}" for a in rows
    )


def is_b_unsolved(assignment: Assignment) -> bool:
    return assignment.reply_class == ReplyClass.B and assignment.solved_at is None


def report_solved(*, assignment: Assignment, actor: User, note: str) -> Changes:
    """A B reply's follow-up: the department reports the matter solved."""
    assignment.solved_at = timezone.now()
    assignment.solved_note = note
    assignment.save(update_fields=["solved_at", "solved_note"])
    output = assignment.output
    still = output.assignments.filter(reply_class=ReplyClass.B, solved_at__isnull=True).exclude(
        status=AssignmentStatus.WITHDRAWN
    )
    if output.followup_open and not still.exists():
        output.followup_open = False
        output.save(update_fields=["followup_open"])
    return {"assignment": assignment.pk, "solved": True, "followup_open": output.followup_open}


# Ratings ------------------------------------------------------------------------------------------


def not_rated_yet(signer: OutputSigner) -> bool:
    return not signer.ratings.filter(round=signer.output.round).exists()


def rate(*, signer: OutputSigner, actor: User, process: str, result: str, note: str = "") -> Changes:
    """A signer rates this round's handling from their own login. When every signer has rated:
    any 不满意 with the result sends it back for re-handling (a new round, a new reply clock);
    otherwise it is closed, with a follow-up open while a B reply is not yet solved."""
    output = signer.output
    OutputRating.objects.create(
        output=output, signer=signer, round=output.round, process=process, result=result, note=note
    )
    changes: Changes = {"signer": signer.pk, "round": output.round, "process": process, "result": result}
    signers = list(output.signers.all())
    ratings = list(OutputRating.objects.filter(output=output, round=output.round))
    if len(ratings) < len(signers):
        return changes
    if any(r.result == Satisfaction.DISSATISFIED for r in ratings):
        previous = list(_round(output))
        output.round += 1
        output.status = OutputStatus.ASSIGNED
        output.save(update_fields=["round", "status"])
        now = timezone.now()
        for old in previous:
            _open_assignment(output, old.department, old.role, now)
        _tell(
            department_users(a.department_id for a in previous),
            output,
            _("提案人不满意，请重新办理：%(t)s") % {"t": output.title},
            output.number,
        )
        changes["output_status"] = [OutputStatus.REPLIED, OutputStatus.ASSIGNED]
        changes["rehandling_round"] = output.round
    else:
        output.status = OutputStatus.CLOSED
        output.closed_at = timezone.now()
        output.followup_open = _round(output).filter(reply_class=ReplyClass.B, solved_at__isnull=True).exists()
        output.save(update_fields=["status", "closed_at", "followup_open"])
        changes["output_status"] = [OutputStatus.REPLIED, OutputStatus.CLOSED]
        changes["followup_open"] = output.followup_open
    return changes


def rating_words(output: Output) -> str:
    return output.get_status_display()


def case_statuses_waiting() -> tuple[str, ...]:
    return (CaseStatus.OUTCOME,)
