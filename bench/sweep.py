"""The SLA sweep benchmark: what `casework.services.sweep.sweep()` costs with nothing due, with
1,000 due and with a backlog of 50,000 breaches, at 100,000 and 1,000,000 running clocks, beside
a helpdesk-style escalation that reads every open clock, measured in the same run.

Usage (from the project root; a PostgreSQL database of its own, its name containing "bench")::

    psql -h 127.0.0.1 -U postgres -c 'create database minqing_sweep_bench'
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_sweep_bench
    .venv/bin/python manage.py migrate --noinput
    .venv/bin/python bench/sweep.py --reset --note "…"

Options: ``--sizes 100000,1000000`` (running clocks to measure at, ascending; the data set is
extended from one to the next), ``--reset`` (wipe the cases, clocks and notifications of an
earlier load first), ``--idle-runs N`` (sweeps timed with nothing due, 50), ``--baseline-runs N``
(3), ``--due N`` (1,000) and ``--due-runs N`` (3), ``--backlog N`` (50,000) and ``--backlog-runs N``
(2), ``--wall-clock-runs N`` (1: the backlog again with a due time of its own per clock),
``--note TEXT``, ``--no-history``, ``--out PATH``. About 10 minutes at 1,000,000 clocks on 2 vCPUs.

The data (SQL, not the ORM per row): one organisation, four committees with 3-5 staff each (half
of them take email, so deliveries are queued too) and a head each, a leadership user, a member
with a user, a category; then N cases in review (`INSERT … SELECT FROM generate_series`) and one
running review clock each, in its committee's queue (one in ten claimed by a staff member),
started in the past and due at 24:00 (Asia/Shanghai) of a day 1-6 weeks ahead, warning three
days before: nothing is due. The clock policies are the migrations' defaults. VACUUM ANALYZE
after the load.

What it measures at each size (each figure printed with its target and whether it is met):

a. nothing due: `sweep()` end to end in process, `--idle-runs` times: median, min, max, p95;
   its statements, and the EXPLAIN (ANALYZE, BUFFERS) of its three marking statements (the
   exact SQL the sweep sent, run in a transaction rolled back): each plan must read its partial
   index (`clock_sweep_breach`, `clock_sweep_warn`, `clock_sweep_escalate`).
b. the baseline beside it: an escalation that reads every open clock and checks its deadline,
   as django-helpdesk's `escalate_tickets` walks the open tickets: `CaseClock` instances of every
   running clock by `.iterator()`, deadline compared in Python; the same with `values_list` (the
   cheapest scan through the ORM); and the deadline filter in SQL with no index for it (a
   sequential scan, its plan printed).
c. 1,000 due: 1,000 random running clocks' due (and warning) times moved to 24:00 of one of the
   last three working days, then one `sweep()` timed: it breaches them, escalates them to the
   committee head (the default policy escalates at 0 working days) and queues the notifications;
   then the sweep after it (nothing left to do). `--due-runs` fresh sets.
d. the backlog: `--backlog` due clocks cleared by one `sweep()`: clocks per second, and the
   notifications and deliveries it queued (all pending, none sent: the outbox is drained by a
   worker later). `--wall-clock-runs`: the same with every clock due at a time of its own (as a
   clock resumed by the wall clock is), which shows what per-due-time work costs.

Between runs the marks are reset with an UPDATE of the clocks touched (due and warning times
back in the future, marks and escalation level cleared), the notifications truncated and the
clocks vacuumed, so runs start alike. The machine's load before each phase is kept with the
figures. Results: bench/results/sweep-latest.json (every run's detail) and one line appended to
bench/results/history.jsonl with "bench": "sweep" (`bench/history.py --figure sweep.…`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

import casework.tasks  # noqa: E402
from bench import history  # noqa: E402
from bench.harness import git_state, load, machine_facts, pct  # noqa: E402
from casework.choices import ClockState, Role  # noqa: E402
from casework.models import (  # noqa: E402
    CaseCategory,
    CaseClock,
    ClockPolicy,
    Committee,
    Member,
    Notification,
    NotificationDelivery,
    Organisation,
    Sector,
    User,
)
from casework.services import deadlines  # noqa: E402
from casework.services.deadlines import WorkCalendar  # noqa: E402
from casework.services.sweep import BATCH, _mark, _steps, _tell_breach, sweep  # noqa: E402

RESULTS = BASE_DIR / "bench" / "results"
ORG_NAME = "巡检基准政协（sweep benchmark）"
STAFF_PER_COMMITTEE = (3, 4, 5, 4)
TARGETS = {"idle_ms": 5.0, "due_1000_s": 2.0, "backlog_per_s": 500.0}
SWEEP_INDEXES = ("clock_sweep_breach", "clock_sweep_warn", "clock_sweep_escalate")
# 24:00 Asia/Shanghai of a day 1-6 weeks ahead, by the clock's id: where every clock's due time
# goes back to after a run (the load puts them there too).
PICKED_IN = 'WHERE "id" IN (SELECT "id" FROM picked)'
PICKED_ANY = 'WHERE "id" = ANY(ARRAY(SELECT "id" FROM picked))'
FUTURE_DUE = (
    "((date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') + make_interval(days => 8 + mod({id}, 42)::int))"
    " AT TIME ZONE 'Asia/Shanghai')"
)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def spread(values: list[float]) -> dict:
    """Median, min, max and p95 of seconds, in ms."""
    return {
        "n": len(values),
        "median_ms": ms(statistics.median(values)),
        "min_ms": ms(min(values)),
        "max_ms": ms(max(values)),
        "p95_ms": ms(pct(values, 0.95)),
        "runs_ms": [ms(v) for v in values],
    }


def execute(sql: str, params: Any = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def scalar(sql: str, params: Any = None) -> Any:
    return execute(sql, params)[0][0]


# The data set ---------------------------------------------------------------------------------


@dataclass
class Reference:
    org: int
    committees: list[int]
    claimer: dict[int, int]  # committee → the staff member who holds its claimed clocks
    member: int
    member_user: int
    category: int


def reference() -> Reference:
    """The people and places the clocks belong to, through the ORM (a few dozen rows)."""
    org = Organisation.objects.filter(name=ORG_NAME).first()
    if org is None:
        with transaction.atomic():
            org = Organisation.objects.create(name=ORG_NAME, short_name="巡检基准", level="district")
            groups = {g.name: g for g in Group.objects.all()}
            sector = Sector.objects.create(organisation=org, name="巡检基准界别")

            def user(username: str, name: str, role: str, email: bool, **extra: Any) -> User:
                u = User.objects.create_user(
                    username=username,
                    password=None,
                    organisation=org,
                    display_name=name,
                    email=f"{username}@sweep-bench.invalid" if email else "",
                    notify_by_email=email,
                    **extra,
                )
                u.groups.add(groups[role])
                return u

            member_user = user("sweep-member", "巡检委员", Role.MEMBER, True)
            Member.objects.create(organisation=org, user=member_user, name="巡检委员", sector=sector)
            user("sweep-leader", "巡检主席", Role.LEADERSHIP, True, notify_by_dingtalk=True)
            for k, size in enumerate(STAFF_PER_COMMITTEE):
                head = user(f"sweep-head-{k}", f"主任{k}", Role.COMMITTEE_HEAD, True)
                committee = Committee.objects.create(
                    organisation=org, name=f"巡检委办{k}", head=head, is_default_intake=k == 0
                )
                for s in range(size):
                    staff = user(f"sweep-staff-{k}-{s}", f"工作人员{k}-{s}", Role.COMMITTEE_STAFF, s % 2 == 0)
                    committee.staff.add(staff)
            CaseCategory.objects.create(
                organisation=org,
                name="巡检基准类别",
                committee=Committee.objects.get(organisation=org, name="巡检委办0"),
            )
    committees = list(Committee.objects.filter(organisation=org).order_by("name"))
    member = Member.objects.get(organisation=org)
    assert member.user_id is not None
    return Reference(
        org=org.pk,
        committees=[c.pk for c in committees],
        claimer={c.pk: c.staff.order_by("id").values_list("id", flat=True)[0] for c in committees},
        member=member.pk,
        member_user=member.user_id,
        category=CaseCategory.objects.get(organisation=org).pk,
    )


def wipe() -> None:
    """--reset: the notifications, clocks and cases (the reference rows stay)."""
    execute(
        "TRUNCATE casework_notificationdelivery, casework_notification, casework_caseclock, "
        "casework_case_contacts, casework_case RESTART IDENTITY CASCADE"
    )


def extend(ref: Reference, n: int) -> dict:
    """Cases and running clocks up to `n` of each, by INSERT … SELECT FROM generate_series."""
    have = scalar("SELECT count(*) FROM casework_caseclock")
    if have >= n:
        return {"clocks_before": have, "loaded": 0, "seconds": 0.0}
    cases = scalar("SELECT count(*) FROM casework_case")
    if cases != have:
        sys.exit(f"{cases:,} cases but {have:,} clocks: not a data set of this script; run with --reset")
    t0 = time.perf_counter()
    last_case = scalar("SELECT coalesce(max(id), 0) FROM casework_case")
    claimers = ", ".join(f"({int(c)}, {int(u)})" for c, u in ref.claimer.items())
    with transaction.atomic():
        # The rows are consistent by construction: no foreign-key trigger per row (as generate.py).
        execute("SET LOCAL session_replication_role = replica")
        execute(
            """INSERT INTO casework_case (title, description, urgency, consent_to_share, status, decision,
                   redirect_channel, decision_note, info_request, info_answer, outcome, feedback_method,
                   satisfaction, feedback_note, created_at, updated_at, submitted_at, created_by_id,
                   category_id, committee_id, member_id, organisation_id, audit_head, audit_seq)
               SELECT '巡检基准案件 ' || g, '时限巡检基准：一件在委办审核环节等待处理的案件。', 'normal', false,
                   'review', '', '', '', '', '', '', '', '', '', t, t, t, %(creator)s, %(category)s,
                   (%(committees)s::bigint[])[1 + mod(g, %(k)s)], %(member)s, %(org)s, '', 0
               FROM generate_series(%(lo)s, %(hi)s) g,
                   LATERAL (SELECT now() - make_interval(days => 1 + mod(g, 20)::int, secs => mod(g, 86400)) AS t) x""",
            {
                "creator": ref.member_user,
                "category": ref.category,
                "committees": ref.committees,
                "k": len(ref.committees),
                "member": ref.member,
                "org": ref.org,
                "lo": cases + 1,
                "hi": n,
            },
        )
        execute(
            f"""INSERT INTO casework_caseclock (stage, task_id, state, started_at, due_at, due_error, paused_seconds,
                   assignee_id, claimed_at, case_id, queue_id, organisation_id, escalation_level, warn_at)
               SELECT 'review', NULL, 'running', c.submitted_at, d.due, '', 0,
                   a.user_id, CASE WHEN a.user_id IS NOT NULL THEN c.submitted_at END,
                   c.id, c.committee_id, c.organisation_id, 0, d.due - interval '3 days'
               FROM casework_case c
               CROSS JOIN LATERAL (SELECT {FUTURE_DUE.format(id="c.id")} AS due) d
               LEFT JOIN (VALUES {claimers}) a(committee_id, user_id)
                   ON a.committee_id = c.committee_id AND mod(c.id, 10) = 0
               WHERE c.id > %s ORDER BY c.id""",
            [last_case],
        )
    loaded = time.perf_counter() - t0
    execute("VACUUM ANALYZE casework_case")
    execute("VACUUM ANALYZE casework_caseclock")
    return {
        "clocks_before": have,
        "loaded": n - have,
        "seconds": round(loaded, 1),
        "vacuum_analyze_seconds": round(time.perf_counter() - t0 - loaded, 1),
    }


def reset(ids: list[int]) -> None:
    """Put the clocks a run touched back as loaded, and drop what the sweep queued."""
    execute(
        f"""UPDATE casework_caseclock SET due_at = {FUTURE_DUE.format(id="id")},
               warn_at = {FUTURE_DUE.format(id="id")} - interval '3 days', warned_at = NULL, breached_at = NULL,
               next_escalation_at = NULL, escalation_level = 0
           WHERE id = ANY(%s)""",
        [ids],
    )
    execute("TRUNCATE casework_notificationdelivery, casework_notification")
    execute("VACUUM casework_caseclock")


def check_pristine() -> dict:
    """Nothing due and no mark set, checked once per size (one scan of the clocks)."""
    row = execute(
        """SELECT count(*), count(*) FILTER (WHERE state = 'running'),
               count(*) FILTER (WHERE due_at <= now() OR warn_at <= now()),
               count(*) FILTER (WHERE warned_at IS NOT NULL OR breached_at IS NOT NULL
                                 OR next_escalation_at IS NOT NULL OR escalation_level <> 0),
               min(due_at), max(due_at)
           FROM casework_caseclock"""
    )[0]
    facts = {
        "clocks": row[0],
        "running": row[1],
        "due_or_warning": row[2],
        "marked": row[3],
        "due_from": row[4],
        "due_to": row[5],
        "notifications": Notification.objects.count(),
    }
    if facts["due_or_warning"] or facts["marked"] or facts["notifications"]:
        ids = [r[0] for r in execute("SELECT id FROM casework_caseclock WHERE due_at <= now() + interval '4 days'")]
        ids += [r[0] for r in execute("SELECT id FROM casework_caseclock WHERE breached_at IS NOT NULL")]
        ids += [r[0] for r in execute("SELECT id FROM casework_caseclock WHERE warned_at IS NOT NULL")]
        reset(sorted(set(ids)))
        facts["reset_first"] = len(set(ids))
    return facts


# a. nothing due ---------------------------------------------------------------------------------


def explain(sql: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of a statement, in a transaction rolled back."""
    with transaction.atomic():
        plan = [r[0] for r in execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)]
        transaction.set_rollback(True)
    return plan


