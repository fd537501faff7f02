"""The reference rows of the benchmark data set (organisations, committees, categories, townships,
reasons, sectors, members with their rosters, staff, heads, leaders, tokens), written through the
ORM; answers what the bulk phase needs of them as plain data."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

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

PASSWORD = "Pass-word-123"

ORGS = [
    ("政协台州市委员会", "台州市政协", OrgLevel.CITY, 0.10),
    ("政协台州市黄岩区委员会", "黄岩区政协", OrgLevel.DISTRICT, 0.70),  # the benchmark organisation
    ("政协台州市椒江区委员会", "椒江区政协", OrgLevel.DISTRICT, 0.10),
    ("政协台州市路桥区委员会", "路桥区政协", OrgLevel.DISTRICT, 0.10),
]
BENCH_ORG = 1
COMMITTEES = {
    # name, share of the organisation's cases; the first one is the default intake committee.
    "big": [
        ("社会和法制委员会", 0.50),
        ("经济委员会", 0.15),
        ("农业和农村委员会", 0.12),
        ("教科卫体委员会", 0.10),
        ("文化文史和学习委员会", 0.08),
        ("人口资源环境委员会", 0.05),
    ],
    "small": [("社会和法制委员会", 0.50), ("经济委员会", 0.30), ("提案委员会", 0.20)],
}
CATEGORIES = [
    "交通出行",
    "城市管理",
    "教育",
    "医疗卫生",
    "养老服务",
    "环境保护",
    "农业农村",
    "就业创业",
    "住房保障",
    "食品安全",
    "基础设施",
    "文化体育",
]
TOWNSHIPS = [
    "南城街道",
    "北城街道",
    "东城街道",
    "西城街道",
    "新前街道",
    "江口街道",
    "澄江街道",
    "高桥街道",
    "院桥镇",
    "沙埠镇",
    "头陀镇",
    "宁溪镇",
]
SECTORS = ["教育界", "医药卫生界", "经济界", "农业界", "科技界", "文化艺术界", "社会福利和社会保障界", "工商联界"]
REASONS = ["属个人诉求，不宜转化", "已通过其他渠道解决", "内容不具体，无法核实"]


def load_reference(n_cases: int, rng: random.Random) -> dict:
    """Organisations, committees, categories, townships, reasons, sectors, members with roster
    contacts, staff and leadership users, all with tokens. Returns what the bulk phase needs."""
    password = make_password(PASSWORD)
    groups = {g.name: g.pk for g in Group.objects.all()}
    n_members_total = max(40, min(3000, n_cases // 300))
    ref: dict = {"orgs": []}
    users: list[User] = []
    user_groups: list[tuple[int, str]] = []
    counter = {"n": 0}

    def user(org: Organisation, role: str, name: str, prefix: str) -> User:
        counter["n"] += 1
        u = User(
            username=f"{prefix}{counter['n']}",
            password=password,
            organisation=org,
            display_name=name,
            date_joined=datetime.now(UTC),
        )
        users.append(u)
        user_groups.append((counter["n"], role))
        return u

    with transaction.atomic():
        orgs = []
        for name, short, level, _share in ORGS:
            orgs.append(
                Organisation.objects.create(name=name, short_name=short, level=level, parent=orgs[0] if orgs else None)
            )
        for i, org in enumerate(orgs):
            big = i == BENCH_ORG
            committees = [
                Committee.objects.create(organisation=org, name=name, is_default_intake=(j == 0))
                for j, (name, _share) in enumerate(COMMITTEES["big" if big else "small"])
            ]
            shares = [share for _n, share in COMMITTEES["big" if big else "small"]]
            categories = [
                CaseCategory.objects.create(organisation=org, name=name, committee=committees[k % len(committees)])
                for k, name in enumerate(CATEGORIES)
            ]
            townships = [Township.objects.create(organisation=org, name=name) for name in TOWNSHIPS]
            reasons = [RejectReason.objects.create(organisation=org, text=text) for text in REASONS]
            sectors = [Sector.objects.create(organisation=org, name=name) for name in SECTORS]
            ref["orgs"].append(
                {
                    "org": org,
                    "share": ORGS[i][3],
                    "committees": committees,
                    "committee_shares": shares,
                    "categories": categories,
                    "townships": townships,
                    "reasons": reasons,
                    "sectors": sectors,
                }
            )

        # Users: members, staff per committee (and a head), a leader per organisation.
        plans = []
        for i, o in enumerate(ref["orgs"]):
            org = o["org"]
            n_members = max(10, int(n_members_total * o["share"]))
            o["member_users"] = [user(org, Role.MEMBER, f"委员{k + 1}", f"o{org.pk}m") for k in range(n_members)]
            o["staff"] = {}
            for c in o["committees"]:
                n_staff = 8 if (i == BENCH_ORG and c.is_default_intake) else 4
                o["staff"][c.pk] = [
                    user(org, Role.COMMITTEE_STAFF, f"{c.name}干事{k + 1}", f"c{c.pk}s") for k in range(n_staff)
                ]
                o.setdefault("heads", {})[c.pk] = user(org, Role.COMMITTEE_HEAD, f"{c.name}主任", f"c{c.pk}h")
            o["leader"] = user(org, Role.LEADERSHIP, "主席", f"o{org.pk}l")
            plans.append(o)
        User.objects.bulk_create(users, batch_size=2000)  # PostgreSQL returns the ids
        through = User.groups.through
        through.objects.bulk_create(
            [through(user_id=users[n - 1].pk, group_id=groups[role]) for n, role in user_groups], batch_size=5000
        )

        staff_through = Committee.staff.through
        links = []
        for o in plans:
            for c in o["committees"]:
                for s in o["staff"][c.pk]:
                    links.append(staff_through(committee_id=c.pk, user_id=s.pk))
                c.head = o["heads"][c.pk]
                c.save(update_fields=["head"])
        staff_through.objects.bulk_create(links)

        # Members, each with 3-5 contacts on their roster (a contact is on one member's roster).
        members = []
        for o in plans:
            for k, u in enumerate(o["member_users"]):
                members.append(
                    Member(
                        organisation=o["org"], user=u, name=u.display_name, sector=o["sectors"][k % len(o["sectors"])]
                    )
                )
        Member.objects.bulk_create(members, batch_size=2000)
        member_by_user = {m.user_id: m.pk for m in members}
        contacts, owners = [], []
        for m in members:
            for k in range(rng.randint(3, 5)):
                contacts.append(
                    Contact(
                        organisation_id=m.organisation_id,
                        sector_id=m.sector_id,
                        name=f"{m.name}-群众{k + 1}",
                        phone=f"138{rng.randint(0, 99999999):08d}",
                    )
                )
                owners.append(m)
        Contact.objects.bulk_create(contacts, batch_size=5000)
        roster = []
        roster_of: dict[int, list[int]] = {}
        for contact, m in zip(contacts, owners, strict=False):
            roster.append(
                RosterEntry(
                    organisation_id=m.organisation_id, sector_id=m.sector_id, member_id=m.pk, contact_id=contact.pk
                )
            )
            roster_of.setdefault(m.pk, []).append(contact.pk)
        RosterEntry.objects.bulk_create(roster, batch_size=5000)
        contact_rows = contacts

    # Plain data for the workers (picklable, no model instances).
    plain = []
    for o in plans:
        cats = [(c.pk, c.committee_id) for c in o["categories"]]
        cats_by_committee: dict[int, list[int]] = {}
        for cid, com in cats:
            cats_by_committee.setdefault(com, []).append(cid)
        plain.append(
            {
                "org_id": o["org"].pk,
                "share": o["share"],
                "committees": [c.pk for c in o["committees"]],
                "committee_shares": o["committee_shares"],
                "cats_by_committee": cats_by_committee,
                "townships": [t.pk for t in o["townships"]],
                "reasons": [(r.pk, r.text) for r in o["reasons"]],
                "staff": {c: [s.pk for s in ss] for c, ss in o["staff"].items()},
                "members": [
                    (member_by_user[u.pk], u.pk, roster_of.get(member_by_user[u.pk], [])) for u in o["member_users"]
                ],
            }
        )
    return {"orgs": plain, "users": len(users), "members": len(members), "contacts": len(contact_rows)}
