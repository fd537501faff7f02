"""Load a benchmark data set into PostgreSQL, fast and consistent with what the application writes.

Usage (from the project root)::

    psql -h 127.0.0.1 -U postgres -c 'create database minqing_bench'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_bench \\
        .venv/bin/python bench/generate.py --cases 1000000

Options: ``--cases N`` (default 1,000,000), ``--workers W`` (row producers, default the CPU
count), ``--chunk C`` (cases per chunk, default 20,000), ``--seed S``, ``--reset`` (wipe a
database that already holds data), ``--force`` (allow a database whose name lacks "bench"), ``--no-check`` (skip the
referential checks run after the load).
1,000,000 cases take about 5-6 minutes on 2 vCPUs (see bench/README.md).

What it writes, per case, is what ``workflows.actions`` writes when a case goes through the flow
(checked row by row against a small database driven through the actions): the case and its
contacts, the ``viewflow_process`` row and the ``workflows_caseprocess`` row, the viewflow task
rows with their ``flow_task`` strings and ``viewflow_task_previous`` links, the stage clocks
(running ones for open human tasks, with queue, assignee and task id; stopped or paused ones for
past stages), outputs for converted cases, and the audit events, chained per stream with keyed
digests made by ``casework.services.audit_crypto``'s own functions under the deployment's audit key
(``MINQING_AUDIT_KEY_FILE``, generated in var/ if missing), each stream's head on its case or output
row, one checkpoint per chunk recording every stream's head, and their anchors appended to the
database's anchor file, so ``verify_audit --full`` passes.

Statuses: draft, review (unclaimed, claimed, and back from needs-info), needs_info, conversion
(unclaimed, claimed), outcome, feedback (after a decision or an outcome), closed (both ways)
and merged. Open cases are recent, closed ones spread over three years. The benchmark
organisation holds 70 % of the cases and its default intake committee about half of those, so
its queue holds over a hundred thousand unclaimed tasks out of several hundred thousand spread
over the committees.

How it is fast: the reference rows (organisations, users, tokens, rosters...) go in through
the ORM; the bulk rows are made by worker processes and streamed with ``COPY ... FREEZE`` into
tables truncated in the same transaction, with foreign-key triggers off
(``session_replication_role = replica``: the rows are consistent by construction) and the
secondary indexes dropped during the load and rebuilt after it. Ids are allocated in blocks per
chunk, so they have gaps, as sequences do. Sequences are reset after the load and the tables
vacuumed and analysed.

SQLite is refused: this is a PostgreSQL benchmark.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue as queue_mod
import random
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from casework.choices import OrgLevel, Role  # noqa: E402
from casework.models import (  # noqa: E402
    AuditCheckpoint,
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
from casework.services import clocks  # noqa: E402
from casework.services.audit_anchor import anchor_line, anchor_path, database_label  # noqa: E402
from casework.services.audit_crypto import (  # noqa: E402
    ALGORITHM,
    GENESIS,
    AuditKey,
    checkpoint_message,
    event_message,
    heads_digest,
    keyring,
    mac,
    micros,
)

PASSWORD = "Pass-word-123"
RESULTS = BASE_DIR / "bench" / "results"

# How the cases are spread over the flow (percent). Paths, not only statuses: a case in
# feedback got there by a decision or by an output's outcome, and the rows differ.
MIX = [
    ("draft", 3),
    ("review", 30),  # unclaimed, in its committee's queue
    ("review_claimed", 3),
    ("review_again", 2),  # back in review after the member answered a needs-info request
    ("needs_info", 4),
    ("conversion", 6),  # unclaimed convert task, in the queue
    ("conversion_claimed", 2),
    ("outcome", 8),  # converted, waiting for the output's outcome
    ("feedback_decided", 5),  # rejected / redirected / resolved, member to report back
    ("feedback_outcome", 5),
    ("closed_decided", 12),
    ("closed_outcome", 16),
    ("merged", 4),
]
OUTPUT_PATHS = ("outcome", "feedback_outcome", "closed_outcome")

# Id blocks per case (upper bounds of rows per case), so chunks can be made in parallel.
PER_CASE = {"task": 8, "previous": 7, "clock": 3, "event": 10, "contact": 3, "output": 1, "head": 2}

FLOW_CLASS = "workflows/flows.CaseFlow"
FT = {
    name: f"{FLOW_CLASS}.{name}"
    for name in ("start", "review", "route", "provide_info", "convert", "await_outcome", "feedback", "end", "merged")
}
# flow_task_type as viewflow stores it (read from a database driven through workflows.actions).
FTT = {
    "start": "START",
    "review": "HUMAN",
    "route": "SWITCH",
    "provide_info": "HUMAN",
    "convert": "HUMAN",
    "await_outcome": "FUNCTION",
    "feedback": "HUMAN",
    "end": "END",
    "merged": "END",
}

TITLES = [
    "学校门口接送孩子交通拥堵",
    "老旧小区加装电梯推进缓慢",
    "农贸市场周边占道经营",
    "村道路灯损坏无人维修",
    "社区养老服务站点不足",
    "河道垃圾清理不及时",
    "公交线路调整后出行不便",
    "企业用工招聘困难",
    "农村饮用水水质问题",
    "小区停车位严重不足",
    "夜间施工噪音扰民",
    "菜市场食品安全监管",
    "乡村道路破损影响通行",
    "医院挂号难看病难",
    "幼儿园学位紧张",
    "工业园区污水排放",
]
DESCRIPTIONS = [
    "群众反映该问题已持续较长时间，多次向有关部门反映未见明显改善，希望政协委员帮助协调解决。",
    "经走访了解，周边居民意见较大，建议相关部门尽快研究制定解决方案并公开办理进度。",
    "该问题涉及多个部门职责，存在推诿现象，建议明确牵头单位，限期整改。",
]
NOTES = ["情况属实，建议转化为社情民意信息。", "已与有关部门沟通，问题已解决。", "", "建议由属地乡镇协调处理。"]
OUTCOMES = ["有关部门已落实整改措施。", "已列入年度民生实事项目。", "已增设护学岗，高峰时段安排交警疏导。"]
QUESTIONS = ["请补充问题发生的具体位置和时间。", "请提供相关照片或书面材料。"]
ANSWERS = ["已补充具体位置：南城街道某路口，早晚高峰。", "已上传现场照片三张。"]
OUTPUT_TYPES = ["proposal", "speech", "info_report", "research_report"]
REDIRECT_CHANNELS = ["petition", "hotline_12345", "court", "other"]
FEEDBACK_METHODS = ["visit", "phone", "message", "meeting"]
SATISFACTIONS = ["satisfied"] * 7 + ["basically"] * 2 + ["dissatisfied"]
URGENCIES = ["normal"] * 85 + ["urgent"] * 12 + ["critical"] * 3

# The bulk tables, in load order, with the columns each COPY names.
COLUMNS = {
    "casework_output": [
        "id",
        "output_type",
        "status",
        "title",
        "outcome",
        "outcome_recorded_at",
        "created_at",
        "committee_id",
        "created_by_id",
        "organisation_id",
        "session_id",
        "term_id",
        "audit_seq",  # the head of its stream: filled in when the chunk's streams are chained
        "audit_head",
    ],
    "casework_case": [
        "id",
        "title",
        "description",
        "urgency",
        "consent_to_share",
        "status",
        "decision",
        "redirect_channel",
        "decision_note",
        "info_request",
        "info_answer",
        "outcome",
        "feedback_method",
        "satisfaction",
        "feedback_note",
        "created_at",
        "updated_at",
        "submitted_at",
        "decided_at",
        "closed_at",
        "category_id",
        "committee_id",
        "created_by_id",
        "member_id",
        "merged_into_id",
        "organisation_id",
        "output_id",
        "reject_reason_id",
        "township_id",
        "audit_seq",
        "audit_head",
    ],
    "casework_case_contacts": ["id", "case_id", "contact_id"],
    "viewflow_process": ["id", "flow_class", "status", "created", "finished", "data"],
    "workflows_caseprocess": ["process_ptr_id", "case_id"],
    "viewflow_task": [
        "id",
        "flow_task",
        "flow_task_type",
        "status",
        "created",
        "started",
        "finished",
        "token",
        "owner_id",
        "process_id",
        "assigned",
        "data",
    ],
    "viewflow_task_previous": ["id", "from_task_id", "to_task_id"],
    "casework_caseclock": [
        "id",
        "stage",
        "task_id",
        "state",
        "started_at",
        "due_at",
        "paused_at",
        "paused_seconds",
        "claimed_at",
        "stopped_at",
        "is_met",
        "assignee_id",
        "case_id",
        "queue_id",
        "organisation_id",
    ],
    "casework_auditevent": [
        "id",
        "stream",
        "seq",
        "action",
        "target_type",
        "target_id",
        "occurred_at",
        "source_ip",
        "success",
        "changes",
        "algorithm",
        "key_id",
        "prev_hash",
        "hash",
        "actor_id",
        "organisation_id",
    ],
    # One checkpoint per chunk records the head of every stream of the chunk.
    "casework_auditcheckpointhead": ["id", "checkpoint_id", "stream", "seq", "digest"],
}
BULK_TABLES = list(COLUMNS) + ["casework_auditcheckpoint", "casework_auditstream"]

_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _v(value: object) -> str:
    """One value in COPY text format (the generic path; the hot rows format their own)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESC)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _t(value: datetime | None) -> str:
    return "\\N" if value is None else value.isoformat()


