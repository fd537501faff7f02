"""The propagation benchmark: an output's event reaching every case it gathered
(`workflows.propagate.tell_cases`), at 10, 100 and 1,000 gathered cases, beside the
case-by-case loop it replaced, measured in the same run.

Usage (from the project root; a PostgreSQL database of its own, its name containing "bench")::

    psql -h 127.0.0.1 -U postgres -c 'create database minqing_propagate_bench'
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_propagate_bench
    .venv/bin/python manage.py migrate --noinput
    .venv/bin/python bench/propagate.py --note "…"

Options: ``--sizes 10,100,1000`` (gathered cases), ``--runs N`` (3 fresh outputs a size),
``--baseline-runs N`` (1 a size), ``--baseline-max N`` (100: no baseline above it; loading a
thousand cases through the actions takes minutes), ``--reset`` (wipe the cases,
outputs, flows, clocks and audit events of an earlier run first), ``--note TEXT``,
``--no-history``, ``--out PATH``.

The data (through the ORM and the workflow actions, so every row is what the app writes): one
organisation with a committee, a staff member and a member with two constituents; then, for each
run, a fresh draft output gathering N cases, each filed, accepted and converted into it through
`workflows.actions`, so each waits on the outcome with its flow's await_outcome task open; then
ANALYZE of the tables the step reads, as a database in service has its statistics (without
them the planner takes the thousand ids of a fresh load for the whole table, and its JIT
compilation alone costs more than half a second).

What it measures, for each run (every run printed, none left out):

a. the outcome event: a leader's instruction on the info report that gathered them
   (`output_actions.perform("output", "instruct")`) end to end, its transaction and commit
   included: the instruction recorded and every case moved to feedback with it as its outcome
   (status, the viewflow task done and the member's feedback task opened, clocks, audit events).
   Wall time and the number of statements. (The report is submitted and used in a bulletin
   issue first, outside the measurement.)
b. a further event that moves nothing (`tell_cases(..., moves=False)`, e.g. a proposal filed):
   one event on each case's timeline. Wall time and statements.
c. the baseline: the same event with the loop the outputs used before (each case through the
   case transition `receive_outcome`: its save, its merged duplicates, viewflow's activation of
   its task, its clocks, its audit event), on a fresh output of the same size.

Results: bench/results/propagate-latest.json and one line appended to
bench/results/history.jsonl with "bench": "propagate". Target: a) under 1 s at 1,000 cases, and
the same number of statements at every size.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import history  # noqa: E402
from bench.harness import git_state, load, machine_facts  # noqa: E402
from casework.choices import CaseStatus, Role  # noqa: E402
from casework.models import (  # noqa: E402
    Case,
    CaseCategory,
    ClockPolicy,
    Committee,
    Contact,
    Member,
    Organisation,
    Output,
    RosterEntry,
    Sector,
    Township,
    User,
)
from casework.services import locks  # noqa: E402
from casework.services.audit import audit_output  # noqa: E402
from workflows import actions, engine, output_actions, propagate  # noqa: E402
from workflows.case_lifecycle import CASE  # noqa: E402
from workflows.output_lifecycle import lifecycle_of  # noqa: E402

RESULTS = BASE_DIR / "bench" / "results"
ORG_NAME = "成果回写基准政协（propagate benchmark）"
TARGET_S = 1.0
ANALYSED = (
    "casework_case",
    "casework_caseclock",
    "casework_auditevent",
    "viewflow_task",
    "viewflow_task_previous",
    "viewflow_process",
    "workflows_caseprocess",
)


@contextmanager
def counting() -> Any:
    """The statements sent inside the block (a wrapper that only counts: no SQL kept)."""
    seen = {"n": 0}

    def count(execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen["n"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield seen


class Reference:
    def __init__(self) -> None:
        org = Organisation.objects.filter(name=ORG_NAME).first()
        if org is None:
            with transaction.atomic():
                org = Organisation.objects.create(name=ORG_NAME, short_name="回写基准", level="district")
                groups = {g.name: g for g in Group.objects.all()}
                sector = Sector.objects.create(organisation=org, name="回写基准界别")
                staff = User.objects.create_user(
                    username="propagate-staff", password=None, organisation=org, display_name="回写干事"
                )
                staff.groups.add(groups[Role.COMMITTEE_STAFF])
                committee = Committee.objects.create(organisation=org, name="回写委办", is_default_intake=True)
                committee.staff.add(staff)
                member_user = User.objects.create_user(
                    username="propagate-member", password=None, organisation=org, display_name="回写委员"
                )
                member_user.groups.add(groups[Role.MEMBER])
                member = Member.objects.create(organisation=org, user=member_user, name="回写委员", sector=sector)
                for i in range(2):
                    contact = Contact.objects.create(organisation=org, sector=sector, name=f"群众{i + 1}")
                    RosterEntry.objects.create(organisation=org, sector=sector, member=member, contact=contact)
                CaseCategory.objects.create(organisation=org, name="回写基准类别", committee=committee)
                Township.objects.create(organisation=org, name="回写基准街道")
        self.org = org
        self.staff = User.objects.get(username="propagate-staff")
        self.member_user = User.objects.get(username="propagate-member")
        member = Member.objects.get(user=self.member_user)
        self.intake = {
            "title": "基准测试：学校门口交通拥堵",
            "description": "上下学高峰时段车辆乱停，建议增设临时停车位并安排交警疏导。",
            "category": CaseCategory.objects.get(organisation=org).pk,
            "township": Township.objects.get(organisation=org).pk,
            "contacts": list(member.roster.values_list("contact_id", flat=True)),
            "submit": True,
        }


def wipe() -> None:
    """--reset: everything a run wrote (the reference rows stay)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE casework_caseclock, viewflow_task_previous, viewflow_task, workflows_caseprocess, "
            "viewflow_process, casework_case_contacts, casework_case, casework_output, casework_auditevent, "
            "casework_auditstream RESTART IDENTITY CASCADE"
        )


