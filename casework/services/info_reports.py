"""The info report (社情民意信息) lifecycle's effects: one matter, in its situation, analysis and
suggestion, within the organisation's length limit; submitted by the committee's staff, used in
a bulletin issue (编报, numbered per organisation and year) or not used, sent up to the parent
organisation, whose staff adopt it (and may send it further up) or not, and leaders'
instructions on it. Private to the workflow layer (`workflows/output_lifecycle.py` declares who
may do each, from which status); each runs inside the transition's transaction with the output
row locked, and answers the changes its audit event records.

`Output.with_organisation` is the organisation whose staff hold the report once it is sent up:
each organisation it is sent up to in turn. It stays empty while the report's own organisation
holds it, so that its other committees' staff do not see it as "sent up to" them. The gathered
cases stay with the lowest organisation, and every decision up the tree is told to them there."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.choices import AdoptionLevel, InstructionRank, NotificationKind, OutputStatus, Role
from casework.errors import InvalidInput, TransitionNotAllowed
from casework.models import Adoption, Instruction, Organisation, Output, User
from casework.services import numbering, outputs
from casework.services.notifications import notify

Changes = dict[str, Any]

# The three parts of a report, in order.
PARTS = (
    ("situation", gettext_lazy("基本情况")),
    ("analysis", gettext_lazy("分析")),
    ("suggestion", gettext_lazy("建议")),
)


def _bad(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, details={"field": field})


def holder(output: Output) -> Organisation:
    """The organisation whose staff decide on the report now."""
    return output.with_organisation or output.organisation


def parent_of_holder(output: Output) -> Organisation | None:
    return holder(output).parent


def has_parent(output: Output) -> bool:
    return holder(output).parent_id is not None


def top_of_tree(output: Output) -> str:
    return _("「%(o)s」已是最高一级，没有可报送的上级组织。") % {"o": holder(output)}


def submit(*, output: Output, actor: User) -> Changes:
    """Submit the draft: the whole within the length limit, each of its three parts written."""
    outputs.check_length(output, submitting=True)
    for name, label in PARTS:
        if not getattr(output, name).strip():
            raise _bad(
                name, _("社情民意信息须有基本情况、分析和建议三部分，请先填写「%(p)s」。") % {"p": label}, "empty_text"
            )
    output.status = OutputStatus.SUBMITTED
    output.submitted_at = timezone.now()
    output.submitted_by = actor
    output.save(update_fields=["status", "submitted_at", "submitted_by"])
    return {"status": [OutputStatus.DRAFT, OutputStatus.SUBMITTED], "length": output.text_length}


def _decided(output: Output, status: str, note: str, *fields: str) -> None:
    output.status = status
    output.decided_at = timezone.now()
    output.decision_note = note
    output.save(update_fields=["status", "decided_at", "decision_note", *fields])


def use(*, output: Output, actor: User, note: str = "") -> Changes:
    """编报: the report is used in the organisation's bulletin, as its next issue of the year."""
    year = timezone.localdate().year
    output.series = numbering.bulletin_series(output.organisation_id, year)
    output.number_seq = numbering.take(output.series)
    output.number = numbering.bulletin_number(year, output.number_seq)
    output.bulletin_year = year
    output.bulletin_issue = output.number_seq
    _decided(output, OutputStatus.USED, note, "series", "number_seq", "number", "bulletin_year", "bulletin_issue")
    return {"status": [OutputStatus.SUBMITTED, OutputStatus.USED], "number": output.number, "note": note}


def not_use(*, output: Output, actor: User, note: str = "") -> Changes:
    _decided(output, OutputStatus.NOT_USED, note)
    return {"status": [OutputStatus.SUBMITTED, OutputStatus.NOT_USED], "note": note}


def send_up(*, output: Output, actor: User, note: str = "") -> Changes:
    """Send the report up to the parent of the organisation that holds it; that organisation's
    staff decide on it from then on."""
    source = holder(output)
    parent = source.parent
    if parent is None:
        raise TransitionNotAllowed(top_of_tree(output), details={"status": output.status})
    left = output.status
    output.with_organisation = parent
    output.status = OutputStatus.SENT_UP
    output.save(update_fields=["with_organisation", "status"])
    _tell_receivers(output, parent, source)
    return {"status": [left, OutputStatus.SENT_UP], "from": source.pk, "to": parent.pk, "note": note}