def _n(value: object) -> str:
    return "\\N" if value is None else str(value)


def _s(value: str) -> str:
    """Text made here is free of tabs, newlines and backslashes; escape only if not."""
    return value.translate(_ESC) if ("\\" in value or "\t" in value or "\n" in value or "\r" in value) else value


# Deadlines depend on the start's Shanghai date only: cache them per (stage, date).
_DUE_CACHE: dict = {}
_SH = timedelta(hours=8)


def due(stage: str, start: datetime) -> datetime:
    key = (stage, (start + _SH).date())
    hit = _DUE_CACHE.get(key)
    if hit is None:
        target = settings_targets[stage]
        if "working_days" in target:
            hit = clocks.add_working_days(start, int(target["working_days"]))
        else:
            hit = clocks.add_days(start, int(target["days"]))
        hit = hit.astimezone(UTC)
        _DUE_CACHE[key] = hit
    return hit


settings_targets: dict = {}


# Reference data ---------------------------------------------------------------------------------

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
        Token.objects.bulk_create([Token(key=Token.generate_key(), user_id=u.pk) for u in users], batch_size=5000)

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


# Bulk rows --------------------------------------------------------------------------------------


class Chunk:
    """The rows of one chunk of cases, as COPY text per table."""

    def __init__(self, index: int, first_case: int, n: int, ref: dict, now: datetime, seed: int):
        self.rng = random.Random(seed * 1_000_003 + index)
        self.index = index
        self.ref = ref
        self.now = now
        self.out = {t: [] for t in COLUMNS}
        base = index * CHUNK_SIZE
        self.next_id = {k: base * per + 1 for k, per in PER_CASE.items()}
        self.first_case = first_case
        self.n = n
        self.streams: list[tuple[str, str, int, int, list]] = []  # (stream, type, target, org, events)
        # Case and output rows wait for their stream's head, known once the chunk is chained.
        self.records: dict[str, str] = {}
        self.heads_digest = ""
        self.last_event = 0
        self.masters: dict[int, list] = {}  # committee -> its open review cases, to merge into
        self.counts = {k: 0 for k in MIX_NAMES}

    def nid(self, kind: str) -> int:
        value = self.next_id[kind]
        self.next_id[kind] = value + 1
        return value

    def row(self, table: str, *values: object) -> None:
        self.out[table].append("\t".join(map(_v, values)))

    def record(self, stream: str, *values: object) -> None:
        """A case or output row, kept until its stream's head is known."""
        self.records[stream] = "\t".join(map(_v, values))

    # Rows of one kind ---------------------------------------------------------------------------

    def task(
        self,
        pid: int,
        node: str,
        status: str,
        created: datetime,
        *,
        started=None,
        finished=None,
        owner=None,
        assigned=None,
        prev: int | None = None,
    ) -> int:
        tid = self.nid("task")
        self.out["viewflow_task"].append(
            f"{tid}\t{FT[node]}\t{FTT[node]}\t{status}\t{created.isoformat()}\t{_t(started)}\t{_t(finished)}\tstart\t"
            f"{_n(owner)}\t{pid}\t{_t(assigned)}\t{{}}"
        )
        if prev is not None:
            self.out["viewflow_task_previous"].append(f"{self.nid('previous')}\t{tid}\t{prev}")
        return tid

    def clock(
        self,
        org: int,
        case_id: int,
        stage: str,
        started: datetime,
        *,
        task_id=None,
        queue=None,
        assignee=None,
        state="running",
        due_at=None,
        paused_at=None,
        paused_seconds=0,
        claimed_at=None,
        stopped_at=None,
        is_met=None,
    ) -> None:
        met = "\\N" if is_met is None else ("t" if is_met else "f")
        self.out["casework_caseclock"].append(
            f"{self.nid('clock')}\t{stage}\t{_n(task_id)}\t{state}\t{started.isoformat()}\t"
            f"{(due_at or due(stage, started)).isoformat()}\t{_t(paused_at)}\t{paused_seconds}\t{_t(claimed_at)}\t"
            f"{_t(stopped_at)}\t{met}\t{_n(assignee)}\t{case_id}\t{_n(queue)}\t{org}"
        )

    # Timeline helpers ---------------------------------------------------------------------------

    def after(self, t: datetime, lo: float = 60, hi: float = 2 * 86400) -> datetime:
        return t + timedelta(seconds=self.rng.uniform(lo, hi))

    def start_time(self, path: str) -> datetime:
        r = self.rng.random()
        if path in ("draft", "review"):
            return self.now - timedelta(days=30 * r * r, seconds=60)  # recent, more of them new
        if path in ("closed_decided", "closed_outcome"):
            return self.now - timedelta(days=40 + 1050 * r)
        return self.now - timedelta(days=20 + 70 * r)

    # One case -----------------------------------------------------------------------------------

    def pick_org(self) -> dict:
        r = self.rng.random()
        acc = 0.0
        for o in self.ref["orgs"]:
            acc += o["share"]
            if r < acc:
                return o
        return self.ref["orgs"][-1]

    def new_case(self, path: str, o: dict | None = None, committee: int | None = None) -> dict:
        rng = self.rng
        o = o or self.pick_org()
        if committee is None:
            committee = rng.choices(o["committees"], weights=o["committee_shares"])[0]
        member_id, member_user, roster = rng.choice(o["members"])
        k = rng.choice((0, 1, 1, 2, 2, 3))
        contacts = sorted(rng.sample(roster, min(k, len(roster))))
        return {
            "id": self.first_case + self.counts_total(),
            "path": path,
            "org": o["org_id"],
            "o": o,
            "committee": committee,
            "category": rng.choice(
                o["cats_by_committee"].get(committee) or [c for cs in o["cats_by_committee"].values() for c in cs]
            ),
            "township": rng.choice(o["townships"]) if rng.random() < 0.8 else None,
            "member": member_id,
            "muser": member_user,
            "contacts": contacts,
            "title": f"{rng.choice(TITLES)}（{rng.randint(1, 9999)}号）",
            "description": rng.choice(DESCRIPTIONS),
            "urgency": rng.choice(URGENCIES),
            "consent": rng.random() < 0.6,
            "staff": rng.choice(o["staff"][committee]),
            "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "t0": self.start_time(path),
            "events": [],
        }

    def counts_total(self) -> int:
        return self._made

    def ev(self, events: list, at: datetime, actor, action: str, changes: dict, ip=None) -> None:
        events.append((at, actor, action, changes, ip))

    def build(self) -> None:
        self._made = 0
        rng = self.rng
        names = [n for n, _w in MIX]
        weights = [w for _n, w in MIX]
        while self._made < self.n:
            path = rng.choices(names, weights=weights)[0]
            if path in OUTPUT_PATHS:
                k = min(rng.choice((1, 1, 1, 2, 3)), self.n - self._made)
                self.output_group(path, k)
            else:
                c = self.new_case(path)
                self._made += 1
                self.flow_case(c)
        self.flush_streams()

    def output_group(self, path: str, k: int) -> None:
        """`k` cases of one committee converted into one output; its outcome moves them on."""
        rng = self.rng
        first = self.new_case(path)
        group = [first]
        self._made += 1
        for _ in range(k - 1):
            group.append(self.new_case(path, first["o"], first["committee"]))
            self._made += 1
        oid = self.nid("output")
        otype = rng.choice(OUTPUT_TYPES)
        staff = first["staff"]
        out_events: list = []
        converted = []
        for c in group:
            c["staff"] = staff
            c["output"] = oid
            c["output_type"] = otype
            converted.append(self.flow_case(c, stop_at_convert=True))
        order = sorted(range(len(group)), key=lambda i: converted[i])
        created_at = converted[order[0]]
        title = group[order[0]]["title"][:200]
        for n, i in enumerate(order):
            c = group[i]
            if n == 0:
                self.ev(
                    out_events,
                    converted[i],
                    staff,
                    "output.created",
                    {"type": otype, "title": title, "case": c["id"]},
                    c["ip"],
                )
            else:
                self.ev(out_events, converted[i], staff, "output.case_gathered", {"case": c["id"]}, c["ip"])
        outcome_at = outcome = None
        if path != "outcome":
            outcome_at = self.after(max(converted), 86400, 20 * 86400)
            if outcome_at > self.now:
                outcome_at = self.now - timedelta(seconds=rng.uniform(60, 3600))
            outcome = rng.choice(OUTCOMES)
            self.ev(
                out_events,
                outcome_at,
                staff,
                "output.outcome_recorded",
                {"outcome": outcome, "cases": sorted(c["id"] for c in group)},
                None,
            )
        self.records[f"output:{oid}"] = "\t".join(
            map(
                _v,
                (
                    oid,
                    otype,
                    "draft" if outcome is None else "outcome_recorded",
                    title,
                    outcome or "",
                    outcome_at,
                    created_at,
                    first["committee"],
                    staff,
                    first["org"],
                    None,
                    None,
                ),
            )
        )
        self.streams.append((f"output:{oid}", "output", oid, first["org"], out_events))
        for c in group:
            c["outcome_at"] = outcome_at
            c["outcome"] = outcome
            self.flow_case(c, resume=True)

    def flow_case(self, c: dict, *, stop_at_convert: bool = False, resume: bool = False):
        """Write the rows of one case. For output groups it runs twice: up to the conversion
        (returns its time), then from the outcome on (`resume`)."""
        rng = self.rng
        path = c["path"]
        org, cid, muser, staff = c["org"], c["id"], c["muser"], c["staff"]
        ev = c["events"]
        if resume:
            return self._after_outcome(c)
        if path == "merged":
            # A duplicate of an open case in review: filed before it, merged into it after.
            master = self.pick_master(c["committee"])
            if master is None:  # nothing open to merge into yet in this chunk: reject instead
                c["path"] = path = "feedback_decided"
            else:
                rng = self.rng
                c["master"] = master
                c["t0"] = master["t0"] - timedelta(seconds=rng.uniform(3600, 5 * 86400))
                c["tc"] = c["t0"] + (master["t0"] - c["t0"]) * rng.uniform(0.1, 0.9)
                c["td"] = master["t0"] + (self.now - master["t0"]) * rng.uniform(0.05, 0.9)
        self.counts[path] += 1
        t0 = c["t0"]
        submitted = path != "draft"
        status = {
            "review_claimed": "review",
            "review_again": "review",
            "conversion_claimed": "conversion",
            "feedback_decided": "feedback",
            "feedback_outcome": "feedback",
            "closed_decided": "closed",
            "closed_outcome": "closed",
        }.get(path, path)
        case = {
            "status": status,
            "decision": "",
            "redirect_channel": "",
            "decision_note": "",
            "info_request": "",
            "info_answer": "",
            "outcome": "",
            "feedback_method": "",
            "satisfaction": "",
            "feedback_note": "",
            "updated_at": t0,
            "submitted_at": t0 if submitted else None,
            "decided_at": None,
            "closed_at": None,
            "merged_into_id": None,
            "output_id": None,
            "reject_reason_id": None,
        }
        c["case"] = case
        self.ev(
            ev,
            t0,
            muser,
            "case.submitted" if submitted else "case.created",
            {
                "status": "review" if submitted else "draft",
                "title": c["title"],
                "category": c["category"],
                "township": c["township"],
                "urgency": c["urgency"],
                "contacts": c["contacts"],
                "committee": c["committee"],
            },
            c["ip"],
        )
        self.streams.append((f"case:{cid}", "case", cid, org, ev))
        contacts_out = self.out["casework_case_contacts"]
        for contact in c["contacts"]:
            contacts_out.append(f"{self.nid('contact')}\t{cid}\t{contact}")
        if not submitted:
            self.write_case(c)
            return None

        pid = cid  # process ids follow case ids (drafts leave gaps)
        c["pid"] = pid
        c["process_status"] = "NEW"
        c["process_finished"] = None
        t_start = t0 + timedelta(microseconds=500)
        start = self.task(pid, "start", "DONE", t_start, started=t_start, finished=t_start)
        t_review = t0 + timedelta(microseconds=3000)
        committee = c["committee"]

        if path == "review":
            tid = self.task(pid, "review", "NEW", t_review, prev=start)
            self.clock(org, cid, "review", t_review, task_id=tid, queue=committee)
            if org == self.ref["orgs"][BENCH_ORG]["org_id"] or rng.random() < 0.5:
                self.masters.setdefault(committee, []).append(c)
            return self.finish(c)

        tc = c.get("tc") or self.after(t_review, 60, 3 * 86400)  # claimed
        if path == "review_claimed":
            self.task(pid, "review", "ASSIGNED", t_review, owner=staff, assigned=tc, prev=start)
            tid = self.last_task()
            self.clock(org, cid, "review", t_review, task_id=tid, queue=committee, assignee=staff, claimed_at=tc)
            self.ev(ev, tc, staff, "case.claimed", {"stage": "review"}, c["ip"])
            case["updated_at"] = t0
            return self.finish(c)

        td = c.get("td") or self.after(tc, 60, 3 * 86400)  # decided
        review_due = due("review", t_review)
        review = self.task(
            pid, "review", "DONE", t_review, started=td, finished=td, owner=staff, assigned=tc, prev=start
        )
        self.ev(ev, tc, staff, "case.claimed", {"stage": "review"}, c["ip"])
        t_route = td + timedelta(microseconds=1500)
        route = self.task(pid, "route", "DONE", t_route, finished=t_route + timedelta(microseconds=1500), prev=review)
        t_next = t_route + timedelta(microseconds=3000)
        case["decided_at"] = td
        case["updated_at"] = td

        if path in ("needs_info", "review_again"):
            question = rng.choice(QUESTIONS)
            case.update(decision="needs_info", info_request=question)
            self.ev(
                ev,
                td,
                staff,
                "case.needs_info",
                {"status": ["review", "needs_info"], "decision": "needs_info", "question": question},
                c["ip"],
            )
            if path == "needs_info":
                tid = self.task(pid, "provide_info", "ASSIGNED", t_next, owner=muser, prev=route)
                self.clock(
                    org,
                    cid,
                    "review",
                    t_review,
                    queue=committee,
                    state="paused",
                    due_at=review_due,
                    paused_at=td,
                    claimed_at=tc,
                )
                self.clock(org, cid, "needs_info", t_next, task_id=tid, assignee=muser, claimed_at=t_next)
                return self.finish(c)
            ta = self.after(t_next, 600, 4 * 86400)  # answered
            info = self.task(pid, "provide_info", "DONE", t_next, started=ta, finished=ta, owner=muser, prev=route)
            answer = rng.choice(ANSWERS)
            t_again = ta + timedelta(microseconds=1500)
            tid = self.task(pid, "review", "NEW", t_again, prev=info)
            pause = t_again - td
            self.clock(
                org,
                cid,
                "review",
                t_review,
                task_id=tid,
                queue=committee,
                due_at=review_due + pause,
                paused_seconds=int(pause.total_seconds()),
            )
            self.clock(
                org,
                cid,
                "needs_info",
                t_next,
                assignee=muser,
                claimed_at=t_next,
                state="stopped",
                stopped_at=ta,
                is_met=ta <= due("needs_info", t_next),
            )
            case.update(status="review", decision="", info_answer=answer, updated_at=ta)
            self.ev(
                ev, ta, muser, "case.info_answered", {"status": ["needs_info", "review"], "answer": answer}, c["ip"]
            )
            return self.finish(c)

        # Every other path closes the review clock.
        self.clock(
            org,
            cid,
            "review",
            t_review,
            queue=committee,
            assignee=staff,
            claimed_at=tc,
            state="stopped",
            due_at=review_due,
            stopped_at=td,
            is_met=td <= review_due,
        )

        if path == "merged":
            master = c["master"]
            if True:
                note = rng.choice(NOTES)
                case.update(decision="merged", decision_note=note, merged_into_id=master["id"], closed_at=td)
                self.ev(
                    ev,
                    td,
                    staff,
                    "case.merged",
                    {"into": master["id"], "note": note, "status": ["review", "merged"], "decision": "merged"},
                    c["ip"],
                )
                self.ev(master["events"], td, staff, "case.merge_received", {"from": cid}, c["ip"])
                t_end = t_next
                self.task(pid, "merged", "DONE", t_end, started=t_end, finished=t_end, prev=route)
                c["process_status"] = "DONE"
                c["process_finished"] = t_end
                return self.finish(c)

        if path in ("feedback_decided", "closed_decided"):
            decision = rng.choice(("rejected", "rejected", "redirected", "resolved"))
            note = rng.choice(NOTES)
            case.update(decision=decision, decision_note=note)
            changes: dict = {"status": ["review", "feedback"], "decision": decision}
            if decision == "rejected":
                reason_id, reason_text = rng.choice(c["o"]["reasons"])
                case["reject_reason_id"] = reason_id
                changes.update(reason=reason_text, note=note)
            elif decision == "redirected":
                channel = rng.choice(REDIRECT_CHANNELS)
                case["redirect_channel"] = channel
                changes.update(channel=channel, note=note)
            else:
                note = note or "已协调解决。"
                case.update(decision_note=note, outcome=note)
                changes.update(note=note)
            self.ev(ev, td, staff, f"case.{decision}", changes, c["ip"])
            c["feedback_from"] = (route, t_next)
            return self._feedback(c)

        # Accepted: conversion.
        note = rng.choice(NOTES)
        case.update(decision="accepted", decision_note=note, status="conversion")
        self.ev(
            ev,
            td,
            staff,
            "case.accepted",
            {"note": note, "status": ["review", "conversion"], "decision": "accepted"},
            c["ip"],
        )
        if path == "conversion":
            tid = self.task(pid, "convert", "NEW", t_next, prev=route)
            self.clock(org, cid, "conversion", t_next, task_id=tid, queue=committee)
            return self.finish(c)
        tc2 = self.after(t_next, 60, 2 * 86400)
        if path == "conversion_claimed":
            tid = self.task(pid, "convert", "ASSIGNED", t_next, owner=staff, assigned=tc2, prev=route)
            self.clock(org, cid, "conversion", t_next, task_id=tid, queue=committee, assignee=staff, claimed_at=tc2)
            self.ev(ev, tc2, staff, "case.claimed", {"stage": "conversion"}, c["ip"])
            return self.finish(c)
        # Converted into an output (output_group made it).
        td2 = self.after(tc2, 60, 3 * 86400)
        convert = self.task(
            pid, "convert", "DONE", t_next, started=td2, finished=td2, owner=staff, assigned=tc2, prev=route
        )
        conv_due = due("conversion", t_next)
        self.clock(
            org,
            cid,
            "conversion",
            t_next,
            queue=c["committee"],
            assignee=staff,
            claimed_at=tc2,
            state="stopped",
            due_at=conv_due,
            stopped_at=td2,
            is_met=td2 <= conv_due,
        )
        self.ev(ev, tc2, staff, "case.claimed", {"stage": "conversion"}, c["ip"])
        c["convert_ev_at"] = td2
        c["convert_task"] = convert
        c["t_wait"] = td2 + timedelta(microseconds=1500)
        case.update(status="outcome", output_id=c["output"], updated_at=td2)
        assert stop_at_convert
        return td2

    def _after_outcome(self, c: dict) -> None:
        pid, ev, case = c["pid"], c["events"], c["case"]
        # The converted event comes after the output's own event in time; the case stream has it.
        self.ev(
            ev,
            c["convert_ev_at"],
            c["staff"],
            "case.converted",
            {"output": c["output"], "status": ["conversion", "outcome"], "output_type": c["output_type"]},
            c["ip"],
        )
        if c["outcome_at"] is None:
            self.task(pid, "await_outcome", "NEW", c["t_wait"], prev=c["convert_task"])
            return self.finish(c)
        t_o = c["outcome_at"]
        wait = self.task(pid, "await_outcome", "DONE", c["t_wait"], started=t_o, finished=t_o, prev=c["convert_task"])
        case.update(status="feedback", outcome=c["outcome"], updated_at=t_o)
        self.ev(
            ev,
            t_o,
            c["staff"],
            "case.outcome_received",
            {"status": ["outcome", "feedback"], "output": c["output"], "outcome": c["outcome"]},
            None,
        )
        c["feedback_from"] = (wait, t_o + timedelta(microseconds=800))
        return self._feedback(c)

    def _feedback(self, c: dict) -> None:
        """The member's report-back task, open (feedback) or done (closed)."""
        rng = self.rng
        pid, org, cid, muser, ev, case = c["pid"], c["org"], c["id"], c["muser"], c["events"], c["case"]
        prev, t_fb = c["feedback_from"]
        if case["decided_at"] is not None and c["path"] in ("feedback_decided", "closed_decided"):
            case["updated_at"] = case["decided_at"]
        if c["path"] in ("feedback_decided", "feedback_outcome"):
            tid = self.task(pid, "feedback", "ASSIGNED", t_fb, owner=muser, prev=prev)
            self.clock(org, cid, "feedback", t_fb, task_id=tid, assignee=muser, claimed_at=t_fb)
            return self.finish(c)
        tf = self.after(t_fb, 3600, 10 * 86400)
        if tf > self.now:
            tf = self.now - timedelta(seconds=rng.uniform(1, 600))
            if tf <= t_fb:
                tf = t_fb + timedelta(milliseconds=1)
        fb = self.task(pid, "feedback", "DONE", t_fb, started=tf, finished=tf, owner=muser, prev=prev)
        fb_due = due("feedback", t_fb)
        self.clock(
            org,
            cid,
            "feedback",
            t_fb,
            assignee=muser,
            claimed_at=t_fb,
            state="stopped",
            due_at=fb_due,
            stopped_at=tf,
            is_met=tf <= fb_due,
        )
        t_end = tf + timedelta(microseconds=1000)
        self.task(pid, "end", "DONE", t_end, started=t_end, finished=t_end + timedelta(microseconds=2000), prev=fb)
        method, satisfaction = rng.choice(FEEDBACK_METHODS), rng.choice(SATISFACTIONS)
        note = rng.choice(("群众表示认可。", "", "已电话回访。"))
        case.update(
            status="closed",
            feedback_method=method,
            satisfaction=satisfaction,
            feedback_note=note,
            closed_at=tf,
            updated_at=tf,
        )
        self.ev(
            ev,
            tf,
            muser,
            "case.closed",
            {"status": ["feedback", "closed"], "method": method, "satisfaction": satisfaction},
            c["ip"],
        )
        c["process_status"] = "DONE"
        c["process_finished"] = t_end + timedelta(microseconds=3000)
        return self.finish(c)

    def last_task(self) -> int:
        return self.next_id["task"] - 1

    def pick_master(self, committee: int) -> dict | None:
        candidates = self.masters.get(committee)
        return self.rng.choice(candidates) if candidates else None

    def finish(self, c: dict) -> None:
        pid = c["pid"]
        self.out["viewflow_process"].append(
            f"{pid}\t{FLOW_CLASS}\t{c['process_status']}\t{(c['t0'] + timedelta(microseconds=400)).isoformat()}\t"
            f"{_t(c['process_finished'])}\t{{}}"
        )
        self.out["workflows_caseprocess"].append(f"{pid}\t{c['id']}")
        self.write_case(c)

    def write_case(self, c: dict) -> None:
        k = c["case"]
        self.record(
            f"case:{c['id']}",
            c["id"],
            c["title"],
            c["description"],
            c["urgency"],
            c["consent"],
            k["status"],
            k["decision"],
            k["redirect_channel"],
            k["decision_note"],
            k["info_request"],
            k["info_answer"],
            k["outcome"],
            k["feedback_method"],
            k["satisfaction"],
            k["feedback_note"],
            c["t0"] - timedelta(microseconds=300),
            k["updated_at"],
            k["submitted_at"],
            k["decided_at"],
            k["closed_at"],
            c["category"],
            c["committee"],
            c["muser"],
            c["member"],
            k["merged_into_id"],
            c["org"],
            k["output_id"],
            k["reject_reason_id"],
            c["township"],
        )

    def flush_streams(self) -> None:
        """Chain every stream of the chunk with the app's own functions: seq, prev_hash and the
        keyed digest; then each case and output row with its stream's head, and the chunk's
        checkpoint heads."""
        out = self.out["casework_auditevent"]
        dumps = json.dumps
        key: AuditKey = _REF["key"]
        heads = []
        for stream, target_type, target_id, org, events in self.streams:
            prev = GENESIS
            if len(events) > 1:
                events.sort(key=lambda e: e[0])
            for seq, (at, actor, action, changes, ip) in enumerate(events, 1):
                message = event_message(
                    key_id=key.id,
                    stream=stream,
                    seq=seq,
                    organisation_id=org,
                    actor_id=actor,
                    action=action,
                    target_type=target_type,
                    target_id=target_id,
                    at_us=micros(at),
                    source_ip=ip,
                    success=True,
                    changes=changes,
                    prev_hash=prev,
                )
                digest = mac(key, ALGORITHM, message)
                event_id = self.nid("event")
                out.append(
                    f"{event_id}\t{stream}\t{seq}\t{action}\t{target_type}\t{target_id}\t"
                    f"{at.isoformat()}\t{_n(ip)}\tt\t{_s(dumps(changes, ensure_ascii=False))}\t{ALGORITHM}\t"
                    f"{key.id}\t{prev}\t{digest}\t{_n(actor)}\t{org}"
                )
                self.last_event = max(self.last_event, event_id)
                prev = digest
            table = "casework_case" if target_type == "case" else "casework_output"
            self.out[table].append(f"{self.records.pop(stream)}\t{len(events)}\t{prev}")
            heads.append((stream, len(events), prev))
        assert not self.records, f"records without a stream: {list(self.records)[:3]}"
        heads.sort()
        checkpoint = self.index + 1
        rows = self.out["casework_auditcheckpointhead"]
        for stream, seq, digest in heads:
            rows.append(f"{self.nid('head')}\t{checkpoint}\t{stream}\t{seq}\t{digest}")
        self.heads_digest = heads_digest(ALGORITHM, heads)
        self.n_heads = len(heads)

    def payload(self) -> dict:
        return {t: ("\n".join(rows) + "\n").encode() if rows else b"" for t, rows in self.out.items()}


