"""Factories and named personas for the tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token

from casework.choices import OrgLevel, Role
from casework.models import (
    CaseCategory,
    Committee,
    Contact,
    Member,
    Organisation,
    RejectReason,
    RosterEntry,
    Sector,
    Township,
    User,
)

_seq = itertools.count(1)


def make_user(org: Organisation | None, role: str, name: str | None = None) -> User:
    n = next(_seq)
    user = User.objects.create_user(
        username=f"{role}{n}", password="Pass-word-123", organisation=org, display_name=name or f"{role}{n}"
    )
    # get_or_create: a transactional test flushes the groups the migration made.
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    Token.objects.create(user=user)
    return user


def make_member(org: Organisation, sector: Sector, name: str | None = None, contacts: int = 3) -> Member:
    user = make_user(org, Role.MEMBER, name)
    member = Member.objects.create(organisation=org, user=user, name=user.display_name, sector=sector)
    for i in range(contacts):
        contact = Contact.objects.create(organisation=org, sector=sector, name=f"{member.name}-群众{i + 1}")
        RosterEntry.objects.create(organisation=org, sector=sector, member=member, contact=contact)
    return member


@dataclass
class World:
    """One organisation with a committee, its staff, two members and an outsider."""

    org: Organisation
    committee: Committee
    other_committee: Committee
    category: CaseCategory
    township: Township
    reason: RejectReason
    sector: Sector
    member: Member
    other_member: Member
    staff: User
    staff2: User
    other_staff: User
    leader: User
    outsider: User  # staff of another organisation

    def contact_ids(self, member: Member | None = None) -> list[int]:
        return list((member or self.member).roster.values_list("contact_id", flat=True))


def make_world(name: str = "政协台州市黄岩区委员会") -> World:
    n = next(_seq)
    org = Organisation.objects.create(name=f"{name}{n}", short_name="黄岩区政协", level=OrgLevel.DISTRICT)
    committee = Committee.objects.create(organisation=org, name="社会和法制委员会", is_default_intake=True)
    other_committee = Committee.objects.create(organisation=org, name="经济委员会")
    category = CaseCategory.objects.create(organisation=org, name="交通出行", committee=committee)
    township = Township.objects.create(organisation=org, name="南城街道")
    reason = RejectReason.objects.create(organisation=org, text="属个人诉求，不宜转化")
    sector = Sector.objects.create(organisation=org, name="教育界")
    member = make_member(org, sector, "王委员")
    other_member = make_member(org, sector, "李委员")
    staff = make_user(org, Role.COMMITTEE_STAFF, "张干事")
    staff2 = make_user(org, Role.COMMITTEE_STAFF, "陈干事")
    committee.staff.add(staff, staff2)
    other_staff = make_user(org, Role.COMMITTEE_STAFF, "赵干事")
    other_committee.staff.add(other_staff)
    leader = make_user(org, Role.LEADERSHIP, "周主席")
    other_org = Organisation.objects.create(name=f"政协台州市委员会{n}", level=OrgLevel.CITY)
    org.parent = other_org
    org.save()
    outsider = make_user(other_org, Role.COMMITTEE_STAFF, "外单位干事")
    Committee.objects.create(organisation=other_org, name="提案委员会").staff.add(outsider)
    return World(
        org,
        committee,
        other_committee,
        category,
        township,
        reason,
        sector,
        member,
        other_member,
        staff,
        staff2,
        other_staff,
        leader,
        outsider,
    )
