"""Domain state changes of a case (DOMAIN.md §3). Each is one function: it checks the actor and
the transition, changes the case, keeps its clocks and writes its audit event, all inside the
caller's transaction. The flow part (workflows/actions.py) calls these with the rows locked."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.choices import (
    CaseStatus,
    Decision,
    FeedbackMethod,
    OutputType,
    RedirectChannel,
    Satisfaction,
    Stage,
    Urgency,
)
from casework.errors import InvalidInput, NotFound, TransitionNotAllowed
from casework.models import (
    Case,
    CaseCategory,
    CaseClock,
    Committee,
    Output,
    RejectReason,
    RosterEntry,
    Township,
    User,
)
from casework.services import access, clocks
from casework.services.audit import audit_record, case_stream
from casework.services.outputs import output_attach_case

EDITABLE_FIELDS = ("title", "description", "category", "township", "urgency", "consent_to_share")
# Which statuses each actor may edit in: the member before review, staff during it.
MEMBER_EDITABLE = (CaseStatus.DRAFT, CaseStatus.NEEDS_INFO)
STAFF_EDITABLE = (CaseStatus.REVIEW, CaseStatus.CONVERSION)


def _require_status(case: Case, allowed: tuple[str, ...], action: str) -> None:
    if case.status not in allowed:
        raise TransitionNotAllowed(
            _("案件当前状态为「%(status)s」，不能执行「%(action)s」。")
            % {"status": case.get_status_display(), "action": action},
            details={"status": case.status},
        )


def _audit(
    case: Case,
    actor: User | None,
    action: str,
    changes: dict[str, Any],
    source_ip: str | None,
    *,
    new_stream: bool = False,
) -> None:
    audit_record(
        stream=case_stream(case.pk),
        actor=actor,
        action=action,
        target_type="case",
        target_id=case.pk,
        organisation_id=case.organisation_id,
        changes=changes,
        source_ip=source_ip,
        new_stream=new_stream,
    )


def _clean_text(value: str, field: str, label: str, *, max_length: int | None = None, required: bool = True) -> str:
    """Strip and check a text field; errors name the field by its code (`field`) and show `label`."""
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(_("「%(field)s」不能为空。") % {"field": label}, code="required", details={"field": field})
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(
            _("「%(field)s」不能超过 %(n)d 个字。") % {"field": label, "n": max_length},
            code="too_long",
            details={"field": field},
        )
    return value


def _category(actor: User, category_id: int) -> CaseCategory:
    category = CaseCategory.objects.filter(pk=category_id, organisation_id=access.organisation_id_of(actor)).first()
    if category is None:
        raise InvalidInput(_("类别不存在。"), code="invalid_category", details={"field": "category"})
    return category


def _township(actor: User, township_id: int | None) -> Township | None:
    if township_id is None:
        return None
    township = Township.objects.filter(pk=township_id, organisation_id=access.organisation_id_of(actor)).first()
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
        if not Committee.objects.filter(pk=committee_id, organisation_id=access.organisation_id_of(actor)).exists():
            raise InvalidInput(_("受理委办不存在。"), code="invalid_committee", details={"field": "committee"})
        return committee_id
    if category.committee_id is not None:
        return category.committee_id
    default = (
        Committee.objects.filter(organisation_id=access.organisation_id_of(actor), is_default_intake=True)
        .values_list("id", flat=True)
        .first()
    )
    if default is None:
        raise InvalidInput(_("未设置默认受理委办，请联系管理员。"), code="no_intake_committee")
    return default


def case_create(
    *,
    actor: User,
    title: str,
    description: str,
    category_id: int,
    township_id: int | None = None,
    urgency: str = Urgency.NORMAL,
    contact_ids: list[int] | None = None,
    consent_to_share: bool = False,
    committee_id: int | None = None,
    submit: bool = False,
    source_ip: str | None = None,
) -> Case:
    """A member files a concern, as a draft or straight into review (`submit`): one audit event
    either way, since a case filed from a phone is one act. The flow starts on submission."""
    assert connection.in_atomic_block
    member = getattr(actor, "member", None)
    organisation = actor.organisation
    if member is None or organisation is None or member.organisation_id != organisation.pk:
        raise access.PermissionDenied(_("只有委员可以反映民情。"), code="not_a_member")
    title = _clean_text(title, "title", _("标题"), max_length=120)
    description = _clean_text(description, "description", _("问题描述"), max_length=5000)
    if urgency not in Urgency.values:
        raise InvalidInput(_("紧急程度无效。"), code="invalid_urgency", details={"field": "urgency"})
    category = _category(actor, category_id)
    township = _township(actor, township_id)
    contacts = _roster_contacts(member.id, contact_ids or [])
    case = Case.objects.create(
        organisation=organisation,
        member=member,
        title=title,
        description=description,
        category=category,
        township=township,
        urgency=urgency,
        consent_to_share=consent_to_share,
        committee_id=_intake_committee(actor, category, committee_id),
        created_by=actor,
        status=CaseStatus.REVIEW if submit else CaseStatus.DRAFT,
        submitted_at=timezone.now() if submit else None,
    )
    if contacts:
        Case.contacts.through.objects.bulk_create(
            [Case.contacts.through(case_id=case.pk, contact_id=cid) for cid in contacts]
        )
    _audit(
        case,
        actor,
        "case.submitted" if submit else "case.created",
        {
            "status": case.status,
            "title": title,
            "category": category.pk,
            "township": township_id,
            "urgency": urgency,
            "contacts": contacts,
            "committee": case.committee_id,
        },
        source_ip,
        new_stream=True,
    )
    return case


def case_update(*, case: Case, actor: User, changes: dict[str, Any], source_ip: str | None = None) -> Case:
    """Edit a case's content. The member edits before review; staff during review and conversion."""
    is_member = access.is_case_member(actor, case)
    is_staff = access.is_committee_staff(actor, case.committee_id)
    if not (is_member or is_staff):
        access.require_case_member(actor, case)
    allowed = (MEMBER_EDITABLE if is_member else ()) + (STAFF_EDITABLE if is_staff else ())
    _require_status(case, allowed, _("修改"))
    diff: dict[str, list[Any]] = {}
    for field, value in changes.items():
        if field == "title":
            value = _clean_text(value, "title", _("标题"), max_length=120)
        elif field == "description":
            value = _clean_text(value, "description", _("问题描述"), max_length=5000)
        elif field == "urgency":
            if value not in Urgency.values:
                raise InvalidInput(_("紧急程度无效。"), code="invalid_urgency", details={"field": "urgency"})
        elif field == "category":
            value = _category(actor, value).pk
            field = "category_id"
        elif field == "township":
            value = _township(actor, value).pk if value is not None else None  # type: ignore[union-attr]
            field = "township_id"
        elif field == "consent_to_share":
            value = bool(value)
        elif field == "contacts":
            new = _roster_contacts(case.member_id, value)
            old = sorted(case.contacts.values_list("id", flat=True))
            if new != old:
                case.contacts.set(new)
                diff["contacts"] = [old, new]
            continue
        else:
            raise InvalidInput(
                _("字段「%(f)s」不能修改。") % {"f": field}, code="not_editable", details={"field": field}
            )
        old_value = getattr(case, field)
        if old_value != value:
            setattr(case, field, value)
            diff[field.removesuffix("_id")] = [old_value, value]
    if not diff:
        return case
    scalar = [
        f
        for f in ("title", "description", "urgency", "category_id", "township_id", "consent_to_share")
        if f.removesuffix("_id") in diff
    ]
    if scalar:
        case.save(update_fields=[*scalar, "updated_at"])
    _audit(case, actor, "case.updated", diff, source_ip)
    return case


