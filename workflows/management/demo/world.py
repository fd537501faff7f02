"""The demo committee's world: the organisations, term and sessions, townships and the places in
them, committees and their staff, every role's account, members with the constituents on their
rosters, and their engagements. Names and places come from the data file; who and where are
drawn from the seed's random generator, in a fixed order, so the world is the same every time."""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from casework.choices import EngagementMethod, EngagementPurpose, OrgLevel, Role, ServiceKind
from casework.models import (
    CaseCategory,
    Committee,
    Contact,
    Department,
    Engagement,
    Member,
    Organisation,
    OutputReason,
    RejectReason,
    RosterEntry,
    Sector,
    ServiceRecord,
    Session,
    Term,
    Township,
    User,
)

from .data import Demo

Say = Callable[[str], None]


def password() -> str:
    """Random, 14 characters, every class of character (等保 password complexity)."""
    alphabet = string.ascii_letters + string.digits + "-_.@#%"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(14))
        if (
            any(c.islower() for c in pw)
            and any(c.isupper() for c in pw)
            and any(c.isdigit() for c in pw)
            and any(c in "-_.@#%" for c in pw)
        ):
            return pw


def fill(template: str, place: dict[str, str]) -> str:
    return template.format_map(place)


class Accounts:
    """Every account the seed makes, with its one-time password. Hashing is slow on purpose
    (PBKDF2): it runs on a pool of threads while the seed goes on, and is stored at the end."""

    def __init__(self, hasher: ThreadPoolExecutor, superuser_role: str) -> None:
        self.hasher = hasher
        self.superuser_role = superuser_role
        self.groups = {role: Group.objects.get(name=role) for role in Role.values}
        self.credentials: list[tuple[str, User, str]] = []  # (role label, user, password)
        self.hashes: dict[int, Future[str]] = {}

    @staticmethod
    def _free_username(username: str) -> str:
        """An account someone made by hand before the first seed keeps its name; ours gets another."""
        candidate, n = username, 1
        while User.objects.filter(username=candidate).exists():
            candidate, n = f"{username}_demo{n if n > 1 else ''}", n + 1
        return candidate

    def user(self, org: Organisation, role: str, username: str, name: str, **extra: Any) -> User:
        user = User(username=self._free_username(username), display_name=name, organisation=org, **extra)
        user.set_unusable_password()
        user.save()
        if role:
            user.groups.add(self.groups[role])
        secret = password()
        self.hashes[user.pk] = self.hasher.submit(make_password, secret)
        self.credentials.append((str(Role(role).label) if role else self.superuser_role, user, secret))
        return user

    def also(self, user: User, role: str) -> None:
        """A second role for the account made last (a member who convenes their sector)."""
        user.groups.add(self.groups[role])
        label, made, secret = self.credentials[-1]
        assert made == user
        self.credentials[-1] = (f"{label}/{Role(role).label}", user, secret)

    def store(self) -> int:
        users = []
        for _role, user, _pw in self.credentials:
            user.password = self.hashes[user.pk].result()
            users.append(user)
        User.objects.bulk_update(users, ["password"], batch_size=200)
        return len(users)


@dataclass
class World:
    """What the planner and the runner need of the world."""

    org: Organisation
    city: Organisation
    term: Term
    townships: dict[str, Township]
    departments: dict[str, Department]
    reasons: list[RejectReason]
    committees: dict[str, Committee]
    default_committee: Committee
    categories: dict[str, CaseCategory]
    sectors: dict[str, Sector]
    places: dict[str, dict[str, list[str]]]
    staff: dict[str, list[User]] = field(default_factory=dict)
    staff_by_committee: dict[int, list[User]] = field(default_factory=dict)
    members: list[Member] = field(default_factory=list)
    sector_prefs: dict[int, tuple[str, ...]] = field(default_factory=dict)
    rosters: dict[int, list[int]] = field(default_factory=dict)
    # Proposals: the proposal office's reasons not to file one, the leaders who supervise key
    # proposals, and each department's liaison (only departments with one handle proposals).
    output_reasons: list[OutputReason] = field(default_factory=list)
    leaders: list[User] = field(default_factory=list)
    liaisons: dict[str, User] = field(default_factory=dict)

    def committee_of(self, category: str) -> int:
        return self.categories[category].committee_id or self.default_committee.pk


