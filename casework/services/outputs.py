"""Outputs (成果) as far as the spine needs them: gather cases, record an outcome. The full
lifecycles (立案, 交办, replies, ratings) come with ROADMAP.md 2."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from casework.choices import CaseStatus, OutputStatus
from casework.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from casework.models import Case, Output, Session, Term, User
from casework.services import access
from casework.services.audit import audit_record, output_stream


def _audit(
    output: Output, actor: User | None, action: str, changes: dict, source_ip: str | None, *, new_stream: bool = False
) -> None:
    audit_record(
        stream=output_stream(output.pk),
        actor=actor,
        action=action,
        target_type="output",
        target_id=output.pk,
        organisation_id=output.organisation_id,
        changes=changes,
        source_ip=source_ip,
        new_stream=new_stream,
    )


def current_term_and_session(organisation_id: int) -> tuple[Term | None, Session | None]:
    """The term that has begun most recently, and its latest session already opened."""
    today = timezone.localdate()
    term = Term.objects.filter(organisation_id=organisation_id, starts_on__lte=today).order_by("-starts_on").first()
    if term is None:
        return None, None
    return term, term.sessions.filter(opens_on__lte=today).order_by("-opens_on").first()


def output_attach_case(
    *, case: Case, actor: User, output_type: str, output_id: int | None, title: str, source_ip: str | None
) -> Output:
    """Create an output for `case` or gather it into an existing draft of the same type."""
    if output_id is None:
        term, session = current_term_and_session(case.organisation_id)
        output = Output.objects.create(
            organisation_id=case.organisation_id,
            output_type=output_type,
            title=title.strip()[:200],
            committee_id=case.committee_id,
            term=term,
            session=session,
            created_by=actor,
        )
        _audit(
            output,
            actor,
            "output.created",
            {"type": output_type, "title": output.title, "case": case.pk},
            source_ip,
            new_stream=True,
        )
        return output
    existing = Output.objects.select_for_update().filter(pk=output_id, organisation_id=case.organisation_id).first()
    if existing is None or not access.is_committee_staff(actor, existing.committee_id):
        raise NotFound(_("成果不存在。"), code="output_not_found")
    if existing.output_type != output_type:
        raise InvalidInput(_("只能并入同类型的成果。"), code="output_type_mismatch", details={"field": "output"})
    if existing.status != OutputStatus.DRAFT:
        raise InvalidInput(_("只能并入草稿状态的成果。"), code="output_not_draft", details={"field": "output"})
    _audit(existing, actor, "output.case_gathered", {"case": case.pk}, source_ip)
    return existing


def lock_output_for_outcome(*, output_id: int, actor: User) -> Output:
    output = (
        Output.objects.select_for_update()
        .filter(pk=output_id, organisation_id=access.organisation_id_of(actor))
        .first()
    )
    if output is None or not (
        access.is_committee_staff(actor, output.committee_id)
        or Case.objects.filter(output=output, member__user=actor).exists()
    ):
        raise NotFound(_("成果不存在。"), code="output_not_found")
    if not access.is_committee_staff(actor, output.committee_id):
        raise PermissionDenied()
    return output


def output_record_outcome(*, output: Output, actor: User | None, outcome: str, source_ip: str | None = None) -> None:
    """Record an output's outcome. Each gathered case then gets it back (workflows/actions.py
    moves their flows and calls `case_receive_outcome` for each)."""
    outcome = (outcome or "").strip()
    if not outcome:
        raise InvalidInput(_("「办理结果」不能为空。"), code="required", details={"field": "outcome"})
    if output.status == OutputStatus.OUTCOME_RECORDED:
        raise TransitionNotAllowed(_("该成果已登记办理结果。"), details={"status": output.status})
    output.outcome = outcome
    output.status = OutputStatus.OUTCOME_RECORDED
    output.outcome_recorded_at = timezone.now()
    output.save(update_fields=["outcome", "status", "outcome_recorded_at"])
    cases = list(Case.objects.filter(output=output, status=CaseStatus.OUTCOME).values_list("id", flat=True))
    _audit(output, actor, "output.outcome_recorded", {"outcome": outcome, "cases": cases}, source_ip)