def gathered_output(ref: Reference, n: int) -> Output:
    """A fresh info report gathering `n` cases, each waiting on the outcome, submitted and used
    in a bulletin issue (its cases told of each)."""
    output_id = None
    for _i in range(n):
        case = actions.file_case(actor=ref.member_user, data=ref.intake)
        actions.perform("accept", case_id=case.pk, actor=ref.staff)
        data = {"output_type": "info_report", "title": "关于缓解校门拥堵的建议"}
        if output_id:
            data["output"] = output_id
        case = actions.perform("convert", case_id=case.pk, actor=ref.staff, data=data)
        output_id = output_id or case.output_id
    assert output_id is not None
    assert Case.objects.filter(output_id=output_id, status=CaseStatus.OUTCOME).count() == n
    for name, data in (("edit", {"analysis": "分析", "suggestion": "建议"}), ("submit", {}), ("use", {})):
        output_actions.perform("output", name, record_id=output_id, actor=ref.staff, data=data)
    with connection.cursor() as cursor:
        # As a database in service has them: the planner's statistics of the tables it reads.
        cursor.execute(f"ANALYZE {', '.join(ANALYSED)}")
    return Output.objects.get(pk=output_id)


INSTRUCTION = {"leader": "周主席", "rank": "city", "text": "请相关部门研究落实。"}


def instruct(ref: Reference, output: Output) -> dict:
    data = {**INSTRUCTION, "given_on": str(timezone.localdate())}
    t0 = time.perf_counter()
    with counting() as seen:
        output_actions.perform("output", "instruct", record_id=output.pk, actor=ref.staff, data=data)
    wall = time.perf_counter() - t0
    moved = Case.objects.filter(output=output, status=CaseStatus.FEEDBACK).count()
    return {"s": round(wall, 4), "statements": seen["n"], "moved": moved}


def tell_without_moving(ref: Reference, output: Output) -> dict:
    t0 = time.perf_counter()
    with counting() as seen, transaction.atomic():
        locked = locks.acquire(ref.staff, outputs=[output.pk]).outputs[output.pk]
        told = propagate.tell_cases(locked, ref.staff, event="info_report.sent_up", summary="已报送上级", moves=False)
    wall = time.perf_counter() - t0
    return {"s": round(wall, 4), "statements": seen["n"], "told": told}


def old_loop(ref: Reference, output: Output) -> dict:
    """The same instruction with the loop the outputs used before: the output's effect and
    event, then each gathered case through the case transition, one after another."""
    t = lifecycle_of(output)["instruct"]
    values = t.input.clean({**INSTRUCTION, "given_on": str(timezone.localdate())})
    t0 = time.perf_counter()
    with counting() as seen, transaction.atomic():
        locked = locks.acquire(ref.staff, outputs=[output.pk]).outputs[output.pk]
        gathered = list(
            Case.objects.select_for_update(of=("self",)).filter(output=locked, status=CaseStatus.OUTCOME).order_by("id")
        )
        changes = t.apply_effect({"output": locked, "actor": ref.staff}, values, None)
        audit_output(locked, ref.staff, t.audit, changes or {}, None)
        assert t.tells is not None
        summary = t.tells.summary(locked)
        follow = CASE["receive_outcome"]
        tasks = engine.waiting_on_outcome([c.pk for c in gathered])
        for case in gathered:
            actions.apply_to_case(follow, case, ref.staff, tasks[case.pk], {"outcome": summary}, None)
    wall = time.perf_counter() - t0
    moved = Case.objects.filter(output=output, status=CaseStatus.FEEDBACK).count()
    return {"s": round(wall, 4), "statements": seen["n"], "moved": moved}