def case_submit(*, case: Case, actor: User, source_ip: str | None = None) -> None:
    access.require_case_member(actor, case)
    _require_status(case, (CaseStatus.DRAFT,), _("提交"))
    case.status = CaseStatus.REVIEW
    case.submitted_at = timezone.now()
    case.save(update_fields=["status", "submitted_at", "updated_at"])
    _audit(case, actor, "case.submitted", {"status": [CaseStatus.DRAFT, CaseStatus.REVIEW]}, source_ip)


def case_claim(*, case: Case, actor: User, clock: CaseClock | None = None, source_ip: str | None = None) -> None:
    """Record that `actor` took the case's open staff task. `clock` is the stage clock when the
    caller already holds it (claim-next), which saves looking it up."""
    access.require_committee_staff(actor, case)
    clock = clock or clocks.live_clock(case, case.status)
    if clock is not None:
        clock.assignee = actor
        clock.claimed_at = timezone.now()
        clock.save(update_fields=["assignee", "claimed_at"])
    _audit(case, actor, "case.claimed", {"stage": case.status}, source_ip)


def case_release(*, case: Case, actor: User, source_ip: str | None = None) -> None:
    access.require_committee_staff(actor, case)
    clock = clocks.live_clock(case, case.status)
    if clock is not None:
        clock.assignee = None
        clock.claimed_at = None
        clock.save(update_fields=["assignee", "claimed_at"])
    _audit(case, actor, "case.released", {"stage": case.status}, source_ip)


