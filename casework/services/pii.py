"""Personal data: re-sealing under the newest key (rotation), the audited reveal, and the
anonymising of contacts whose retention has run out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from casework import access
from casework.choices import AuditAction, CaseStatus
from casework.errors import NotFound
from casework.models import Case, Contact, RosterEntry, User
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


# Retention ---------------------------------------------------------------------------------------

ANONYMOUS_NAME = "已匿名"
CLOSED_STATUSES = (CaseStatus.CLOSED, CaseStatus.MERGED)


def purge_due(today: date | None = None) -> QuerySet[Contact]:
    """The contacts whose retention has run out: past their own retention date, or, with none,
    MINQING_CONTACT_RETENTION_DAYS after the last concern they raised (their registration if
    none). Never one on a case still being worked: their member may still have to answer them."""
    today = today or timezone.localdate()
    cutoff = datetime.combine(today - timedelta(days=settings.CONTACT_RETENTION_DAYS), time.min)
    cutoff = timezone.make_aware(cutoff, timezone.get_current_timezone())
    their_cases = Case.objects.filter(contacts=OuterRef("pk"))
    last = Subquery(their_cases.order_by("-created_at").values("created_at")[:1])
    return (
        Contact.objects.filter(anonymised_at__isnull=True)
        .annotate(last_activity=Coalesce(last, F("created_at")))
        .filter(Q(retain_until__lt=today) | Q(retain_until__isnull=True, last_activity__lt=cutoff))
        .exclude(Exists(their_cases.exclude(status__in=CLOSED_STATUSES)))
    )


def purge_contacts(
    *,
    today: date | None = None,
    dry_run: bool = False,
    batch_size: int = 200,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Anonymise every contact whose retention has run out, answering how many. Their name and
    personal data are cleared and they leave their member's roster; their sector and their cases
    stay, so every figure counted over them (cases by sector, constituents per case) is unchanged.
    Each batch is one transaction with its rows locked and checked again under the lock (a case
    opened on a contact meanwhile keeps it), each contact audited; a run can be stopped and
    started again. `dry_run` counts and changes nothing."""
    today = today or timezone.localdate()
    if dry_run:
        return purge_due(today).count()
    done = 0
    while True:
        with transaction.atomic():
            ids = list(purge_due(today).order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            contacts = list(purge_due(today).filter(pk__in=ids).select_for_update(of=("self",)).order_by("pk"))
            now = timezone.now()
            for contact in contacts:
                own = contact.retain_until
                contact.name = ANONYMOUS_NAME
                contact.phone = contact.id_number = contact.address = contact.workplace = ""
                contact.consent_recorded_on = None
                contact.anonymised_at = now
                contact.save(
                    update_fields=[
                        "name",
                        "phone",
                        "id_number",
                        "address",
                        "workplace",
                        "consent_recorded_on",
                        "anonymised_at",
                    ]
                )
                RosterEntry.objects.filter(contact=contact).delete()
                audit_record(
                    stream=SYSTEM_STREAM,
                    actor=None,
                    action=AuditAction.CONTACT_ANONYMISED,
                    target_type="contact",
                    target_id=contact.pk,
                    organisation_id=contact.organisation_id,
                    changes={
                        "retain_until": own.isoformat() if own else None,
                        "rule": "retain_until" if own else f"{settings.CONTACT_RETENTION_DAYS} days",
                    },
                )
            done += len(contacts)  # none, if every candidate was taken back under the lock
        if progress is not None:
            progress(_("已匿名化 %(n)d 人。") % {"n": done})
    return done