CHECKPOINT_COLUMNS = [
    "id",
    "seq",
    "created_at",
    "last_event_id",
    "resume_after",
    "n_heads",
    "algorithm",
    "key_id",
    "next_key_id",
    "prev_hash",
    "hash",
]


def _checkpoints(key: AuditKey, chunks: list[tuple[str, int, int]]) -> list[AuditCheckpoint]:
    """One checkpoint per chunk, chained and signed as `audit_checkpoint` signs them. Event ids
    grow from chunk to chunk, so each one's events are after the last one's."""
    made: list[AuditCheckpoint] = []
    prev = GENESIS
    start = datetime.now(UTC)
    for i, (digest, n_heads, last_event) in enumerate(chunks):
        c = AuditCheckpoint(
            id=i + 1,
            seq=i + 1,
            created_at=start + timedelta(microseconds=i),
            last_event_id=last_event,
            resume_after=last_event,
            n_heads=n_heads,
            algorithm=ALGORITHM,
            key_id=key.id,
            next_key_id="",
            prev_hash=prev,
        )
        c.hash = mac(
            key,
            ALGORITHM,
            checkpoint_message(
                key_id=key.id,
                seq=c.seq,
                prev_hash=prev,
                created_us=micros(c.created_at),
                last_event_id=last_event,
                resume_after=last_event,
                next_key_id="",
                n_heads=n_heads,
                heads=digest,
            ),
        )
        made.append(c)
        prev = c.hash
    return made