def key_lines(plan: list[str]) -> dict:
    """The plan's key line (the read of a sweep index, else the first scan), every scan, the top
    node's buffers and the execution time."""
    scans = [ln.strip() for ln in plan if "Scan" in ln]
    on_index = [ln for ln in scans if any(name in ln for name in SWEEP_INDEXES)]
    ran = [ln for ln in on_index if "never executed" not in ln]
    scan = (ran or on_index or scans or [""])[0]
    return {
        "scan": scan,
        "index": next((name for name in SWEEP_INDEXES if name in scan), None),
        "scans": scans,
        "top_buffers": next((ln.strip() for ln in plan if "Buffers:" in ln), ""),
        "execution": next((ln.strip() for ln in plan if ln.startswith("Execution Time")), ""),
    }


class Statements:
    """Counts the statements a block sends, by kind (BEGIN and COMMIT are not among them): an
    execute wrapper, so a sweep of tens of thousands of statements is counted in full."""

    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        kind = statement_kind(sql)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        return execute(sql, params, many, context)

    @property
    def total(self) -> int:
        return sum(self.kinds.values())


def idle(runs: int) -> dict:
    sweep()  # warm: the process's first sweep reads the policies and the calendar
    times, reports = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        report = sweep()
        times.append(time.perf_counter() - t0)
        reports.append(report.as_dict())
    assert all(not r["batches"] for r in reports), reports
    with CaptureQueriesContext(connection) as captured:
        sweep()
    marks = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("WITH picked")]
    plans = []
    for sql in marks:
        plan = explain(sql)
        plans.append({"sql": sql, "plan": plan, **key_lines(plan)})
    return {
        **spread(times),
        "statements": len(captured.captured_queries),
        "statements_sql": [q["sql"][:160] for q in captured.captured_queries],
        "plans": plans,
        "plans_use_sweep_indexes": [p["index"] for p in plans] == list(SWEEP_INDEXES),
    }


