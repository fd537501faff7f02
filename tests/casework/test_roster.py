"""Roster rules: 3 to 5 contacts, never one contact for two members of a sector, convener-run."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from casework.choices import Role
from casework.errors import InvalidInput, PermissionDenied
from casework.models import AuditEvent, Contact, RosterEntry, Sector
from casework.services.roster import members_below_minimum, roster_link
from tests.factories import make_member, make_user


def new_contact(world, sector=None):
    return Contact.objects.create(organisation=world.org, sector=sector or world.sector, name="新群众")


@pytest.fixture
def convener(world):
    world.sector.conveners.add(world.other_member)
    return world.other_member.user


def test_the_convener_links_up_to_five(world, convener):
    for _ in range(2):  # the member starts with 3
        roster_link(actor=convener, member_id=world.member.pk, contact_id=new_contact(world).pk)
    assert world.member.roster.count() == 5
    entries = RosterEntry.objects.count()
    events = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as err:
        roster_link(actor=convener, member_id=world.member.pk, contact_id=new_contact(world).pk)
    assert err.value.code == "roster_full"
    assert (RosterEntry.objects.count(), AuditEvent.objects.count()) == (entries, events)
    assert AuditEvent.objects.filter(action="roster.linked", actor=convener).count() == 2


def test_a_contact_is_never_on_two_rosters_of_a_sector(world, convener):
    taken = world.contact_ids(world.other_member)[0]
    with pytest.raises(InvalidInput) as err:
        roster_link(actor=convener, member_id=world.member.pk, contact_id=taken)
    assert err.value.code == "contact_taken"
    # and the database refuses it whatever path writes the row
    with pytest.raises(IntegrityError), transaction.atomic():
        RosterEntry.objects.create(organisation=world.org, sector=world.sector, member=world.member, contact_id=taken)


def test_other_sector_and_non_conveners_are_refused(world, convener):
    other = Sector.objects.create(organisation=world.org, name="经济界")
    with pytest.raises(InvalidInput) as err:
        roster_link(actor=convener, member_id=world.member.pk, contact_id=new_contact(world, other).pk)
    assert err.value.code == "other_sector"
    with pytest.raises(PermissionDenied):
        roster_link(actor=world.member.user, member_id=world.other_member.pk, contact_id=new_contact(world).pk)


def test_committee_staff_and_other_conveners_are_refused(world, convener):
    """Only the sector's convener (or a system administrator) relinks its rosters: staff of a
    committee, of the cases' or of another, once passed on their role alone, and so did a
    convener of another sector."""
    other = Sector.objects.create(organisation=world.org, name="经济界")
    other_convener = make_member(world.org, other, "经济界召集人")
    other.conveners.add(other_convener)
    entries, events = RosterEntry.objects.count(), AuditEvent.objects.count()
    for actor in (world.staff, world.other_staff, other_convener.user):
        with pytest.raises(PermissionDenied) as err:
            roster_link(actor=actor, member_id=world.member.pk, contact_id=new_contact(world).pk)
        assert err.value.code == "not_convener"
    assert (RosterEntry.objects.count(), AuditEvent.objects.count()) == (entries, events)


def test_a_system_administrator_may_link(world):
    sysadmin = make_user(world.org, Role.SYSADMIN)
    roster_link(actor=sysadmin, member_id=world.member.pk, contact_id=new_contact(world).pk)
    assert world.member.roster.count() == 4


def test_members_below_the_minimum_are_reported(world):
    newcomer = make_member(world.org, world.sector, "新委员", contacts=1)
    assert [(m.pk, n) for m, n in members_below_minimum(world.org.pk)] == [(newcomer.pk, 1)]
