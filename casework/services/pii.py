"""Personal data: re-sealing under the newest key (rotation) and the audited reveal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from casework import access
from casework.choices import AuditAction
from casework.errors import NotFound
from casework.models import Contact, User
from casework.pii import EncryptedTextField, key_id_of, keyring

from .audit import SYSTEM_STREAM, audit_record

REVEALED_FIELDS = ("phone", "id_number", "address")


def encrypted_columns() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted fields, and those fields."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


def reseal_all(*, batch_size: int = 500, progress: Callable[[str], None] | None = None) -> int:
    """Seal again, under the newest key, every value sealed under an older one; answers how many
    rows changed. Each batch is its own transaction with its rows locked, so a run can be stopped
    at any point and started again (it skips what is already under the newest key), and an edit
    made meanwhile is never overwritten with an older value."""
    current = keyring().current.id
    changed = 0
    for model, names in encrypted_columns():
        raw = {f"_raw_{name}": Cast(name, output_field=models.TextField()) for name in names}
        last = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model._default_manager.filter(pk__gt=last)
                    .order_by("pk")
                    .select_for_update()
                    .annotate(**raw)
                    .values_list("pk", *raw)[:batch_size]
                )
                if not rows:
                    break
                last = rows[-1][0]
                for pk, *stored in rows:
                    stale = [
                        name
                        for name, value in zip(names, stored, strict=True)
                        if key_id_of(value) not in (None, current)
                    ]
                    if stale:
                        obj = model._default_manager.get(pk=pk)
                        model._default_manager.filter(pk=pk).update(**{name: getattr(obj, name) for name in stale})
                        changed += 1
            if progress is not None:
                progress(f"{model._meta.label}: ≤ #{last}, {changed} re-encrypted")
    return changed


def reveal_contact(*, actor: User, contact_id: int, source_ip: str | None = None) -> dict[str, Any]:
    """The clear personal data of a contact, for those who may read it; every reveal is an audit
    event (which fields, never their values) written before the values are answered. Anyone else
    is told the contact does not exist."""
    with transaction.atomic():
        contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None or not access.may_reveal_contact(actor, contact):
            raise NotFound(_("界别群众不存在。"), code="contact_not_found")
        audit_record(
            stream=SYSTEM_STREAM,
            actor=actor,
            action=AuditAction.CONTACT_PII_REVEALED,
            target_type="contact",
            target_id=contact.pk,
            organisation_id=contact.organisation_id,
            changes={"fields": [name for name in REVEALED_FIELDS if getattr(contact, name)]},
            source_ip=source_ip,
        )
    return {"id": contact.pk, "name": contact.name, **{name: getattr(contact, name) for name in REVEALED_FIELDS}}