# b. the baseline: read every open clock ---------------------------------------------------------


def baseline(runs: int) -> dict:
    """An escalation that reads every open clock and checks its deadline, three ways."""
    out: dict[str, Any] = {}
    now = timezone.now()

    def instances() -> int:
        return sum(
            1
            for clock in CaseClock.objects.filter(state=ClockState.RUNNING).iterator(chunk_size=2000)
            if clock.due_at is not None and clock.due_at <= now and clock.breached_at is None
        )

    def values() -> int:
        return sum(
            1
            for due, breached in CaseClock.objects.filter(state=ClockState.RUNNING)
            .values_list("due_at", "breached_at")
            .iterator(chunk_size=2000)
            if due is not None and due <= now and breached is None
        )

    sql_filter = "SELECT id FROM casework_caseclock WHERE state = 'running' AND due_at <= %s"

    def in_sql() -> int:
        return len(execute(sql_filter, [now]))

    for name, fn in (("orm_instances", instances), ("orm_values", values), ("sql_filter_no_index", in_sql)):
        times, found = [], None
        for _ in range(runs):
            t0 = time.perf_counter()
            found = fn()
            times.append(time.perf_counter() - t0)
        out[name] = {**spread(times), "found_due": found}
    plan = explain(sql_filter.replace("%s", f"'{now.isoformat()}'::timestamptz"))
    out["sql_filter_no_index"]["plan"] = plan
    out["sql_filter_no_index"]["scan"] = next((ln.strip() for ln in plan if "Scan" in ln), "")
    return out


