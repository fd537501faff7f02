"""Factories and named personas for the tests."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.choices import OrgLevel, Role
from casework.models import (
    ApiToken,
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
from casework.otp import asks_otp

_seq = itertools.count(1)
# Django's own force_login, before the tests' fixture makes it verify the second factor too.
Client_force_login = Client.force_login
# The clear keys of the tokens the factories issued (the database keeps only digests), by user.
_KEYS: dict[int, str] = {}


def give_token(user: User) -> str:
    """A new API token for `user` (replacing theirs, unaudited, as a fixture): its key."""
    _token, key = ApiToken.replace(user)
    _KEYS[user.pk] = key
    return key


def token_key(user: User) -> str:
    """The key of `user`'s live token: the one the factories gave them, or a new one if that was
    revoked, replaced or never given."""
    key = _KEYS.get(user.pk)
    if key is None or not ApiToken.objects.filter(user=user, digest=ApiToken.digest_of(key)).exists():
        key = give_token(user)
    return key


def make_user(org: Organisation | None, role: str, name: str | None = None) -> User:
    n = next(_seq)
    user = User.objects.create_user(
        username=f"{role}{n}", password="Pass-word-123", organisation=org, display_name=name or f"{role}{n}"
    )
    # get_or_create: a transactional test flushes the groups the migration made.
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    give_token(user)
    return user


def enrol_otp(user: User) -> TOTPDevice:
    """The user's confirmed TOTP device, enrolled if they have none (tests compute codes from it:
    `otp_code`)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return device


def otp_code(device: TOTPDevice, *, step: int = 0) -> str:
    """The code the user's authenticator shows now (or `step` periods later)."""
    key = device.bin_key
    totp = TOTP(key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + step * device.step
    return f"{totp.token():0{device.digits}d}"


def login_verified(client: Any, user: User) -> None:
    """Sign `client` in as `user` with the second factor verified, as after the code step (the
    user's device enrolled if need be). The tests' `force_login` does this for every user who
    signs in with a code, so pages and the admin open as they would after a full sign-in."""
    Client_force_login(client, user)
    if user.is_staff or asks_otp(user):
        device = enrol_otp(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


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
