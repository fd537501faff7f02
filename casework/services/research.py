"""The research report (调研报告) lifecycle's effects: the committee's staff submit it, the
organisation's leadership approve it or return it with a reason (the staff edit it and submit
it again), and the approved report is transmitted, numbered per organisation and year. Private
to the workflow layer (`workflows/output_lifecycle.py`)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from casework.choices import OutputStatus
from casework.errors import InvalidInput
from casework.models import Output, User
from casework.services import numbering

Changes = dict[str, Any]


def submit(*, output: Output, actor: User) -> Changes:
    """Submit the draft (or the report returned for changes) for the leadership's approval."""
    if not output.text_length:
        raise InvalidInput(_("调研报告还没有正文，请先填写。"), code="empty_text", details={"field": "body"})
    left = output.status
    output.status = OutputStatus.SUBMITTED
    output.submitted_at = timezone.now()
    output.submitted_by = actor
    output.save(update_fields=["status", "submitted_at", "submitted_by"])
    return {"status": [left, OutputStatus.SUBMITTED], "length": output.text_length}


def _decided(output: Output, status: str, note: str, *fields: str) -> None:
    output.status = status
    output.decided_at = timezone.now()
    output.decision_note = note
    output.save(update_fields=["status", "decided_at", "decision_note", *fields])


def approve(*, output: Output, actor: User, note: str = "") -> Changes:
    _decided(output, OutputStatus.APPROVED, note)
    return {"status": [OutputStatus.SUBMITTED, OutputStatus.APPROVED], "note": note}


def send_back(*, output: Output, actor: User, reason: str) -> Changes:
    """Return the report to the staff for changes, with the reason."""
    _decided(output, OutputStatus.RETURNED, reason)
    return {"status": [OutputStatus.SUBMITTED, OutputStatus.RETURNED], "reason": reason}


def transmit(*, output: Output, actor: User, note: str = "") -> Changes:
    """Transmit the approved report (to the party committee and government, the departments
    concerned): it is numbered in the organisation's series of the year."""
    year = timezone.localdate().year
    output.series = numbering.research_series(output.organisation_id, year)
    output.number_seq = numbering.take(output.series)
    output.number = numbering.research_number(year, output.number_seq)
    _decided(output, OutputStatus.TRANSMITTED, note, "series", "number_seq", "number")
    return {"status": [OutputStatus.APPROVED, OutputStatus.TRANSMITTED], "number": output.number, "note": note}


def returned_words(output: Output) -> str:
    return _("调研报告退回修改：%(r)s") % {"r": output.decision_note}


def transmitted_words(output: Output) -> str:
    said = _("调研报告已报送（%(n)s）。") % {"n": output.number}
    return f"{said}{output.decision_note}" if output.decision_note else said
