"""Rosters (seed §2): each member keeps in touch with 3 to 5 people of their sector, a contact is
not shared by two members of a sector, and the sector's convener manages the roster."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from casework import access
from casework.choices import AuditAction, Role
from casework.errors import InvalidInput, NotFound, PermissionDenied
from casework.models import Contact, Member, RosterEntry, User
from casework.services.audit import SYSTEM_STREAM, audit_record

ROSTER_MIN = 3
ROSTER_MAX = 5


def _require_roster_manager(actor: User, member: Member) -> None:
    """The convener of the member's sector manages the member's roster, and the system
    administrators, who set up accounts and reference data. Nobody else: a roster names the
    constituents a member keeps in touch with (personal information), and holding a staff role
    of some committee says nothing about a sector."""
    is_convener = member.sector.conveners.filter(user=actor).exists()
    if not (is_convener or Role.SYSADMIN in access.roles_of(actor)):
        raise PermissionDenied(_("只有界别召集人可以调整联系名单。"), code="not_convener")


def roster_link(*, actor: User, member_id: int, contact_id: int, source_ip: str | None = None) -> RosterEntry:
    """Put a contact on a member's roster. At most ROSTER_MAX per member (checked under the
    member's row lock, so two links at once cannot both pass); one member per contact and sector
    (a unique constraint, so it holds whatever path writes the row)."""
    with transaction.atomic():
        member = (
            Member.objects.select_for_update(of=("self",))
            .select_related("sector")
            .filter(pk=member_id, organisation_id=access.organisation_id_of(actor))
            .first()
        )
        contact = Contact.objects.filter(pk=contact_id, organisation_id=access.organisation_id_of(actor)).first()
        if member is None or contact is None:
            raise NotFound(_("委员或界别群众不存在。"), code="roster_not_found")
        _require_roster_manager(actor, member)
        if contact.sector_id != member.sector_id:
            raise InvalidInput(_("只能联系本界别的群众。"), code="other_sector", details={"field": "contact"})
        if RosterEntry.objects.filter(member=member).count() >= ROSTER_MAX:
            raise InvalidInput(
                _("每名委员最多联系 %(n)d 名界别群众。") % {"n": ROSTER_MAX},
                code="roster_full",
                details={"field": "member"},
            )
        try:
            with transaction.atomic():
                entry = RosterEntry.objects.create(
                    organisation_id=member.organisation_id,
                    sector_id=member.sector_id,
                    member=member,
                    contact=contact,
                    approved_by=actor,
                )
        except IntegrityError:
            raise InvalidInput(
                _("该群众已由本界别其他委员联系（界别联系群众一般不重复）。"),
                code="contact_taken",
                details={"field": "contact"},
            ) from None
        audit_record(
            stream=SYSTEM_STREAM,
            actor=actor,
            action=AuditAction.ROSTER_LINKED,
            target_type="member",
            target_id=member.pk,
            organisation_id=member.organisation_id,
            changes={"contact": contact.pk},
            source_ip=source_ip,
        )
        return entry


def members_below_minimum(organisation_id: int) -> list[tuple[Member, int]]:
    """Members keeping fewer than ROSTER_MIN contacts: a compliance finding, not an error (a new
    member starts with none)."""
    from django.db.models import Count

    rows = (
        Member.objects.filter(organisation_id=organisation_id)
        .annotate(n=Count("roster"))
        .filter(n__lt=ROSTER_MIN)
        .order_by("id")
    )
    return [(m, m.n) for m in rows]