MIX_NAMES = [n for n, _w in MIX]
CHUNK_SIZE = 20_000
_REF: dict = {}


def _make_chunk(args: tuple) -> tuple[int, dict, dict, dict, tuple[str, int, int]]:
    index, first_case, n, now, seed = args
    chunk = Chunk(index, first_case, n, _REF, now, seed)
    chunk.build()
    rows = {t: len(r) for t, r in chunk.out.items()}
    return index, chunk.payload(), rows, chunk.counts, (chunk.heads_digest, chunk.n_heads, chunk.last_event)


def _init_worker(ref: dict, targets: dict, chunk_size: int) -> None:
    global CHUNK_SIZE
    _REF.update(ref)
    settings_targets.update(targets)
    CHUNK_SIZE = chunk_size


# Referential checks after the load (foreign-key triggers were off during it): each must be 0.
CHECKS = [
    (
        "task without its process",
        "SELECT count(*) FROM viewflow_task t WHERE NOT EXISTS "
        "(SELECT 1 FROM viewflow_process p WHERE p.id = t.process_id)",
    ),
    (
        "previous link to a missing task or across processes",
        "SELECT count(*) FROM viewflow_task_previous v "
        "LEFT JOIN viewflow_task a ON a.id = v.from_task_id LEFT JOIN viewflow_task b ON b.id = v.to_task_id "
        "WHERE a.id IS NULL OR b.id IS NULL OR a.process_id <> b.process_id",
    ),
    (
        "caseprocess without case or process",
        "SELECT count(*) FROM workflows_caseprocess cp WHERE NOT EXISTS "
        "(SELECT 1 FROM casework_case c WHERE c.id = cp.case_id) OR NOT EXISTS "
        "(SELECT 1 FROM viewflow_process p WHERE p.id = cp.process_ptr_id)",
    ),
    (
        "submitted case without process",
        "SELECT count(*) FROM casework_case c WHERE c.status <> 'draft' AND "
        "NOT EXISTS (SELECT 1 FROM workflows_caseprocess cp WHERE cp.case_id = c.id)",
    ),
    (
        "process DONE but case open, or the reverse",
        "SELECT count(*) FROM casework_case c JOIN workflows_caseprocess "
        "cp ON cp.case_id = c.id JOIN viewflow_process p ON p.id = cp.process_ptr_id "
        "WHERE (p.status = 'DONE') <> (c.status IN ('closed', 'merged'))",
    ),
    (
        "running clock whose task is not open on its case, or owner differs",
        "SELECT count(*) FROM casework_caseclock k "
        "LEFT JOIN viewflow_task t ON t.id = k.task_id LEFT JOIN workflows_caseprocess cp ON cp.process_ptr_id = "
        "t.process_id WHERE k.state = 'running' AND (t.id IS NULL OR t.status NOT IN ('NEW', 'ASSIGNED') OR "
        "cp.case_id <> k.case_id OR t.owner_id IS DISTINCT FROM k.assignee_id)",
    ),
    (
        "open human task without a running clock",
        "SELECT count(*) FROM viewflow_task t WHERE t.flow_task_type = "
        "'HUMAN' AND t.status IN ('NEW', 'ASSIGNED') AND NOT EXISTS "
        "(SELECT 1 FROM casework_caseclock k WHERE k.task_id = t.id AND k.state = 'running')",
    ),
    (
        "clock without its case",
        "SELECT count(*) FROM casework_caseclock k WHERE NOT EXISTS "
        "(SELECT 1 FROM casework_case c WHERE c.id = k.case_id)",
    ),
    (
        "case without its first audit event",
        "SELECT count(*) FROM casework_case c WHERE NOT EXISTS "
        "(SELECT 1 FROM casework_auditevent e WHERE e.stream = 'case:' || c.id AND e.seq = 1)",
    ),
    (
        "case whose head on record is not its stream's last event",
        "SELECT count(*) FROM casework_case c LEFT JOIN casework_auditevent e ON e.stream = 'case:' || c.id "
        "AND e.seq = c.audit_seq WHERE e.id IS NULL OR e.hash <> c.audit_head OR EXISTS (SELECT 1 FROM "
        "casework_auditevent n WHERE n.stream = 'case:' || c.id AND n.seq = c.audit_seq + 1)",
    ),
    (
        "stream whose head no checkpoint recorded",
        "SELECT count(*) FROM casework_case c WHERE NOT EXISTS (SELECT 1 FROM casework_auditcheckpointhead h "
        "WHERE h.stream = 'case:' || c.id AND h.seq = c.audit_seq AND h.digest = c.audit_head)",
    ),
    (
        "case contact not on file",
        "SELECT count(*) FROM casework_case_contacts x WHERE NOT EXISTS "
        "(SELECT 1 FROM casework_contact c WHERE c.id = x.contact_id) OR NOT EXISTS "
        "(SELECT 1 FROM casework_case c WHERE c.id = x.case_id)",
    ),
    (
        "case output or merge target missing",
        "SELECT count(*) FROM casework_case c WHERE (c.output_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM casework_output o WHERE o.id = c.output_id)) OR (c.merged_into_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM casework_case m WHERE m.id = c.merged_into_id))",
    ),
]