def _decide(
    case: Case,
    actor: User,
    decision: Decision,
    status: CaseStatus,
    label: str,
    changes: dict[str, Any],
    source_ip: str | None,
) -> None:
    access.require_committee_staff(actor, case)
    _require_status(case, (CaseStatus.REVIEW,), label)
    old = case.status
    case.decision = decision
    case.status = status
    case.decided_at = timezone.now()
    if decision == Decision.NEEDS_INFO:
        clocks.clock_pause(case=case, stage=Stage.REVIEW)
    else:
        clocks.clock_stop(case=case, stage=Stage.REVIEW)
    case.save()
    _audit(case, actor, f"case.{decision}", {"status": [old, status], "decision": decision, **changes}, source_ip)


def case_accept(*, case: Case, actor: User, note: str = "", source_ip: str | None = None) -> None:
    case.decision_note = note.strip()
    _decide(
        case, actor, Decision.ACCEPTED, CaseStatus.CONVERSION, _("受理转化"), {"note": case.decision_note}, source_ip
    )


def case_request_info(*, case: Case, actor: User, question: str, source_ip: str | None = None) -> None:
    case.info_request = _clean_text(question, "question", _("需补充的内容"), max_length=2000)
    _decide(
        case,
        actor,
        Decision.NEEDS_INFO,
        CaseStatus.NEEDS_INFO,
        _("要求补充材料"),
        {"question": case.info_request},
        source_ip,
    )


def case_reject(*, case: Case, actor: User, reason_id: int, note: str = "", source_ip: str | None = None) -> None:
    reason = RejectReason.objects.filter(pk=reason_id, organisation_id=case.organisation_id, is_active=True).first()
    if reason is None:
        raise InvalidInput(_("请选择有效的不予受理理由。"), code="invalid_reason", details={"field": "reason"})
    case.reject_reason = reason
    case.decision_note = note.strip()
    _decide(
        case,
        actor,
        Decision.REJECTED,
        CaseStatus.FEEDBACK,
        _("不予受理"),
        {"reason": reason.text, "note": case.decision_note},
        source_ip,
    )


def case_redirect(*, case: Case, actor: User, channel: str, note: str = "", source_ip: str | None = None) -> None:
    if channel not in RedirectChannel.values:
        raise InvalidInput(_("请选择有效的转办渠道。"), code="invalid_channel", details={"field": "channel"})
    case.redirect_channel = channel
    case.decision_note = note.strip()
    _decide(
        case,
        actor,
        Decision.REDIRECTED,
        CaseStatus.FEEDBACK,
        _("转其他渠道"),
        {"channel": channel, "note": case.decision_note},
        source_ip,
    )