def _tell_receivers(output: Output, parent: Organisation, source: Organisation) -> None:
    """The staff who decide on it up there hear that it arrived (their referral queue lists it)."""
    receivers = User.objects.filter(organisation=parent, is_active=True).filter(
        Q(staffed_committees__isnull=False) | Q(headed_committees__isnull=False) | Q(groups__name=Role.PROPOSAL_OFFICE)
    )
    notify(
        recipients=sorted(set(receivers.values_list("id", flat=True))),
        organisation_id=parent.pk,
        kind=NotificationKind.OUTPUT,
        title=_("下级报送社情民意信息：%(t)s") % {"t": output.title},
        body=_("%(org)s 报送，请决定是否采用。") % {"org": source},
        dedupe_key=f"referral:{output.pk}:{parent.pk}:{output.audit_seq}",
    )


def _decide(output: Output, actor: User, adopted: bool, level: str, note: str) -> Adoption:
    adoption = Adoption.objects.create(
        output=output,
        organisation_id=output.with_organisation_id,
        adopted=adopted,
        level=level,
        note=note,
        decided_by=actor,
    )
    output.status = OutputStatus.ADOPTED if adopted else OutputStatus.NOT_ADOPTED
    output.save(update_fields=["status"])
    return adoption


def adopt(*, output: Output, actor: User, level: str, note: str = "") -> Changes:
    """The receiving organisation adopts the report, at a level (its own, or the party committee
    and government it passed it to)."""
    adoption = _decide(output, actor, True, level, note)
    return {
        "status": [OutputStatus.SENT_UP, OutputStatus.ADOPTED],
        "adoption": adoption.pk,
        "organisation": adoption.organisation_id,
        "level": level,
        "note": note,
    }


def not_adopt(*, output: Output, actor: User, note: str = "") -> Changes:
    adoption = _decide(output, actor, False, "", note)
    return {
        "status": [OutputStatus.SENT_UP, OutputStatus.NOT_ADOPTED],
        "adoption": adoption.pk,
        "organisation": adoption.organisation_id,
        "note": note,
    }


def first_decision(output: Output) -> bool:
    """The decision just recorded is the first up the tree (the one the cases wait for)."""
    return output.adoptions.count() == 1


def instruct(*, output: Output, actor: User, leader: str, rank: str, text: str, given_on: date) -> Changes:
    """Record a leader's instruction (批示) on the report, by the staff who hold it now."""
    if given_on > timezone.localdate():
        raise _bad("given_on", _("批示日期不能晚于今天。"), "given_on_in_future")
    row = Instruction.objects.create(
        output=output, leader=leader, rank=rank, text=text, given_on=given_on, recorded_by=actor
    )
    return {"instruction": row.pk, "leader": leader, "rank": rank, "given_on": given_on.isoformat()}


# What the gathered cases are told -----------------------------------------------------------------


def used_words(output: Output) -> str:
    return _("社情民意信息已编报：%(n)s。") % {"n": output.number}


def not_used_words(output: Output) -> str:
    said = _("社情民意信息未采用。")
    return f"{said}{output.decision_note}" if output.decision_note else said


def sent_up_words(output: Output) -> str:
    return _("社情民意信息已报送%(o)s。") % {"o": holder(output)}


def decision_words(output: Output) -> str:
    adoption = output.adoptions.select_related("organisation").order_by("-id").first()
    assert adoption is not None
    if adoption.adopted:
        return _("社情民意信息被%(o)s采用（%(l)s）。") % {
            "o": adoption.organisation,
            "l": AdoptionLevel(adoption.level).label,
        }
    return _("%(o)s未采用该社情民意信息。") % {"o": adoption.organisation}


def instruction_words(output: Output) -> str:
    row = output.instructions.order_by("-id").first()
    assert row is not None
    return _("%(leader)s（%(rank)s）%(day)s批示：%(text)s") % {
        "leader": row.leader,
        "rank": InstructionRank(row.rank).label,
        "day": row.given_on.isoformat(),
        "text": row.text,
    }
