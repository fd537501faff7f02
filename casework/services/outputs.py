"""Outputs (成果) as far as cases need them: gather cases, record an outcome. Effects of the
output transitions, private to the workflow layer like the case effects."""

from __future__ import annotations

import re

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from casework import access
from casework.choices import AuditAction, CaseStatus, OutputStatus, OutputType, SignerRole
from casework.errors import InvalidInput, NotFound
from casework.models import Case, Contact, Output, OutputRules, OutputSigner, Session, Term, User
from casework.services.audit import audit_output

Changes = dict


def rules(organisation_id: int) -> OutputRules:
    """The organisation's windows and time limits: its own row, else the default row, else the
    defaults as shipped."""
    rows = OutputRules.objects.filter(Q(organisation_id=organisation_id) | Q(organisation__isnull=True))
    found = {r.organisation_id: r for r in rows}
    return found.get(organisation_id) or found.get(None) or OutputRules()


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
            situation=case.description,
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
        _sign_for(created, case)
        return created
    if not access.is_output_staff(actor, output):
        raise NotFound(_("成果不存在。"), code="output_not_found", details={"field": "output"})
    if output.output_type != output_type:
        raise InvalidInput(_("只能并入同类型的成果。"), code="output_type_mismatch", details={"field": "output"})
    if not can_join(output, case):
        raise InvalidInput(_("只能并入本委办草稿状态的成果。"), code="output_not_draft", details={"field": "output"})
    audit_output(output, actor, AuditAction.OUTPUT_CASE_GATHERED, {"case": case.pk}, source_ip)
    _sign_for(output, case)
    return output


SIGNED_TYPES = (OutputType.PROPOSAL, OutputType.SPEECH)


def _sign_for(output: Output, case: Case) -> None:
    """A proposal or speech is in its members' names: the member whose case it was made from is
    its first proposer, and the member of each case it gathers later a co-signer (each confirms
    from their own login before it is submitted)."""
    if output.output_type not in SIGNED_TYPES:
        return
    user_id = case.member.user_id
    if user_id is None or OutputSigner.objects.filter(output=output, user_id=user_id).exists():
        return
    role = SignerRole.CO if OutputSigner.objects.filter(output=output).exists() else SignerRole.FIRST
    OutputSigner.objects.create(output=output, user_id=user_id, role=role)


def max_chars(output: Output) -> int | None:
    """How long the output's text may be, as the organisation's rules say (None: no limit)."""
    limits = rules(output.organisation_id)
    if output.output_type == OutputType.INFO_REPORT:
        return limits.info_report_max_chars
    if output.output_type == OutputType.SPEECH:
        return limits.speech_max_chars
    return None


def check_length(output: Output, *, submitting: bool = False) -> None:
    """The type's length limit, over the whole text (an info report's situation, analysis and
    suggestion together); checked when the draft is saved and again when it is submitted, as a
    draft may have come long from its case or the limit may have been lowered since."""
    limit = max_chars(output)
    if limit is not None and output.text_length > limit:
        words = (
            _("%(type)s正文最多 %(n)d 字，现为 %(m)d 字，请精简后再提交。")
            if submitting
            else _("%(type)s正文最多 %(n)d 字，现为 %(m)d 字，请精简后再保存。")
        )
        raise InvalidInput(
            words % {"type": output.get_output_type_display(), "n": limit, "m": output.text_length},
            code="text_too_long",
            details={
                # An info report is written in its three parts, the other types in their body.
                "field": "situation" if output.output_type == OutputType.INFO_REPORT else "body",
                "max": limit,
                "length": output.text_length,
            },
        )


def edit(*, output: Output, actor: User, **values: str) -> Changes | None:
    """Change the draft's title and text; the type's length limit holds for the whole text."""
    changed = {name: value for name, value in values.items() if getattr(output, name) != value}
    if not changed:
        return None
    for name, value in changed.items():
        setattr(output, name, value)
    check_length(output)
    output.save(update_fields=list(changed))
    return {name: value if name == "title" else len(value) for name, value in changed.items()}


def release_case(*, output: Output, actor: User, case: Case, note: str = "") -> Changes:
    """A case leaves a draft output (locked with it by the caller) and goes back to conversion;
    its member stops signing unless another of their cases stays."""
    if case.output_id != output.pk or case.status != CaseStatus.OUTCOME:
        raise InvalidInput(_("该案件不在此成果中。"), code="case_not_gathered", details={"field": "case"})
    case.output = None
    case.status = CaseStatus.CONVERSION
    case.save(update_fields=["output", "status", "updated_at"])
    user_id = case.member.user_id
    if not Case.objects.filter(output=output, member__user_id=user_id).exists():
        OutputSigner.objects.filter(output=output, user_id=user_id).exclude(role=SignerRole.CONVENER).delete()
    return {"case": case.pk, "note": note}


# What goes to a department ------------------------------------------------------------------------

IDENTITY_FIELDS = ("title", "situation", "analysis", "suggestion", "body")
_NOT_DIGITS = re.compile(r"\D")


def withheld_identities(output: Output) -> list[str]:
    """The text fields of `output` that name a constituent whose consent does not let their
    identity go on: their name, phone number or ID number, typed into the output, for a gathered
    case that has no consent to share. A proposal goes to its handling departments only without
    them (PIPL: a constituent's identity reaches a department only as far as their consent
    covers). Names of one character are not looked for (they would match everywhere)."""
    contacts = list(
        Contact.objects.filter(cases__output_id=output.pk, cases__consent_to_share=False)
        .distinct()
        .only("id", "name", "phone", "id_number")
    )
    if not contacts:
        return []
    found = []
    for name in IDENTITY_FIELDS:
        text = getattr(output, name) or ""
        if not text:
            continue
        digits, upper = _NOT_DIGITS.sub("", text), text.upper()
        for contact in contacts:
            if (
                (len(contact.name) >= 2 and contact.name in text)
                or (len(contact.phone) >= 7 and _NOT_DIGITS.sub("", contact.phone) in digits)
                or (contact.id_number and contact.id_number.upper() in upper)
            ):
                found.append(str(Output._meta.get_field(name).verbose_name))
                break
    return found


def identities_withheld(output: Output) -> bool:
    return not withheld_identities(output)


def withheld_words(output: Output) -> str:
    return _("「%(fields)s」中含有未同意提供姓名的群众的姓名、电话或身份证号。请先修改删去，再交给承办单位。") % {
        "fields": "、".join(withheld_identities(output))
    }