def case_resolve(*, case: Case, actor: User, note: str, source_ip: str | None = None) -> None:
    case.decision_note = _clean_text(note, "note", _("解决情况"), max_length=5000)
    case.outcome = case.decision_note
    _decide(case, actor, Decision.RESOLVED, CaseStatus.FEEDBACK, _("直接解决"), {"note": case.decision_note}, source_ip)
    _pass_outcome_to_merged(case, actor, case.outcome, source_ip)


def case_merge(*, case: Case, actor: User, master: Case, note: str = "", source_ip: str | None = None) -> None:
    """Merge a duplicate into `master`; it follows the master case from then on."""
    if master.pk == case.pk:
        raise InvalidInput(_("不能合并到案件自身。"), code="merge_into_self", details={"field": "into"})
    if master.organisation_id != case.organisation_id or not access.visible_cases(actor).filter(pk=master.pk).exists():
        raise NotFound(_("要合并到的案件不存在。"), code="merge_target_not_found")
    if master.status in (CaseStatus.DRAFT, CaseStatus.MERGED, CaseStatus.CLOSED):
        raise InvalidInput(
            _("不能合并到状态为「%(s)s」的案件。") % {"s": master.get_status_display()},
            code="invalid_merge_target",
            details={"field": "into"},
        )
    case.merged_into = master
    case.decision_note = note.strip()
    case.closed_at = timezone.now()
    _decide(
        case,
        actor,
        Decision.MERGED,
        CaseStatus.MERGED,
        _("合并"),
        {"into": master.pk, "note": case.decision_note},
        source_ip,
    )
    _audit(master, actor, "case.merge_received", {"from": case.pk}, source_ip)


def _pass_outcome_to_merged(master: Case, actor: User | None, outcome: str, source_ip: str | None) -> None:
    """Merged duplicates follow their master case: its outcome is written onto each of them."""
    merged = Case.objects.select_for_update(of=("self",)).filter(merged_into=master).order_by("id")
    for duplicate in merged:
        duplicate.outcome = outcome
        duplicate.save(update_fields=["outcome", "updated_at"])
        _audit(duplicate, actor, "case.outcome_followed", {"master": master.pk, "outcome": outcome}, source_ip)


def case_answer_info(*, case: Case, actor: User, answer: str, source_ip: str | None = None) -> None:
    access.require_case_member(actor, case)
    _require_status(case, (CaseStatus.NEEDS_INFO,), _("补充材料"))
    case.info_answer = _clean_text(answer, "answer", _("补充的材料"), max_length=5000)
    case.status = CaseStatus.REVIEW
    case.decision = ""
    clocks.clock_stop(case=case, stage=Stage.NEEDS_INFO)
    case.save(update_fields=["info_answer", "status", "decision", "updated_at"])
    _audit(
        case,
        actor,
        "case.info_answered",
        {"status": [CaseStatus.NEEDS_INFO, CaseStatus.REVIEW], "answer": case.info_answer},
        source_ip,
    )


def case_convert(
    *,
    case: Case,
    actor: User,
    output_type: str,
    output_id: int | None = None,
    title: str = "",
    source_ip: str | None = None,
) -> Output:
    """Turn an accepted case into an output, new or an existing draft of the same type."""
    access.require_committee_staff(actor, case)
    _require_status(case, (CaseStatus.CONVERSION,), _("成果转化"))
    if output_type not in OutputType.values:
        raise InvalidInput(_("成果类型无效。"), code="invalid_output_type", details={"field": "output_type"})
    output = output_attach_case(
        case=case,
        actor=actor,
        output_type=output_type,
        output_id=output_id,
        title=title or case.title,
        source_ip=source_ip,
    )
    case.output = output
    case.status = CaseStatus.OUTCOME
    clocks.clock_stop(case=case, stage=Stage.CONVERSION)
    case.save(update_fields=["output", "status", "updated_at"])
    _audit(
        case,
        actor,
        "case.converted",
        {"status": [CaseStatus.CONVERSION, CaseStatus.OUTCOME], "output": output.pk, "output_type": output_type},
        source_ip,
    )
    return output


