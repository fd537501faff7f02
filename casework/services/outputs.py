"""Outputs (成果) as far as cases need them: gather cases, record an outcome. Effects of the
output transitions, private to the workflow layer like the case effects."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from casework import access
from casework.choices import AuditAction, OutputStatus
from casework.errors import InvalidInput, NotFound
from casework.models import Case, Output, Session, Term, User
from casework.services.audit import audit_output

Changes = dict


def current_term_and_session(organisation_id: int) -> tuple[Term | None, Session | None]:
    """The term that has begun most recently, and its latest session already opened."""
    today = timezone.localdate()
    term = Term.objects.filter(organisation_id=organisation_id, starts_on__lte=today).order_by("-starts_on").first()
    if term is None:
        return None, None
    return term, term.sessions.filter(opens_on__lte=today).order_by("-opens_on").first()


def can_join(output: Output, case: Case) -> bool:
    """A case may join a draft output of its own committee."""
    return output.status == OutputStatus.DRAFT and output.committee_id == case.committee_id


def output_attach_case(
    *,
    case: Case,
    actor: User,
    output_type: str,
    output: Output | None,
    title: str,
    source_ip: str | None,
) -> Output:
    """Create an output for `case`, or gather it into `output`, an existing draft of the same
    type that the caller holds locked."""
    if output is None:
        term, session = current_term_and_session(case.organisation_id)
        created = Output.objects.create(
            organisation_id=case.organisation_id,
            output_type=output_type,
            title=title.strip()[:200],
            committee_id=case.committee_id,
            term=term,
            session=session,
            created_by=actor,
        )
        audit_output(
            created,
            actor,
            AuditAction.OUTPUT_CREATED,
            {"type": output_type, "title": created.title, "case": case.pk},
            source_ip,
            new_stream=True,
        )
        return created
    if not access.is_output_staff(actor, output):
        raise NotFound(_("成果不存在。"), code="output_not_found", details={"field": "output"})
    if output.output_type != output_type:
        raise InvalidInput(_("只能并入同类型的成果。"), code="output_type_mismatch", details={"field": "output"})
    if not can_join(output, case):
        raise InvalidInput(_("只能并入本委办草稿状态的成果。"), code="output_not_draft", details={"field": "output"})
    audit_output(output, actor, AuditAction.OUTPUT_CASE_GATHERED, {"case": case.pk}, source_ip)
    return output


def record_outcome(*, output: Output, actor: User | None, outcome: str, cases: list[Case]) -> Changes:
    """Record an output's outcome; `cases` are the gathered cases that will get it back."""
    output.outcome = outcome
    output.status = OutputStatus.OUTCOME_RECORDED
    output.outcome_recorded_at = timezone.now()
    output.save(update_fields=["outcome", "status", "outcome_recorded_at"])
    return {"outcome": outcome, "cases": [c.pk for c in cases]}