class Builder:
    def __init__(self, demo: Demo, rng: random.Random, accounts: Accounts, say: Say) -> None:
        self.d = demo
        self.rng = rng
        self.accounts = accounts
        self.say = say

    def place(self, w: World, town: str) -> dict[str, str]:
        """The places of one case in `town`: one of each kind, drawn."""
        place = {key: self.rng.choice(values) for key, values in w.places[town].items()}
        place["town"] = town
        return place

    # Organisations and reference data ---------------------------------------------------------

    def world(self) -> World:
        d, orgs = self.d, self.d.organisations
        self.say("创建政协组织、届次和会次…")
        province, _ = Organisation.objects.get_or_create(
            name=orgs["province"], defaults={"short_name": orgs["province_short"], "level": OrgLevel.PROVINCE}
        )
        city, _ = Organisation.objects.get_or_create(
            name=orgs["city"], defaults={"short_name": orgs["city_short"], "level": OrgLevel.CITY, "parent": province}
        )
        org = Organisation.objects.create(
            name=orgs["district"], short_name=orgs["district_short"], level=OrgLevel.DISTRICT, parent=city
        )
        term = Term.objects.create(organisation=org, **d.term)
        for number, name, opens in d.sessions:
            Session.objects.create(term=term, number=number, name=name, opens_on=opens)
        self.say(
            f"创建乡镇街道 {len(d.townships)} 个、承办单位 {len(d.departments)} 个、"
            f"不予受理理由 {len(d.reject_reasons)} 条…"
        )
        townships = {name: Township.objects.create(organisation=org, name=name) for name in d.townships}
        departments = {x["code"]: Department.objects.create(organisation=org, name=x["name"]) for x in d.departments}
        reasons = [
            RejectReason.objects.create(organisation=org, text=text, is_active=active)
            for text, active in d.reject_reasons
        ]
        self.say(f"创建专门委员会 {len(d.committees)} 个、案件类别 {len(d.categories)} 个…")
        committees = {
            c["code"]: Committee.objects.create(
                organisation=org, name=c["name"], is_default_intake=c.get("default_intake", False)
            )
            for c in d.committees
        }
        by_name = {c.name: c for c in committees.values()}
        categories = {
            name: CaseCategory.objects.create(organisation=org, name=name, committee=by_name.get(committee or ""))
            for name, committee in d.categories
        }
        sectors = {s.name: Sector.objects.create(organisation=org, name=s.name) for s in d.sectors}
        output_reasons = [
            OutputReason.objects.create(organisation=org, text=text)
            for text in d.outputs["proposal"]["not_file_reasons"]
        ]
        return World(
            org=org,
            city=city,
            term=term,
            townships=townships,
            departments=departments,
            reasons=reasons,
            committees=committees,
            default_committee=by_name[d.default_intake],
            categories=categories,
            sectors=sectors,
            places={town: self._places(town) for town in d.townships},
            output_reasons=output_reasons,
        )

    def _places(self, town: str) -> dict[str, list[str]]:
        """Villages, communities, schools, rivers and roads of a township. Invented, plausible."""
        p, groups = self.d.places, self.d.groups
        short = town
        for suffix in p["suffixes"]:
            short = short.removesuffix(suffix)
        villages: set[str] = set()
        while len(villages) < 4:
            villages.add(
                self.rng.choice(p["village_first"]) + self.rng.choice(p["village_second"]) + p["village_suffix"]
            )
        communities = [c + p["community_suffix"] for c in self.rng.sample(p["communities"], 3)]
        at = {"tshort": short}
        return {
            "tshort": [short],
            "village": sorted(villages),
            "community": communities if town in groups["urban"] else [fill(p["rural_community"], at)],
            "school": [fill(s, at) for s in p["schools"]],
            "river": [fill(p["mountain_river"], at)] if town in groups["mountain"] else self.rng.sample(p["rivers"], 2),
            "road": [*self.rng.sample(p["roads"], 2), fill(p["town_road"], at)],
        }

    # People -----------------------------------------------------------------------------------

    def _names(self) -> Iterator[str]:
        people = self.d.people
        famous = set(people["famous"])
        seen: set[str] = set()
        while True:
            given = self.rng.choice(people["given"]) + (
                self.rng.choice(people["given"]) if self.rng.random() < 0.8 else ""
            )
            name = self.rng.choice(people["surnames"]) + given
            if name not in seen and name not in famous and len(set(name)) == len(name):
                seen.add(name)
                yield name

    def _phone(self) -> str:
        return "1" + self.rng.choice("35789") + "".join(self.rng.choice(string.digits) for _ in range(9))

    @staticmethod
    def _identity(name: str, town: str) -> tuple[str, str]:
        """A made-up ID number (a Huangyan birthplace code and a valid check digit) and home
        address for a constituent, drawn from their name: the seed's generator is not used, so
        the rest of the world is what it was before contacts had these."""
        rng = random.Random(f"identity:{name}")
        born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 50))
        body = f"331003{born:%Y%m%d}{rng.randint(0, 999):03d}"
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
        address = f"浙江省台州市黄岩区{town}{rng.choice('东南西北中')}街 {rng.randint(1, 300)} 号"
        return body + check, address

    def people(self, w: World) -> None:
        d, user, org = self.d, self.accounts.user, w.org
        names = self._names()
        self.say("创建管理员和各角色账号…")
        user(org, "", "admin", d.people["superuser"], is_superuser=True, is_staff=True)
        for c in d.committees:
            code, committee = c["code"], w.committees[c["code"]]
            committee.head = user(org, Role.COMMITTEE_HEAD, f"{code}_head", next(names))
            committee.save(update_fields=["head"])
            role = c.get("staff_role", Role.COMMITTEE_STAFF)
            staff = [user(org, role, f"{code}_staff{i}", next(names)) for i in range(1, c["staff"] + 1)]
            committee.staff.add(*staff)
            w.staff[code] = staff
        w.staff_by_committee = {w.committees[code].pk: users for code, users in w.staff.items()}
        for dept in d.departments:
            if dept.get("liaison"):
                code = dept["code"]
                w.liaisons[code] = user(
                    org, Role.DEPARTMENT_LIAISON, f"dept_{code}", next(names), department=w.departments[code]
                )
        w.leaders = [user(org, Role.LEADERSHIP, f"leader{i}", next(names)) for i in (1, 2)]
        user(org, Role.AUDITOR, "auditor", next(names))
        user(org, Role.SECURITY_ADMIN, "secadmin", next(names))
        user(org, Role.SYSADMIN, "sysadmin", next(names))
        # The city: its own committee and one staff user, to see organisation scoping.
        city_committee, _ = Committee.objects.get_or_create(organisation=w.city, name=d.organisations["city_committee"])
        city_committee.staff.add(user(w.city, Role.COMMITTEE_STAFF, "tz_staff1", next(names)))

        per_sector = d.people["members_per_sector"]
        self.say(f"创建委员 {per_sector * len(d.sectors)} 名及其联系的界别群众…")
        n = contacts_total = 0
        for s in d.sectors:
            sector = w.sectors[s.name]
            conveners: list[Member] = []
            for i in range(per_sector):
                n += 1
                name = next(names)
                member_user = user(org, Role.MEMBER, f"member{n:03d}", name)
                member = Member.objects.create(
                    organisation=org, user=member_user, name=name, sector=sector, term=w.term
                )
                w.members.append(member)
                w.sector_prefs[member.pk] = s.categories
                if i < s.conveners:
                    self.accounts.also(member_user, Role.CONVENER)
                    conveners.append(member)
            sector.conveners.add(*conveners)
            approver = conveners[0].user
            assert approver is not None
            for member in sector.members.order_by("id"):
                count = self.rng.choice((3, 3, 4, 4, 4, 5, 5))
                w.rosters[member.pk] = [
                    self._contact(w, s.workplaces, sector, member, approver, names) for _ in range(count)
                ]
                contacts_total += count
        self.say(f"  界别 {len(d.sectors)} 个，界别群众 {contacts_total} 名，每名委员联系 3–5 名")

    def _contact(
        self,
        w: World,
        workplaces: tuple[str, ...],
        sector: Sector,
        member: Member,
        approver: User,
        names: Iterator[str],
    ) -> int:
        town = self.rng.choice(self.d.townships)
        workplace = fill(self.rng.choice(workplaces), self.place(w, town))
        consented = self.d.people["consent_from"] + timedelta(days=self.rng.randint(0, self.d.people["consent_days"]))
        name, phone = next(names), self._phone()
        id_number, address = self._identity(name, town)
        contact = Contact.objects.create(
            organisation=w.org,
            sector=sector,
            name=name,
            phone=phone,
            id_number=id_number,
            address=address,
            workplace=workplace,
            consent_recorded_on=consented,
        )
        RosterEntry.objects.create(
            organisation=w.org, sector=sector, member=member, contact=contact, approved_by=approver
        )
        return contact.pk

    # Engagements and services -----------------------------------------------------------------

    def engagements(self, w: World, today: date) -> None:
        self.say("创建联系活动和实事服务记录…")
        rng, channels, notes = self.rng, self.d.engagements["channels"], self.d.engagements["notes"]
        methods = list(EngagementMethod.values)
        purposes = list(EngagementPurpose.values)
        engagements: list[Engagement] = []
        links: list[list[int]] = []
        for member in w.members:
            contacts = w.rosters[member.pk]
            diligent = rng.random() < 0.85  # most visit every constituent at least once a year
            plan: list[tuple[str, list[int]]] = (
                [(EngagementMethod.VISIT, [cid]) for cid in contacts] if diligent else []
            )
            for _ in range(rng.randint(2, 6)):
                method = rng.choice(methods)
                plan.append((method, rng.sample(contacts, rng.randint(1, min(3, len(contacts))))))
            for method, cids in plan:
                engagements.append(
                    Engagement(
                        organisation=w.org,
                        member=member,
                        occurred_on=today - timedelta(days=rng.randint(1, 320)),
                        method=method,
                        channel=rng.choice(channels[method]),
                        purposes=sorted(rng.sample(purposes, rng.randint(1, 3)), key=purposes.index),
                        notes=rng.choice(notes[method]),
                    )
                )
                links.append(cids)
        Engagement.objects.bulk_create(engagements)
        through = Engagement.contacts.through
        through.objects.bulk_create(
            [
                through(engagement_id=e.pk, contact_id=cid)
                for e, cids in zip(engagements, links, strict=True)
                for cid in cids
            ]
        )
        services = self._services(w, engagements, today)
        ServiceRecord.objects.bulk_create(services)
        self.say(f"  联系活动 {len(engagements)} 次，实事服务 {len(services)} 次")

    def _services(self, w: World, engagements: list[Engagement], today: date) -> list[ServiceRecord]:
        rng, notes = self.rng, self.d.services["notes"]
        by_member: dict[int, list[Engagement]] = {}
        for e in engagements:
            if e.method == EngagementMethod.SERVICE:
                by_member.setdefault(e.member_id, []).append(e)
        services = []
        for member in w.members:
            for _ in range(rng.randint(0, 3)):
                kind = rng.choice(ServiceKind.values)
                linked = rng.choice(by_member[member.pk]) if member.pk in by_member and rng.random() < 0.5 else None
                town = rng.choice(self.d.townships)
                services.append(
                    ServiceRecord(
                        organisation=w.org,
                        member=member,
                        engagement=linked,
                        kind=kind,
                        occurred_on=linked.occurred_on if linked else today - timedelta(days=rng.randint(1, 320)),
                        people_served=rng.randint(5, 120),
                        notes=fill(self.d.services["note"], {"town": town, "service": notes[kind]}),
                    )
                )
        return services