# The load ---------------------------------------------------------------------------------------


def _dsn() -> str:
    s = connection.settings_dict
    parts = [f"dbname={s['NAME']}"]
    for key, name in (("HOST", "host"), ("PORT", "port"), ("USER", "user"), ("PASSWORD", "password")):
        if s.get(key):
            parts.append(f"{name}={s[key]}")
    return " ".join(parts)


def main() -> None:
    global CHUNK_SIZE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--reset", action="store_true", help="wipe the data already in this database")
    parser.add_argument("--force", action="store_true", help="allow a database whose name lacks 'bench'")
    parser.add_argument("--no-check", action="store_true", help="skip the referential checks after the load")
    args = parser.parse_args()
    CHUNK_SIZE = args.chunk

    if connection.vendor != "postgresql":
        sys.exit(
            "bench/generate.py needs PostgreSQL: set DATABASE_URL=postgres://... to a database of its own "
            "(e.g. minqing_bench). SQLite is not supported for the benchmark data set."
        )
    dbname = connection.settings_dict["NAME"]
    if "bench" not in dbname and not args.force:
        sys.exit(
            f"refusing to load benchmark data into {dbname!r}: use a database of its own (a name with "
            "'bench' in it), or pass --force"
        )

    import psycopg

    t_all = time.perf_counter()
    print(f"database {dbname}: migrating", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM casework_organisation")
        if cur.fetchone()[0] and not args.reset:
            sys.exit("the database already holds data: pass --reset to wipe it first")
    if args.reset:
        print("wiping existing data", flush=True)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND (tablename LIKE 'casework\\_%%' "
                "OR tablename LIKE 'viewflow\\_%%' OR tablename LIKE 'workflows\\_%%' "
                "OR tablename IN ('authtoken_token', 'django_admin_log', 'django_session'))"
            )
            tables = [r[0] for r in cur.fetchall()]
            cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    ref = load_reference(args.cases, rng)
    print(
        f"reference data: {len(ref['orgs'])} organisations, {ref['users']} users with tokens, {ref['members']} "
        f"members, {ref['contacts']} roster contacts ({time.perf_counter() - t0:.1f}s)",
        flush=True,
    )
    targets = Organisation.objects.get(pk=ref["orgs"][0]["org_id"]).sla_targets
    key = keyring().current  # the deployment's own audit key: verify_audit must find it
    ref["key"] = key
    anchors = anchor_path()
    if anchors.exists():
        # The anchors of a chain this load replaces: kept, out of the way.
        aside = anchors.with_name(f"{anchors.name}.replaced-{datetime.now():%Y%m%d-%H%M%S}")
        anchors.rename(aside)
        print(f"anchors of the replaced chain moved to {aside}", flush=True)
    (Path(settings.VAR_DIR) / f"audit-verified-{database_label()}.json").unlink(missing_ok=True)
    connection.close()

    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    n_chunks = (args.cases + CHUNK_SIZE - 1) // CHUNK_SIZE
    jobs = [
        (i, 1 + i * CHUNK_SIZE, min(CHUNK_SIZE, args.cases - i * CHUNK_SIZE), now, args.seed) for i in range(n_chunks)
    ]

    conn = psycopg.connect(_dsn(), autocommit=False)
    cur = conn.cursor()
    cur.execute("SET session_replication_role = replica")  # no FK triggers: rows consistent by construction
    cur.execute("SET maintenance_work_mem = '512MB'")
    cur.execute("TRUNCATE " + ", ".join(BULK_TABLES))  # same transaction: COPY ... FREEZE allowed
    cur.execute(
        """
        SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
    """,
        [list(COLUMNS)],
    )
    secondary = cur.fetchall()
    for _table, name, _def in secondary:
        cur.execute(f'DROP INDEX "{name}"')
    print(
        f"loading {args.cases:,} cases in {n_chunks} chunks with {args.workers} workers "
        f"({len(secondary)} secondary indexes dropped for the load)",
        flush=True,
    )

    totals = {t: 0 for t in COLUMNS}
    counts = {k: 0 for k in MIX_NAMES}
    checkpoint_heads: list[tuple[str, int, int]] = []  # per chunk: heads digest, heads, last event id
    pending: queue_mod.Queue = queue_mod.Queue(maxsize=max(2, args.workers))
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while True:
                item = pending.get()
                if item is None:
                    return
                for table, data in item.items():
                    if data:
                        with cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN WITH (FREEZE)") as cp:
                            cp.write(data)
        except BaseException as exc:
            errors.append(exc)
            while pending.get() is not None:
                pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    t_load = time.perf_counter()
    done = 0
    ctx = mp.get_context("fork")
    with ctx.Pool(args.workers, initializer=_init_worker, initargs=(ref, targets, CHUNK_SIZE)) as pool:
        for _index, payload, rows, chunk_counts, chunk_heads in pool.imap(_make_chunk, jobs):
            if errors:
                break
            pending.put(payload)
            checkpoint_heads.append(chunk_heads)
            for t, n in rows.items():
                totals[t] += n
            for k, n in chunk_counts.items():
                counts[k] += n
            done += 1
            if done % max(1, n_chunks // 20) == 0 or done == n_chunks:
                el = time.perf_counter() - t_load
                made = min(done * CHUNK_SIZE, args.cases)
                print(f"  {made:>10,} cases  {el:7.1f}s  {made / el:9,.0f} cases/s", flush=True)
    pending.put(None)
    thread.join()
    if errors:
        raise errors[0]
    t_copied = time.perf_counter()
    print(f"rows copied in {t_copied - t_load:.1f}s: " + ", ".join(f"{t} {n:,}" for t, n in totals.items()), flush=True)

    checkpoints = _checkpoints(key, checkpoint_heads)
    with cur.copy(f"COPY casework_auditcheckpoint ({', '.join(CHECKPOINT_COLUMNS)}) FROM STDIN") as cp:
        for c in checkpoints:
            cp.write_row([getattr(c, name) for name in CHECKPOINT_COLUMNS])
    print(f"{len(checkpoints)} checkpoints chained (one per chunk), signed with audit key {key.id}", flush=True)

    for table, name, definition in secondary:
        t = time.perf_counter()
        cur.execute(definition)
        print(f"  index {name} on {table}: {time.perf_counter() - t:.1f}s", flush=True)
    for table in list(COLUMNS) + ["casework_auditcheckpoint"]:
        pk = "process_ptr_id" if table == "workflows_caseprocess" else "id"
        cur.execute(f"SELECT pg_get_serial_sequence('{table}', '{pk}')")
        seq = cur.fetchone()[0]
        if seq:
            cur.execute(f"SELECT setval('{seq}', GREATEST((SELECT max({pk}) FROM {table}), 1))")
    cur.execute("SET session_replication_role = DEFAULT")
    conn.commit()
    t_indexed = time.perf_counter()
    print(f"indexes rebuilt, sequences reset, committed: {t_indexed - t_copied:.1f}s", flush=True)
    conn.autocommit = True
    for table in list(COLUMNS) + ["casework_caseclock"]:
        cur.execute(f"VACUUM (ANALYZE) {table}")
    conn.close()
    t_end = time.perf_counter()
    print(f"vacuum analyze: {t_end - t_indexed:.1f}s", flush=True)
    # After commit, as the app does: the checkpoints' digests outside the database.
    anchors.parent.mkdir(parents=True, exist_ok=True)
    with open(anchors, "a") as out:
        out.write("".join(anchor_line(c) + "\n" for c in checkpoints))
    print(f"{len(checkpoints)} anchors appended to {anchors}", flush=True)

    # Checks that the load is what the application would have written.
    with connection.cursor() as c:
        if not args.no_check:
            t = time.perf_counter()
            bad = []
            for label, sql in CHECKS:
                c.execute(sql)
                n = c.fetchone()[0]
                if n:
                    bad.append(f"{label}: {n}")
            print(
                f"referential checks: {'all passed' if not bad else 'FAILED: ' + '; '.join(bad)} "
                f"({time.perf_counter() - t:.1f}s)",
                flush=True,
            )
            if bad:
                sys.exit(1)
        c.execute("SELECT status, count(*) FROM casework_case GROUP BY status ORDER BY status")
        by_status = dict(c.fetchall())
        c.execute("""SELECT o.short_name || q.name || '(' || q.id || ')', count(*) FROM casework_caseclock k
                     JOIN casework_committee q ON q.id = k.queue_id
                     JOIN casework_organisation o ON o.id = q.organisation_id
                     WHERE k.state = 'running' AND k.assignee_id IS NULL AND k.queue_id IS NOT NULL
                     GROUP BY o.short_name, q.id, q.name ORDER BY count(*) DESC""")
        queues = c.fetchall()
    total = t_end - t_all
    print("cases by status: " + ", ".join(f"{k} {v:,}" for k, v in by_status.items()))
    print(
        "unclaimed tasks per queue: "
        + ", ".join(f"{n} {v:,}" for n, v in queues[:8])
        + (" ..." if len(queues) > 8 else "")
    )
    print(f"generated {args.cases:,} cases in {total:.1f}s ({args.cases / total:,.0f} cases/s overall)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    # The generation of the benchmark database proper is kept beside the figures; others go aside.
    name = "dataset.json" if dbname == "minqing_bench" else f"dataset-{dbname}.json"
    (RESULTS / name).write_text(
        json.dumps(
            {
                "database": dbname,
                "cases": args.cases,
                "seed": args.seed,
                "workers": args.workers,
                "seconds_total": round(total, 1),
                "seconds_copy": round(t_copied - t_load, 1),
                "seconds_indexes": round(t_indexed - t_copied, 1),
                "seconds_vacuum": round(t_end - t_indexed, 1),
                "rows": totals,
                "paths": counts,
                "cases_by_status": by_status,
                "generated_at": datetime.now(UTC).isoformat(),
            },
            ensure_ascii=False,
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
