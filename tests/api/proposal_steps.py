"""Steps of a proposal's life, done through the one way in (`output_actions.perform`), for the
tests of the endpoints that read around them."""

from __future__ import annotations

from typing import Any

from casework.models import Assignment, Output, OutputSigner, User
from tests.outputs.proposal_world import ProposalWorld
from workflows import output_actions


def act(kind: str, name: str, record: int, actor: User, source_ip: str | None = None, **data: Any) -> Output:
    return output_actions.perform(kind, name, record_id=record, actor=actor, data=data, source_ip=source_ip)


def submitted(pw: ProposalWorld, source_ip: str | None = None) -> Output:
    """The world's proposal, signed by each of its signers and submitted by the staff."""
    output = pw.output
    act("output", "edit", output.pk, pw.world.staff, suggestion="增设护学岗。")
    for signer in OutputSigner.objects.filter(output=output, confirmed_at__isnull=True):
        act("signature", "confirm", signer.pk, signer.user)
    return act("output", "submit", output.pk, pw.world.staff, source_ip=source_ip)


def assigned(pw: ProposalWorld, *, co: bool = True) -> Output:
    """Submitted, filed by the office and assigned to the lead department (with the co-handler)."""
    output = submitted(pw)
    act("output", "file", output.pk, pw.office)
    co_handlers = [pw.co.pk] if co else []
    return act("output", "assign", output.pk, pw.office, handling="joint", lead=pw.lead.pk, co_handlers=co_handlers)


def assignment_of(pw: ProposalWorld, department: Any) -> Assignment:
    return Assignment.objects.get(output=pw.output, department=department)