def case_receive_outcome(*, case: Case, actor: User | None, outcome: str, source_ip: str | None = None) -> None:
    """The output's outcome is written back onto a gathered case."""
    _require_status(case, (CaseStatus.OUTCOME,), _("登记办理结果"))
    case.outcome = outcome
    case.status = CaseStatus.FEEDBACK
    case.save(update_fields=["outcome", "status", "updated_at"])
    _pass_outcome_to_merged(case, actor, outcome, source_ip)
    _audit(
        case,
        actor,
        "case.outcome_received",
        {"status": [CaseStatus.OUTCOME, CaseStatus.FEEDBACK], "output": case.output_id, "outcome": outcome},
        source_ip,
    )


def case_record_feedback(
    *, case: Case, actor: User, method: str, satisfaction: str, note: str = "", source_ip: str | None = None
) -> None:
    access.require_case_member(actor, case)
    _require_status(case, (CaseStatus.FEEDBACK,), _("反馈群众"))
    if method not in FeedbackMethod.values:
        raise InvalidInput(_("请选择有效的反馈方式。"), code="invalid_method", details={"field": "method"})
    if satisfaction not in Satisfaction.values:
        raise InvalidInput(_("请选择群众满意度。"), code="invalid_satisfaction", details={"field": "satisfaction"})
    case.feedback_method = method
    case.satisfaction = satisfaction
    case.feedback_note = note.strip()
    case.status = CaseStatus.CLOSED
    case.closed_at = timezone.now()
    clocks.clock_stop(case=case, stage=Stage.FEEDBACK)
    case.save(update_fields=["feedback_method", "satisfaction", "feedback_note", "status", "closed_at", "updated_at"])
    _audit(
        case,
        actor,
        "case.closed",
        {"status": [CaseStatus.FEEDBACK, CaseStatus.CLOSED], "method": method, "satisfaction": satisfaction},
        source_ip,
    )


# Where one step back leads: only to the committee's own review.
SEND_BACK_TARGETS = {
    CaseStatus.CONVERSION: CaseStatus.REVIEW,
    CaseStatus.NEEDS_INFO: CaseStatus.REVIEW,
    CaseStatus.FEEDBACK: CaseStatus.REVIEW,
}


def case_send_back(*, case: Case, actor: User, reason: str, source_ip: str | None = None) -> None:
    """Undo the last review decision, with a reason; nothing is deleted."""
    access.require_committee_staff(actor, case)
    reason = _clean_text(reason, "reason", _("退回理由"), max_length=2000)
    allowed = tuple(SEND_BACK_TARGETS)
    if case.status == CaseStatus.FEEDBACK and case.decision not in (
        Decision.REJECTED,
        Decision.REDIRECTED,
        Decision.RESOLVED,
    ):
        allowed = ()
    _require_status(case, allowed, _("退回上一步"))
    old = case.status
    clocks.clock_stop(case=case, stage=old, judged=False)
    # From needs-info, the paused review clock resumes when the review task reopens.
    changes = {"status": [old, CaseStatus.REVIEW], "reason": reason, "undone_decision": case.decision}
    case.status = CaseStatus.REVIEW
    case.decision = ""
    case.reject_reason = None
    case.redirect_channel = ""
    case.outcome = "" if changes["undone_decision"] == Decision.RESOLVED else case.outcome
    case.decided_at = None
    changes["undone_note"] = case.decision_note
    case.decision_note = ""
    case.save()
    _audit(case, actor, "case.sent_back", changes, source_ip)


def lock_case(case_id: int) -> Case:
    """Lock a case row for a state change. Lock order everywhere: the case row, then the flow's
    process row, then clocks."""
    assert connection.in_atomic_block
    # of=self: lock the case row only, not the organisation row the join reads.
    case = Case.objects.select_for_update(of=("self",)).select_related("organisation").filter(pk=case_id).first()
    if case is None:
        raise NotFound()
    return case
