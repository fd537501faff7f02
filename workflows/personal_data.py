"""Personal data through the workflow layer: the pages and the API reveal a constituent's clear
contact details here, never through the domain's services themselves."""

from __future__ import annotations

from typing import Any

from casework.models import User
from casework.services.pii import reveal_contact as _reveal


def reveal_contact(actor: User, contact_id: int, *, source_ip: str | None) -> dict[str, Any]:
    """The contact's clear phone, ID number and address, audited; NotFound for anyone who may not."""
    return _reveal(actor=actor, contact_id=contact_id, source_ip=source_ip)