# c, d. clocks come due ------------------------------------------------------------------------


def past_due_times(days: int = 3) -> list[datetime]:
    """24:00 of each of the last `days` working days before today (Asia/Shanghai): deadlines as
    the app sets them, all passed, and their escalation to leadership (5 working days on) still
    ahead, so one sweep takes each clock exactly to the head."""
    cal = WorkCalendar()
    day: date = deadlines.local_day(timezone.now()) - timedelta(days=1)
    found: list[datetime] = []
    while len(found) < days:
        if cal.is_working(day):
            found.append(deadlines.end_of(day))
        day -= timedelta(days=1)
    return found


def make_due(n: int, *, wall_clock: bool) -> list[int]:
    """Move `n` random running clocks' due and warning times into the past; their ids."""
    if wall_clock:
        # A due time of its own per clock: the last three days, to the second.
        due = "now() - make_interval(secs => 60 + mod(id * 7919, 3 * 86400))"
        params: list[Any] = [n]
    else:
        due = "(%s::timestamptz[])[1 + mod(id, 3)]"
        params = [past_due_times(), n]
    rows = execute(
        f"""UPDATE casework_caseclock k SET due_at = p.due, warn_at = p.due - interval '2 days'
            FROM (SELECT id, {due} AS due FROM casework_caseclock
                  WHERE state = 'running' AND breached_at IS NULL ORDER BY random() LIMIT %s) p
            WHERE k.id = p.id RETURNING k.id""",
        params,
    )
    execute("ANALYZE casework_caseclock")
    return [r[0] for r in rows]