def spread(values: list[float]) -> dict:
    return {"median_s": round(statistics.median(values), 4), "min_s": min(values), "max_s": max(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-runs", type=int, default=1)
    parser.add_argument("--baseline-max", type=int, default=100, help="no baseline above this many cases")
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--note", default="")
    parser.add_argument("--no-history", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "propagate-latest.json"))
    args = parser.parse_args()
    if connection.vendor != "postgresql" or "bench" not in connection.settings_dict["NAME"]:
        sys.exit("bench/propagate.py needs DATABASE_URL=postgres://…/<a database of its own with 'bench' in its name>")
    if not ClockPolicy.objects.filter(organisation__isnull=True, stage="feedback").exists():
        sys.exit("no default clock policy for feedback: run manage.py migrate on this database first")
    t_all = time.perf_counter()
    if args.reset:
        wipe()
    ref = Reference()
    sizes = [int(s) for s in args.sizes.split(",")]
    res: dict[str, Any] = {
        "bench": "propagate",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": git_state(),
        "options": {k: v for k, v in vars(args).items() if k not in ("note", "out", "no_history")},
        "note": args.note,
        "load_at_start": load(),
        "target_s": TARGET_S,
        "sizes": {},
    }
    print(f"load at start {res['load_at_start']}; code {res['code']}", flush=True)
    figures: dict[str, Any] = {}
    for n in sizes:
        runs, baseline = [], []
        for r in range(args.runs):
            t0 = time.perf_counter()
            output = gathered_output(ref, n)
            built = time.perf_counter() - t0
            a = instruct(ref, output)
            b = tell_without_moving(ref, output)
            runs.append({"outcome_event": a, "tell_without_moving": b, "load": load()})
            print(
                f"{n:>5} cases run {r + 1}: outcome event {a['s'] * 1000:8.1f} ms, {a['statements']} statements "
                f"(moved {a['moved']}); an event moving nothing {b['s'] * 1000:7.1f} ms, {b['statements']} "
                f"statements  [cases built in {built:.0f} s]",
                flush=True,
            )
        for r in range(args.baseline_runs if n <= args.baseline_max else 0):
            output = gathered_output(ref, n)
            c = old_loop(ref, output)
            baseline.append(c)
            print(
                f"{n:>5} cases baseline {r + 1}: the case-by-case loop {c['s'] * 1000:8.1f} ms, "
                f"{c['statements']} statements (moved {c['moved']})",
                flush=True,
            )
        res["sizes"][str(n)] = {"runs": runs, "baseline": baseline}
        a_s = [x["outcome_event"]["s"] for x in runs]
        figures[f"propagate.outcome_event_{n}"] = {**spread(a_s), "runs_s": a_s}
        figures[f"propagate.outcome_event_{n}.statements"] = sorted({x["outcome_event"]["statements"] for x in runs})
        b_s = [x["tell_without_moving"]["s"] for x in runs]
        figures[f"propagate.event_{n}"] = {**spread(b_s), "runs_s": b_s}
        figures[f"propagate.event_{n}.statements"] = sorted({x["tell_without_moving"]["statements"] for x in runs})
        if baseline:
            figures[f"propagate.old_loop_{n}"] = {
                "runs_s": [x["s"] for x in baseline],
                "statements": [x["statements"] for x in baseline],
            }
    largest = str(max(sizes))
    statements = {str(s) for n in sizes for s in figures[f"propagate.outcome_event_{n}.statements"]}
    res["figures"] = figures
    res["met"] = {
        f"outcome_event_{largest}_under_{TARGET_S}s": max(figures[f"propagate.outcome_event_{largest}"]["runs_s"])
        < TARGET_S,
        "constant_statements": len(statements) == 1,
    }
    res["machine"] = machine_facts()
    res["seconds"] = round(time.perf_counter() - t_all, 1)
    print()
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(f"targets: {res['met']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str))
    if not args.no_history:
        history.append({k: v for k, v in res.items() if k != "sizes"})
        print(f"run appended to {history.HISTORY.relative_to(BASE_DIR)}; ", end="")
    print(f"detail in {args.out} ({res['seconds']} s)")


if __name__ == "__main__":
    main()