def outbox() -> dict:
    by_state = dict(execute("SELECT state, count(*) FROM casework_notificationdelivery GROUP BY state"))
    return {
        "notifications": Notification.objects.count(),
        "notifications_by_kind": dict(execute("SELECT kind, count(*) FROM casework_notification GROUP BY kind")),
        "deliveries": NotificationDelivery.objects.count(),
        "deliveries_by_state": by_state,
        "deliveries_by_channel": dict(
            execute("SELECT channel, count(*) FROM casework_notificationdelivery GROUP BY channel")
        ),
        "deliveries_attempted": NotificationDelivery.objects.filter(attempts__gt=0).count(),
        "deliveries_sent": NotificationDelivery.objects.filter(sent_at__isnull=False).count(),
    }


def step_sql(name: str, now: datetime) -> str:
    """The exact statement the sweep sends for a step (caught from a call rolled back)."""
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        _mark(_steps()[name], now, BATCH)
        transaction.set_rollback(True)
    return next(q["sql"] for q in captured.captured_queries if q["sql"].startswith("WITH picked"))


def plans(name: str, now: datetime) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of a step's statement as the app sends it, and (not the app's
    SQL) the same with the picked ids handed to the UPDATE as an array, `id = ANY(ARRAY(…))`:
    what the update costs when it is driven from the ids the pick took."""
    sql = step_sql(name, now)
    app = explain(sql)
    out = {"app": {"sql": sql, "plan": app, **key_lines(app)}}
    if PICKED_IN in sql:
        alt_sql = sql.replace(PICKED_IN, PICKED_ANY)
        alt = explain(alt_sql)
        out["ids_as_array"] = {"sql": alt_sql, "plan": alt, **key_lines(alt)}
    return out


def probe_plans(n: int) -> dict:
    """The plans of the breach step with `n` clocks due, then (the breaches done, through the
    sweep's own functions) of the escalation step with the same `n` waiting; reset after."""
    ids = make_due(n, wall_clock=False)
    now = timezone.now()
    res = {"due": n, "breach": plans("breach", now)}
    steps = _steps()
    while True:
        with transaction.atomic():
            got = _mark(steps["breach"], now, BATCH)
            if got:
                _tell_breach(got, now)
        if len(got) < BATCH:
            break
    res["escalate"] = plans("escalate", now)
    reset(ids)
    return res


class ArrayOfPicked:
    """Not the app: rewrites the marking statements to `id = ANY(ARRAY(SELECT id FROM picked))`,
    the fix this benchmark suggests, so its backlog figure can be put beside the app's."""

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        return execute(sql.replace(PICKED_IN, PICKED_ANY), params, many, context)


def due_run(n: int, *, wall_clock: bool = False, ids_as_array: bool = False) -> dict:
    ids = make_due(n, wall_clock=wall_clock)
    assert len(ids) == n
    res: dict[str, Any] = {"due": n, "wall_clock": wall_clock, "ids_as_array": ids_as_array, "load_before": load()}
    counted = Statements()
    with connection.execute_wrapper(ArrayOfPicked() if ids_as_array else (lambda ex, *a: ex(*a))):
        with connection.execute_wrapper(counted):
            t0 = time.perf_counter()
            report = sweep()
            seconds = time.perf_counter() - t0
    res["seconds"] = round(seconds, 3)
    res["report"] = report.as_dict()
    res["statements"] = counted.total
    res["statements_by_kind"] = counted.kinds
    res["per_s"] = round(report.breached / seconds, 1)
    res["outbox"] = outbox()
    res["notifications_per_s"] = round(res["outbox"]["notifications"] / seconds, 1)
    res["deliveries_per_s"] = round(res["outbox"]["deliveries"] / seconds, 1)
    marks = execute(
        """SELECT count(*) FILTER (WHERE breached_at IS NOT NULL), count(*) FILTER (WHERE warned_at IS NOT NULL),
               count(*) FILTER (WHERE escalation_level = 1), count(*) FILTER (WHERE next_escalation_at > now()),
               count(*) FILTER (WHERE next_escalation_at <= now())
           FROM casework_caseclock WHERE id = ANY(%s)""",
        [ids],
    )[0]
    res["marks"] = dict(
        zip(("breached", "warned", "escalated_to_head", "next_escalation_ahead", "overdue"), marks, strict=True)
    )
    t0 = time.perf_counter()
    again = sweep()
    res["sweep_after_seconds"] = round(time.perf_counter() - t0, 4)
    res["sweep_after"] = again.as_dict()
    res["ok"] = (
        report.breached == n
        and report.escalated == n
        and report.warned == 0
        and marks[0] == marks[1] == marks[2] == marks[3] == n
        and not again.batches
        and res["outbox"]["deliveries_sent"] == 0
        and res["outbox"]["deliveries_attempted"] == 0
    )
    reset(ids)
    return res


def statement_kind(sql: str) -> str:
    sql = sql.lstrip()
    if sql.startswith("WITH picked"):
        return "mark (UPDATE … RETURNING)"
    if sql.startswith("UPDATE"):
        return "UPDATE next_escalation_at" if "next_escalation_at" in sql.split("WHERE")[0] else "UPDATE"
    if sql.startswith("INSERT"):
        return "INSERT " + sql.split('"')[1] if '"' in sql else "INSERT"
    return sql.split()[0].upper() if sql else ""


# The whole run ----------------------------------------------------------------------------------


@dataclass
class Figure:
    key: str
    n: int
    label: str
    value: Any
    beside: str = ""
    target: str = ""
    met: bool | None = None


def figures(size: int, r: dict) -> list[Figure]:
    a, b = r["idle"], r["baseline"]
    p = f"sweep.n{size}."
    inst, vals, sqlf = b["orm_instances"], b["orm_values"], b["sql_filter_no_index"]
    plan_note = "; ".join(f"{pl['index'] or 'NO SWEEP INDEX'}: {pl['execution']}" for pl in a["plans"])
    f = [
        Figure(
            p + "idle.median_ms",
            size,
            "a. nothing due: sweep() median ms",
            a["median_ms"],
            f"min {a['min_ms']}, max {a['max_ms']}, p95 {a['p95_ms']} of {a['n']}; "
            f"{a['statements']} statements with BEGIN/COMMIT",
            f"< {TARGETS['idle_ms']:g} ms",
            a["median_ms"] < TARGETS["idle_ms"],
        ),
        Figure(
            p + "idle.plans_use_sweep_indexes",
            size,
            "   its 3 marking statements read their partial indexes",
            a["plans_use_sweep_indexes"],
            plan_note,
            "yes",
            a["plans_use_sweep_indexes"],
        ),
        Figure(
            p + "baseline.orm_instances.median_ms",
            size,
            "b. baseline: every open clock as an instance, deadline in Python, ms",
            inst["median_ms"],
            f"min {inst['min_ms']}, max {inst['max_ms']} of {inst['n']}; "
            f"{round(inst['median_ms'] / a['median_ms']) if a['median_ms'] else '-'}x the idle sweep",
        ),
        Figure(
            p + "baseline.orm_values.median_ms",
            size,
            "   baseline: every open clock's deadline by values_list, ms",
            vals["median_ms"],
            f"min {vals['min_ms']}, max {vals['max_ms']} of {vals['n']}",
        ),
        Figure(
            p + "baseline.sql_filter.median_ms",
            size,
            "   baseline: the deadline filter in SQL, no index for it, ms",
            sqlf["median_ms"],
            f"min {sqlf['min_ms']}, max {sqlf['max_ms']} of {sqlf['n']}; {sqlf['scan'][:60]}",
        ),
    ]
    due = r["due"]
    if due:
        secs = [x["seconds"] for x in due]
        med = statistics.median(secs)
        f.append(
            Figure(
                p + "due.median_s",
                size,
                f"c. {due[0]['due']:,} due: one sweep() median s",
                round(med, 3),
                f"runs {', '.join(str(s) for s in secs)} s; {due[0]['statements']} statements (no BEGIN/COMMIT); "
                f"queued {due[0]['outbox']['notifications']} notifications, "
                f"{due[0]['outbox']['deliveries']} deliveries",
                f"< {TARGETS['due_1000_s']:g} s",
                med < TARGETS["due_1000_s"] and all(x["ok"] for x in due),
            )
        )
    backlog = r["backlog"]
    if backlog:
        rates = [x["per_s"] for x in backlog]
        med = statistics.median(rates)
        o = backlog[0]["outbox"]
        f += [
            Figure(
                p + "backlog.median_per_s",
                size,
                f"d. backlog of {backlog[0]['due']:,}: clocks breached per s, median",
                round(med, 1),
                f"runs {', '.join(str(x) for x in rates)} /s in {', '.join(str(x['seconds']) for x in backlog)} s",
                f">= {TARGETS['backlog_per_s']:g} /s",
                med >= TARGETS["backlog_per_s"] and all(x["ok"] for x in backlog),
            ),
            Figure(
                p + "backlog.queued",
                size,
                "   queued, not sent: notifications / deliveries (sent)",
                f"{o['notifications']:,} / {o['deliveries']:,} ({o['deliveries_sent']})",
                f"{', '.join(str(x['notifications_per_s']) for x in backlog)} notifications/s; "
                f"{', '.join(str(x['deliveries_per_s']) for x in backlog)} deliveries/s; "
                f"{backlog[0]['statements']} statements",
                "0 sent",
                all(x["outbox"]["deliveries_sent"] == 0 and x["outbox"]["deliveries_attempted"] == 0 for x in backlog),
            ),
        ]
    for x in r["wall_clock"]:
        f.append(
            Figure(
                p + "backlog_wall_clock.per_s",
                size,
                f"   backlog of {x['due']:,}, each due at a time of its own: /s",
                x["per_s"],
                f"{x['seconds']} s; {x['statements']} statements "
                f"({x['statements_by_kind'].get('UPDATE next_escalation_at', 0):,} UPDATE next_escalation_at)",
            )
        )
    for x in r["ids_as_array"]:
        f.append(
            Figure(
                p + "backlog_ids_as_array.per_s",
                size,
                f"   backlog of {x['due']:,}, marks rewritten to id = ANY(ARRAY(…)) (not the app): /s",
                x["per_s"],
                f"{x['seconds']} s; the suggested fix, beside the app's figure above",
            )
        )
    for probe in r["plans"]:
        app = probe["escalate"]["app"]
        removed = next((ln.split(":")[1].strip() for ln in app["plan"] if "Rows Removed by Join Filter" in ln), "0")
        f.append(
            Figure(
                p + f"plan.escalate_{probe['due']}.ms",
                size,
                f"   escalation statement, first batch of {probe['due']:,} waiting: ms",
                app["execution"].split(":")[1].strip() if app["execution"] else "",
                f"rows removed by join filter {removed}; ids as an array: "
                + probe["escalate"].get("ids_as_array", {}).get("execution", "-"),
            )
        )
    a2 = r.get("idle_after")
    if a2:
        f.append(
            Figure(
                p + "idle_after.median_ms",
                size,
                "   nothing due again, after the runs (reset, VACUUM): median ms",
                a2["median_ms"],
                f"min {a2['min_ms']}, max {a2['max_ms']} of {a2['n']}",
                f"< {TARGETS['idle_ms']:g} ms",
                a2["median_ms"] < TARGETS["idle_ms"],
            )
        )
    return f


def table(rows: list[Figure]) -> str:
    header = ("N clocks", "figure", "value", "target", "met", "beside it (same run)")
    cells = [header] + [
        (f"{r.n:,}", r.label, str(r.value), r.target, "" if r.met is None else ("✓" if r.met else "✘"), r.beside)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(v.ljust(widths[i]) for i, v in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * wd for wd in widths))
    return "\n".join(lines)


def measure(size: int, args: argparse.Namespace, ref: Reference) -> dict:
    r: dict[str, Any] = {"size": size, "load_before_phase": {}}
    r["extend"] = extend(ref, size)
    print(f"\n== {size:,} running clocks: loaded {r['extend']}", flush=True)
    r["pristine"] = check_pristine()
    print(f"   {r['pristine']}", flush=True)
    r["load_before_phase"]["idle"] = load()
    r["idle"] = idle(args.idle_runs)
    a = r["idle"]
    print(f"a. nothing due: median {a['median_ms']} ms (min {a['min_ms']}, max {a['max_ms']}), ", end="")
    print(f"{a['statements']} statements; load before {r['load_before_phase']['idle']}", flush=True)
    for pl in a["plans"]:
        print(f"   {pl['scan']}\n     {pl['top_buffers']}; {pl['execution']}; {len(pl['scans'])} scans")
    r["load_before_phase"]["baseline"] = load()
    r["baseline"] = baseline(args.baseline_runs)
    for name, x in r["baseline"].items():
        print(f"b. baseline {name}: median {x['median_ms']} ms, runs {x['runs_ms']}", flush=True)
    print(f"   {r['baseline']['sql_filter_no_index']['scan']}")
    r["due"], r["backlog"], r["wall_clock"], r["ids_as_array"] = [], [], [], []
    r["load_before_phase"]["plans"] = load()
    r["plans"] = [probe_plans(args.due), probe_plans(args.backlog)]
    for probe in r["plans"]:
        for step in ("breach", "escalate"):
            for variant, p in probe[step].items():
                print(f"   plan, {step} step, {probe['due']:,} due, {variant}: {p['execution']}; scans:")
                print("\n".join(f"     {line}" for line in p["scans"]))
                print("     " + next((ln.strip() for ln in p["plan"] if "Rows Removed by Join Filter" in ln), ""))
    r["load_before_phase"]["due"] = load()
    for i in range(args.due_runs):
        x = due_run(args.due)
        r["due"].append(x)
        print(
            f"c. {args.due:,} due, run {i + 1}: {x['seconds']} s, {x['report']}, {x['statements']} statements "
            f"{x['statements_by_kind']}, outbox {x['outbox']['notifications']} / {x['outbox']['deliveries']}, "
            f"sweep after {x['sweep_after_seconds']} s, ok {x['ok']}",
            flush=True,
        )
    r["load_before_phase"]["backlog"] = load()
    for i in range(args.backlog_runs):
        x = due_run(args.backlog)
        r["backlog"].append(x)
        print(
            f"d. backlog {args.backlog:,}, run {i + 1}: {x['seconds']} s = {x['per_s']} clocks/s, {x['report']}, "
            f"outbox {x['outbox']['notifications']} notifications ({x['notifications_per_s']}/s), "
            f"{x['outbox']['deliveries']} deliveries ({x['deliveries_per_s']}/s) {x['outbox']['deliveries_by_state']}, "
            f"{x['statements']} statements, ok {x['ok']}",
            flush=True,
        )
    for i in range(args.wall_clock_runs):
        x = due_run(args.backlog, wall_clock=True)
        r["wall_clock"].append(x)
        print(
            f"d'. backlog {args.backlog:,} with due times of their own, run {i + 1}: {x['seconds']} s = "
            f"{x['per_s']} clocks/s, {x['statements']} statements {x['statements_by_kind']}, ok {x['ok']}",
            flush=True,
        )
    for i in range(args.fix_runs):
        x = due_run(args.backlog, ids_as_array=True)
        r["ids_as_array"].append(x)
        print(
            f"d''. backlog {args.backlog:,}, the marking statements rewritten to id = ANY(ARRAY(…)) (not the app), "
            f"run {i + 1}: {x['seconds']} s = {x['per_s']} clocks/s, ok {x['ok']}",
            flush=True,
        )
    r["load_before_phase"]["idle_after"] = load()
    r["idle_after"] = idle(args.idle_runs)
    print(f"a'. nothing due after the runs: median {r['idle_after']['median_ms']} ms", flush=True)
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--reset", action="store_true", help="wipe the cases, clocks and notifications first")
    parser.add_argument("--idle-runs", type=int, default=50)
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--due-runs", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=50000)
    parser.add_argument("--backlog-runs", type=int, default=2)
    parser.add_argument("--wall-clock-runs", type=int, default=1)
    parser.add_argument(
        "--fix-runs",
        type=int,
        default=0,
        help="backlog runs with the fix runs 1-3 suggested, rewritten in (for a sweep.py from before it: since "
        "run 4 the app sends it, there is nothing left to rewrite and such a run is one more run of the app)",
    )
    parser.add_argument("--note", default="")
    parser.add_argument("--no-history", action="store_true", help="do not append this run to the history")
    parser.add_argument("--out", default=str(RESULTS / "sweep-latest.json"))
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if connection.vendor != "postgresql" or "bench" not in connection.settings_dict["NAME"]:
        sys.exit("bench/sweep.py needs DATABASE_URL=postgres://…/<a database of its own with 'bench' in its name>")
    if not ClockPolicy.objects.filter(organisation__isnull=True, stage="review").exists():
        sys.exit("no default clock policy for review: run manage.py migrate on this database first")
    t_all = time.perf_counter()
    if args.reset:
        wipe()
    ref = reference()
    res: dict[str, Any] = {
        "bench": "sweep",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": git_state(),
        "options": {k: v for k, v in vars(args).items() if k not in ("note", "out", "no_history")},
        "note": args.note,
        "load_at_start": load(),
        "targets": TARGETS,
        "batch": BATCH,
        "outbox_drain_task_exists": hasattr(casework.tasks, "drain_outbox_task"),
        "sizes": {},
    }
    print(f"load at start {res['load_at_start']}; code {res['code']}; batch {BATCH}", flush=True)
    rows: list[Figure] = []
    for size in sizes:
        res["sizes"][str(size)] = measure(size, args, ref)
        rows += figures(size, res["sizes"][str(size)])
    res["machine"] = machine_facts()
    res["seconds"] = round(time.perf_counter() - t_all, 1)
    printed = table(rows)
    print()
    print(printed)
    res["figures"] = {r.key: r.value for r in rows}
    res["table"] = [asdict(r) for r in rows]
    res["all_met"] = all(r.met for r in rows if r.met is not None)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str))
    if not args.no_history:
        history.append({k: v for k, v in res.items() if k != "sizes"})
        print(f"\nrun appended to {history.HISTORY.relative_to(BASE_DIR)}; ", end="")
    print(f"detail in {args.out} ({res['seconds']} s); every target met: {res['all_met']}")


if __name__ == "__main__":
    main()
