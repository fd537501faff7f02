"""The first benchmark: intake, the queue page and claim-next, each beside a baseline measured in
the same run, on the data set of bench/generate.py.

Usage (from the project root, after bench/generate.py)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_bench .venv/bin/python bench/run.py

Options: ``--duration S`` (seconds per concurrent run, default 10), ``--intake N`` (cases per
in-process intake run, default 300), ``--pages N`` (queue page requests, default 200),
``--skip-viewflow-queue`` (do not time viewflow's own ``Task.objects.queue``), ``--out PATH``
(default bench/results/latest.json), ``--idle-wait S`` (before each phase, wait up to S seconds
for other work to leave the CPUs; default 180: on a shared 2-vCPU machine another process
halves every figure). It takes about 2 minutes on an idle machine.

What it measures (each figure beside its baseline):

a. Intake through the service (``workflows.actions.case_file(..., submit=True)``), cases/s,
   against a bare ``Case.objects.create`` of the same row; statements per intake, counted with
   ``CaptureQueriesContext`` (which in Django 5.2 lists BEGIN and COMMIT too) and checked on the
   wire with libpq's protocol trace.
b. Intake through the API (``POST /api/v1/cases/`` with a token) against a real gunicorn
   (``--workers 2``, DJANGO_DEBUG unset), from one client process and from two at once, over
   keep-alive ``http.client`` connections.
c. The queue page (``GET /api/v1/queues/{id}/tasks/?limit=50``) over HTTP: median and p95 of
   200 requests, a deep page by cursor and pages reached by following ``next``; its query count
   (Django test client, in process) for limit=10 and limit=50; baselines: the same SQL replayed
   with psycopg (the database round trip alone), and viewflow's own ``Task.objects.queue()``
   (oldest first, statement_timeout 30 s).
d. claim-next (``POST /api/v1/queues/{id}/claim-next/``) with 4 client processes against
   gunicorn ``--workers 4`` for ``--duration`` seconds, the same action called in process by 4
   processes with their own connections, and the baseline: viewflow's own locking path (take
   the head of the queue without a lock, claim it through ``task.activation()``, which takes
   the process row with NOWAIT and retries with back-off), 4 processes. Every run is checked
   for double claims: claims against distinct tasks, the viewflow task owner against the
   clock's assignee, one ``case.claimed`` audit event per claim.

It writes cases and claims tasks: run bench/generate.py again for a pristine data set. Figures
are printed as a table and written as JSON. gunicorn is started and stopped by the script.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import OperationalError, connection, connections, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from casework.choices import CaseStatus, ClockState  # noqa: E402
from casework.errors import Conflict  # noqa: E402
from casework.models import Case, CaseCategory, CaseClock, Committee, Member, Organisation, User  # noqa: E402

RESULTS = BASE_DIR / "bench" / "results"
GUNICORN = str(BASE_DIR / ".venv" / "bin" / "gunicorn")
BENCH_ORG_SHORT = "黄岩区政协"
TARGETS = {
    "queue_page_median_ms": 15.0,
    "claims_per_s": 150.0,
    "api_intake_1_per_s": 60.0,
    "api_intake_2_per_s": 100.0,
    "statements_per_intake": 14,
}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# A shared machine: wait for the CPUs to be quiet before each phase, and say how quiet they were.


def cpu_busy(interval: float = 1.0) -> float:
    """Share of all CPUs busy over `interval` seconds (from /proc/stat), 0-100."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    try:
        t1, i1 = sample()
        time.sleep(interval)
        t2, i2 = sample()
    except OSError:
        return float("nan")
    return round(100.0 * (1 - (i2 - i1) / max(1, t2 - t1)), 1)


IDLE: dict = {"max_wait": 180.0, "threshold": 25.0, "log": {}}


def wait_idle(phase: str) -> None:
    """Wait (up to --idle-wait seconds) until other work on the machine leaves the CPUs alone."""
    start = time.time()
    busy = cpu_busy()
    while busy > IDLE["threshold"] and time.time() - start < IDLE["max_wait"]:
        print(f"   ({phase}: CPUs {busy:.0f}% busy with other work, waiting)", flush=True)
        time.sleep(4)
        busy = cpu_busy()
    IDLE["log"][phase] = {"cpu_busy_before_percent": busy, "waited_s": round(time.time() - start, 1)}
    if busy > IDLE["threshold"]:
        print(f"   ({phase}: still {busy:.0f}% busy after {IDLE['max_wait']:.0f}s: figures will be low)", flush=True)


def git_state() -> dict:
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=BASE_DIR, capture_output=True, text=True, timeout=10).stdout.rstrip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [line[3:] for line in git("status", "--porcelain").splitlines() if not line[3:].startswith("bench/")]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "uncommitted_app_files": dirty}


# The data set -----------------------------------------------------------------------------------


class World:
    """Who and what the benchmark uses, read from the generated data."""

    def __init__(self) -> None:
        self.org = Organisation.objects.filter(short_name=BENCH_ORG_SHORT).first()
        if self.org is None or not Case.objects.exists():
            sys.exit("no benchmark data here: run bench/generate.py first (same DATABASE_URL)")
        self.committee = Committee.objects.get(organisation=self.org, is_default_intake=True)
        self.staff = list(self.committee.staff.order_by("id"))
        self.tokens = dict(Token.objects.filter(user__in=self.staff).values_list("user_id", "key"))
        self.category = CaseCategory.objects.filter(committee=self.committee).order_by("id").first()
        self.township_id = self.org.township_set.order_by("id").values_list("id", flat=True).first()
        members = list(Member.objects.filter(organisation=self.org, user__isnull=False).order_by("id")[:8])
        self.members = []
        for m in members:
            contacts = list(m.roster.order_by("contact_id").values_list("contact_id", flat=True)[:2])
            key = Token.objects.get(user_id=m.user_id).key
            self.members.append({"user_id": m.user_id, "token": key, "contacts": contacts})

    def member_actor(self, i: int = 0) -> User:
        # Loaded as the token authentication loads it: organisation and member in one query.
        return User.objects.select_related("organisation", "member").get(pk=self.members[i]["user_id"])

    def intake_fields(self, i: int = 0, n: int = 0) -> dict:
        return {
            "title": f"基准测试：学校门口交通拥堵（{n}）",
            "description": "上下学高峰时段车辆乱停，建议增设临时停车位并安排交警疏导。",
            "category_id": self.category.pk,
            "township_id": self.township_id,
            "urgency": "normal",
            "contact_ids": self.members[i]["contacts"],
            "consent_to_share": True,
        }

    def intake_body(self, i: int = 0) -> bytes:
        f = self.intake_fields(i)
        return json.dumps(
            {
                "title": f["title"],
                "description": f["description"],
                "category": f["category_id"],
                "township": f["township_id"],
                "urgency": "normal",
                "contacts": f["contact_ids"],
                "consent_to_share": True,
            },
            ensure_ascii=False,
        ).encode()

    def unclaimed(self) -> int:
        return CaseClock.objects.filter(queue=self.committee, state=ClockState.RUNNING, assignee__isnull=True).count()


def machine_facts() -> dict:
    with connection.cursor() as c:
        c.execute("SELECT version()")
        pg = c.fetchone()[0]
        c.execute(
            "SELECT current_setting('shared_buffers'), current_setting('work_mem'), "
            "current_setting('synchronous_commit'), current_setting('max_connections')"
        )
        shared_buffers, work_mem, sync_commit, max_conn = c.fetchone()
        c.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'viewflow_task'")
        tasks = c.fetchone()[0]
        c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = c.fetchone()[0]
    lat_rt, lat_commit = [], []
    for _ in range(300):
        t = time.perf_counter()
        with connection.cursor() as c:
            c.execute("SELECT 1")
            c.fetchall()
        lat_rt.append(time.perf_counter() - t)
    for _ in range(100):
        t = time.perf_counter()
        with transaction.atomic(), connection.cursor() as c:
            c.execute(
                "UPDATE casework_organisation SET short_name = short_name WHERE id = "
                "(SELECT min(id) FROM casework_organisation)"
            )
        lat_commit.append(time.perf_counter() - t)
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import rest_framework
    import viewflow

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "django": django.get_version(),
        "viewflow": getattr(viewflow, "__version__", "?"),
        "drf": rest_framework.VERSION,
        "postgresql": pg,
        "pg_shared_buffers": shared_buffers,
        "pg_work_mem": work_mem,
        "pg_synchronous_commit": sync_commit,
        "pg_max_connections": max_conn,
        "database": connection.settings_dict["NAME"],
        "database_size": size,
        "viewflow_task_rows": tasks,
        "cases": Case.objects.order_by("-id").values_list("id", flat=True).first(),
        "db_round_trip_ms": ms(statistics.median(lat_rt)),
        "db_update_commit_ms": ms(statistics.median(lat_commit)),
    }


# gunicorn ---------------------------------------------------------------------------------------


class Gunicorn:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ)
        env.pop("DJANGO_DEBUG", None)
        self.log = tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [
                GUNICORN,
                "config.wsgi",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "--keep-alive",
                "5",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self) -> Gunicorn:
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log.name}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/api/v1/queues/")
                c.getresponse().read()
                c.close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not answer")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


class Http:
    """One keep-alive connection (http.client reconnects by itself if the server closes it)."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Connection": "keep-alive",
        }

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        try:
            self.conn.request(method, path, body=body, headers=self.headers)
            r = self.conn.getresponse()
            return r.status, r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn.request(method, path, body=body, headers=self.headers)
            r = self.conn.getresponse()
            return r.status, r.read()


def _sleep_until(t: float) -> None:
    while True:
        d = t - time.time()
        if d <= 0:
            return
        time.sleep(min(d, 0.05))


def _api_intake_client(args: tuple) -> dict:
    port, token, body, start_at, duration = args
    http_ = Http(port, token)
    _sleep_until(start_at)
    end = start_at + duration
    lat, statuses = [], {}
    while time.time() < end:
        t = time.perf_counter()
        status, _ = http_.call("POST", "/api/v1/cases/", body)
        lat.append(time.perf_counter() - t)
        statuses[status] = statuses.get(status, 0) + 1
    return {"ok": statuses.get(201, 0), "statuses": statuses, "lat": lat}


def _api_claim_client(args: tuple) -> dict:
    port, token, path, start_at, duration = args
    http_ = Http(port, token)
    _sleep_until(start_at)
    end = start_at + duration
    lat, statuses, claims = [], {}, []
    while time.time() < end:
        t = time.perf_counter()
        status, body = http_.call("POST", path)
        lat.append(time.perf_counter() - t)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            data = json.loads(body)
            claims.append((data["case"]["id"], data["task"], data["owner"]))
    return {"ok": len(claims), "statuses": statuses, "lat": lat, "claims": claims}


def _inproc_claim_client(args: tuple) -> dict:
    """claim-next called in process, with this process's own database connection."""
    from workflows import actions

    committee_id, user_id, start_at, duration, mode = args
    actor = User.objects.select_related("organisation").get(pk=user_id)
    _sleep_until(start_at)
    end = start_at + duration
    lat, claims, conflicts, empty = [], [], 0, 0
    while time.time() < end:
        t = time.perf_counter()
        try:
            if mode == "claim_next":
                claimed = actions.queue_claim_next(committee_id=committee_id, actor=actor)
                if claimed is None:
                    empty += 1
                    continue
                claims.append((claimed.case_id, None, user_id))
            elif mode == "lean":
                claim = _lean_claim(committee_id, actor)
                if claim is None:
                    empty += 1
                    continue
                claims.append((claim, None, user_id))
            else:
                # viewflow's own path: the head of the queue, unlocked, claimed through
                # task.activation() (process row FOR UPDATE NOWAIT, retried with back-off).
                head = (
                    CaseClock.objects.filter(queue_id=committee_id, state=ClockState.RUNNING, assignee__isnull=True)
                    .order_by("due_at", "id")
                    .values_list("case_id", flat=True)
                    .first()
                )
                if head is None:
                    empty += 1
                    continue
                actions.case_claim(case_id=head, actor=actor)
                claims.append((head, None, user_id))
            lat.append(time.perf_counter() - t)
        except Conflict:
            conflicts += 1
    connection.close()
    return {"ok": len(claims), "statuses": {"conflict": conflicts, "empty": empty}, "lat": lat, "claims": claims}


def _lean_claim(committee_id: int, actor: User) -> int | None:
    """A suggested design, measured: the same rows as queue_claim_next writes (task owner, status
    and assigned; clock assignee and claimed_at; one chained case.claimed event) in 6 statements.
    The clock row is taken with SKIP LOCKED, the case row locked (it serialises the audit stream),
    the task taken by a conditional UPDATE (status NEW, no owner), which waits for and then loses
    to any flow transition holding that task row: no process lock (NOWAIT, savepoints, re-reads).
    Caveat for a real change: this locks clock before case, the flow steps case before clock."""
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    from casework.services.audit import audit_record, case_stream

    with transaction.atomic():
        row = (
            CaseClock.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(queue_id=committee_id, state=ClockState.RUNNING, assignee__isnull=True)
            .order_by("due_at", "id")
            .values_list("id", "case_id", "task_id", "stage", "organisation_id")
            .first()
        )
        if row is None:
            return None
        clock_id, case_id, task_id, stage, org_id = row
        # The case row serialises its audit stream (as lock_case does in the app).
        Case.objects.select_for_update().filter(pk=case_id).values_list("id").first()
        now = timezone.now()
        taken = Task.objects.filter(pk=task_id, status=STATUS.NEW, owner__isnull=True).update(
            owner_id=actor.pk, status=STATUS.ASSIGNED, assigned=now
        )
        if taken != 1:
            raise Conflict()
        CaseClock.objects.filter(pk=clock_id).update(assignee_id=actor.pk, claimed_at=now)
        audit_record(
            stream=case_stream(case_id),
            actor=actor,
            action="case.claimed",
            target_type="case",
            target_id=case_id,
            organisation_id=org_id,
            changes={"stage": stage},
        )
    return case_id


def run_clients(fn, args_list: list[tuple]) -> list[dict]:
    connections.close_all()  # never share a connection with forked children
    ctx = mp.get_context("fork")
    with ctx.Pool(len(args_list)) as pool:
        return pool.map(fn, args_list)


def summarise(results: list[dict], duration: float) -> dict:
    ok = sum(r["ok"] for r in results)
    lat = [x for r in results for x in r["lat"]]
    statuses: dict = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[str(k)] = statuses.get(str(k), 0) + v
    return {
        "count": ok,
        "per_s": round(ok / duration, 1),
        "lat_median_ms": ms(statistics.median(lat)) if lat else None,
        "lat_p95_ms": ms(pct(lat, 0.95)) if lat else None,
        "statuses": statuses,
    }


def check_claims(results: list[dict], since: datetime, committee_id: int) -> dict:
    """No double claim: claims vs distinct cases and tasks; viewflow owner = clock assignee =
    the client that got it; exactly one case.claimed event per claim."""
    claims = [c for r in results for c in r["claims"]]
    case_ids = [c[0] for c in claims]
    by_case = {c[0]: c[2] for c in claims}
    task_ids = [c[1] for c in claims if c[1] is not None]
    with connection.cursor() as cur:
        cur.execute(
            """SELECT k.case_id, k.assignee_id, t.owner_id, t.status, t.id FROM casework_caseclock k
               JOIN viewflow_task t ON t.id = k.task_id
               WHERE k.case_id = ANY(%s) AND k.state = 'running' AND k.queue_id = %s""",
            [case_ids, committee_id],
        )
        rows = cur.fetchall()
        cur.execute(
            """SELECT target_id, count(*) FROM casework_auditevent
               WHERE action = 'case.claimed' AND target_type = 'case' AND target_id = ANY(%s) AND occurred_at >= %s
               GROUP BY target_id""",
            [case_ids, since],
        )
        events = dict(cur.fetchall())
        # Any claim made in the window at all, also by a client that did not report it.
        cur.execute(
            """SELECT count(*) FROM casework_caseclock WHERE queue_id = %s AND claimed_at >= %s
               AND state = 'running' AND assignee_id IS NOT NULL""",
            [committee_id, since],
        )
        claimed_in_db = cur.fetchone()[0]
    mismatched = [r for r in rows if not (r[1] == r[2] == by_case.get(r[0]) and r[3] == "ASSIGNED")]
    return {
        "claims": len(claims),
        "distinct_cases": len(set(case_ids)),
        "distinct_tasks": len(set(task_ids)) if task_ids else len({r[4] for r in rows}),
        "clocks_found": len(rows),
        "claimed_clocks_in_db_since_start": claimed_in_db,
        "owner_assignee_mismatches": len(mismatched),
        "claim_events": sum(events.values()),
        "cases_with_more_than_one_claim_event": sum(1 for v in events.values() if v > 1),
        "ok": (
            len(claims) == len(set(case_ids)) == len(rows) == claimed_in_db == sum(events.values())
            and not mismatched
            and all(v == 1 for v in events.values())
        ),
    }


# a. Intake --------------------------------------------------------------------------------------


def bench_intake_service(w: World, n: int) -> dict:
    from workflows import actions

    actor = w.member_actor(0)
    fields = w.intake_fields(0)
    for _i in range(10):  # warm-up
        actions.case_file(actor=actor, submit=True, **fields)

    # Statements of one intake: Django's capture (lists BEGIN/COMMIT) and libpq's wire trace.
    with CaptureQueriesContext(connection) as ctx:
        actions.case_file(actor=actor, submit=True, **fields)
    sqls = [q["sql"] for q in ctx.captured_queries]
    tx = [
        s
        for s in sqls
        if s.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK")
        or s.upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
    ]
    wire = None
    try:
        from psycopg.pq import Trace

        connection.ensure_connection()
        pgconn = connection.connection.pgconn
        with tempfile.NamedTemporaryFile("w+", suffix=".trace") as f:
            pgconn.trace(f.fileno())
            pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
            actions.case_file(actor=actor, submit=True, **fields)
            pgconn.untrace()
            f.seek(0)
            msgs = [line.split("\t") for line in f.read().splitlines()]
        wire = sum(1 for m in msgs if len(m) > 2 and m[0] == "F" and m[2] in ("Query", "Execute"))
    except Exception as exc:
        wire = f"unavailable: {exc}"

    t = time.perf_counter()
    for _i in range(n):
        actions.case_file(actor=actor, submit=True, **fields)
    service_s = time.perf_counter() - t

    member = actor.member
    now = timezone.now
    t = time.perf_counter()
    for _i in range(n):
        Case.objects.create(
            organisation_id=actor.organisation_id,
            member=member,
            title=fields["title"],
            description=fields["description"],
            category_id=fields["category_id"],
            township_id=fields["township_id"],
            urgency="normal",
            consent_to_share=True,
            committee_id=w.committee.pk,
            created_by=actor,
            status=CaseStatus.REVIEW,
            submitted_at=now(),
        )
    orm_s = time.perf_counter() - t
    # The baseline rows are bare cases without a flow: mark them so they are not mistaken for
    # intakes (they stay drafts-of-the-benchmark: no process, no clock, no audit).
    Case.objects.filter(title=fields["title"], process__isnull=True, status=CaseStatus.REVIEW).update(
        status=CaseStatus.DRAFT, submitted_at=None
    )
    return {
        "service_cases_per_s": round(n / service_s, 1),
        "service_ms_per_case": ms(service_s / n),
        "orm_insert_per_s": round(n / orm_s, 1),
        "orm_ms_per_case": ms(orm_s / n),
        "statements_with_begin_commit": len(sqls),
        "statements_without_begin_commit": len(sqls) - len(tx),
        "statements_on_the_wire": wire,
        "statements": sqls,
        "n": n,
    }


def bench_api_statements(w: World) -> dict:
    """Statements of one whole API intake request, in process (token auth included)."""
    client = Client(HTTP_AUTHORIZATION=f"Token {w.members[0]['token']}")
    body = w.intake_body(0)
    client.post("/api/v1/cases/", data=body, content_type="application/json")
    with CaptureQueriesContext(connection) as ctx:
        r = client.post("/api/v1/cases/", data=body, content_type="application/json")
    assert r.status_code == 201, r.content
    sqls = [q["sql"] for q in ctx.captured_queries]
    return {
        "with_begin_commit": len(sqls),
        "without_begin_commit": sum(1 for s in sqls if s.strip().upper() not in ("BEGIN", "COMMIT")),
    }


def bench_api_intake(w: World, duration: float) -> dict:
    out = {}
    with Gunicorn(workers=2) as g:
        # Warm both workers up (imports, connections).
        warm = [(g.port, w.members[i]["token"], w.intake_body(i), time.time() + 0.5, 2.0) for i in range(2)]
        run_clients(_api_intake_client, warm)
        for n_clients in (1, 2):
            args = [
                (g.port, w.members[i]["token"], w.intake_body(i), time.time() + 1.0, duration) for i in range(n_clients)
            ]
            out[f"clients_{n_clients}"] = summarise(run_clients(_api_intake_client, args), duration)
    return out


# c. Queue page ----------------------------------------------------------------------------------


def bench_queue(w: World, pages: int, skip_viewflow: bool) -> dict:
    from api.pagination import encode_cursor

    staff = w.staff[0]
    token = w.tokens[staff.pk]
    path = f"/api/v1/queues/{w.committee.pk}/tasks/"
    out: dict = {"unclaimed_in_queue": w.unclaimed()}

    # Query count and the SQL of the page, in process.
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    client.get(path + "?limit=50")
    counts = {}
    page_sql = None
    for limit in (10, 50, 100):
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(f"{path}?limit={limit}")
        assert r.status_code == 200 and len(r.json()["results"]) == limit, r.content[:200]
        counts[f"limit_{limit}"] = len(ctx.captured_queries)
        if limit == 50:
            page_sql = next(
                q["sql"] for q in ctx.captured_queries if "casework_caseclock" in q["sql"] and "ORDER BY" in q["sql"]
            )
            out["page_queries"] = [q["sql"] for q in ctx.captured_queries]
    # A deep cursor: half-way down the queue (or 100,000 rows in).
    depth = min(100_000, out["unclaimed_in_queue"] // 2)
    deep = (
        CaseClock.objects.filter(queue=w.committee, state=ClockState.RUNNING, assignee__isnull=True)
        .order_by("due_at", "id")
        .values_list("due_at", "id")[depth]
    )
    deep_cursor = encode_cursor([deep[0].isoformat(), deep[1]])
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(f"{path}?limit=50&cursor={deep_cursor}")
    assert r.status_code == 200 and len(r.json()["results"]) == 50
    counts["deep_limit_50"] = len(ctx.captured_queries)
    out["query_count"] = counts
    out["deep_page_offset"] = depth

    out["page_50_in_process"] = page_in_process(w, staff)

    # Over HTTP.
    with Gunicorn(workers=2) as g:
        http_ = Http(g.port, token)
        for _ in range(20):
            http_.call("GET", path + "?limit=50")
        lat = []
        for _ in range(pages):
            t = time.perf_counter()
            status, body = http_.call("GET", path + "?limit=50")
            lat.append(time.perf_counter() - t)
            assert status == 200
        out["page_50"] = {
            "n": pages,
            "median_ms": ms(statistics.median(lat)),
            "p95_ms": ms(pct(lat, 0.95)),
            "bytes": len(body),
        }
        lat = []
        for _ in range(20):
            http_.call("GET", path + "?limit=10")
        for _ in range(pages):
            t = time.perf_counter()
            http_.call("GET", path + "?limit=10")
            lat.append(time.perf_counter() - t)
        out["page_10"] = {"n": pages, "median_ms": ms(statistics.median(lat)), "p95_ms": ms(pct(lat, 0.95))}
        # Following `next` from the first page.
        lat, nxt = [], path + "?limit=50"
        for _ in range(50):
            t = time.perf_counter()
            status, body = http_.call("GET", nxt)
            lat.append(time.perf_counter() - t)
            link = json.loads(body)["next"]
            if link is None:
                break
            nxt = link[link.index("/api/") :]
        out["next_pages"] = {"n": len(lat), "median_ms": ms(statistics.median(lat)), "p95_ms": ms(pct(lat, 0.95))}
        # The floor of any API call here: token auth and the staff check (the page's first two
        # queries), then a 404 for a queue the user does not work.
        lat = []
        for _ in range(20):
            http_.call("GET", "/api/v1/queues/999999999/tasks/?limit=1")
        for _ in range(pages):
            t = time.perf_counter()
            status, _ = http_.call("GET", "/api/v1/queues/999999999/tasks/?limit=1")
            lat.append(time.perf_counter() - t)
        assert status == 404
        out["floor_auth_404"] = {"n": pages, "median_ms": ms(statistics.median(lat)), "p95_ms": ms(pct(lat, 0.95))}
        lat = []
        deep_path = f"{path}?limit=50&cursor={deep_cursor}"
        for _ in range(pages):
            t = time.perf_counter()
            status, body = http_.call("GET", deep_path)
            lat.append(time.perf_counter() - t)
            assert status == 200
        out["deep_page_50"] = {"n": pages, "median_ms": ms(statistics.median(lat)), "p95_ms": ms(pct(lat, 0.95))}

    # Baseline: the same SQL, replayed with psycopg (one database round trip, rows fetched).
    import psycopg

    s = connection.settings_dict
    with psycopg.connect(
        dbname=s["NAME"],
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        autocommit=True,
    ) as conn:
        cur = conn.cursor()
        for _ in range(20):
            cur.execute(page_sql)
            cur.fetchall()
        lat = []
        for _ in range(pages):
            t = time.perf_counter()
            cur.execute(page_sql)
            rows = cur.fetchall()
            lat.append(time.perf_counter() - t)
        out["raw_sql_page_50"] = {
            "n": pages,
            "median_ms": ms(statistics.median(lat)),
            "p95_ms": ms(pct(lat, 0.95)),
            "rows": len(rows),
        }
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + page_sql)
        out["raw_sql_plan"] = [r[0] for r in cur.fetchall()]

    # Contrast: viewflow's own queue, oldest first. It needs the view permission of the process
    # model (the staff group does not have it: given here in memory only) and it cannot be scoped
    # to a committee (review tasks carry no owner_permission), so it is every open human task.
    if not skip_viewflow:
        from viewflow.workflow.models import Task
        from workflows.flows import CaseFlow

        user = User.objects.get(pk=staff.pk)
        user._perm_cache = {"workflows.view_caseprocess"}
        times, timed_out = [], False
        with connection.cursor() as c:
            c.execute("SET statement_timeout = '30s'")
        try:
            for _ in range(3):
                qs = Task.objects.queue([CaseFlow], user).order_by("created")[:50]
                t = time.perf_counter()
                try:
                    rows = list(qs)
                except OperationalError:
                    timed_out = True
                    break
                times.append(time.perf_counter() - t)
            sql = str(Task.objects.queue([CaseFlow], user).order_by("created")[:50].query)
        finally:
            with connection.cursor() as c:
                c.execute("SET statement_timeout = 0")
        out["viewflow_queue_50"] = {
            "timed_out_30s": timed_out,
            "runs_ms": [ms(x) for x in times],
            "median_ms": ms(statistics.median(times)) if times else None,
            "sql": sql,
        }
    return out


def page_in_process(w: World, staff: User) -> dict:
    """Where the page's time goes, in process: the app's selector (which reads the rows as tuples
    and shapes them, the fix measured here in runs 1-3) and the JSON rendering."""
    from rest_framework.renderers import JSONRenderer

    from casework import selectors

    user = User.objects.select_related("organisation", "member").get(pk=staff.pk)
    renderer = JSONRenderer()

    def select() -> list:
        return selectors.queue_page(user, w.committee.pk, limit=50)

    def select_and_render() -> bytes:
        return renderer.render(select())

    result = {}
    for name, fn in (("select", select), ("select_and_render", select_and_render)):
        for _ in range(10):
            fn()
        lat = []
        for _ in range(100):
            t = time.perf_counter()
            fn()
            lat.append(time.perf_counter() - t)
        result[name + "_ms"] = ms(statistics.median(lat))
    return result


# d. claim-next ----------------------------------------------------------------------------------


def bench_claims(w: World, duration: float, experiments: bool = True) -> dict:
    out: dict = {"unclaimed_before": w.unclaimed()}
    staff = w.staff[:4]
    path = f"/api/v1/queues/{w.committee.pk}/claim-next/"

    with Gunicorn(workers=4) as g:
        warm = [
            (g.port, w.tokens[s.pk], f"/api/v1/queues/{w.committee.pk}/tasks/?limit=1", time.time() + 0.3, 1.0)
            for s in staff
        ]
        run_clients(_api_get_client, warm)
        since = timezone.now()
        args = [(g.port, w.tokens[s.pk], path, time.time() + 1.0, duration) for s in staff]
        results = run_clients(_api_claim_client, args)
    out["api_claim_next"] = summarise(results, duration) | {"check": check_claims(results, since, w.committee.pk)}

    since = timezone.now()
    args = [(w.committee.pk, s.pk, time.time() + 1.0, duration, "claim_next") for s in staff]
    results = run_clients(_inproc_claim_client, args)
    out["inprocess_claim_next"] = summarise(results, duration) | {"check": check_claims(results, since, w.committee.pk)}

    since = timezone.now()
    args = [(w.committee.pk, s.pk, time.time() + 1.0, duration, "viewflow") for s in staff]
    results = run_clients(_inproc_claim_client, args)
    out["inprocess_viewflow_lock"] = summarise(results, duration) | {
        "check": check_claims(results, since, w.committee.pk)
    }
    if experiments:
        since = timezone.now()
        args = [(w.committee.pk, s.pk, time.time() + 1.0, duration, "lean") for s in staff]
        results = run_clients(_inproc_claim_client, args)
        out["experiment_lean_claim"] = summarise(results, duration) | {
            "check": check_claims(results, since, w.committee.pk)
        }
    out["unclaimed_after"] = w.unclaimed()
    return out


def _api_get_client(args: tuple) -> dict:
    port, token, path, start_at, duration = args
    http_ = Http(port, token)
    _sleep_until(start_at)
    n = 0
    while time.time() < start_at + duration:
        http_.call("GET", path)
        n += 1
    return {"ok": n, "statuses": {}, "lat": []}


# Report -----------------------------------------------------------------------------------------


def report(res: dict) -> str:
    a, b, c, d = res["intake"], res["api_intake"], res["queue"], res["claims"]
    st = res["api_statements"]

    def mark(ok: bool) -> str:
        return "yes" if ok else "NO"

    rows = [
        (
            "a. intake via service (cases/s)",
            f"{a['service_cases_per_s']}",
            f"ORM insert {a['orm_insert_per_s']}/s",
            "",
            "",
        ),
        ("   ms per intake", f"{a['service_ms_per_case']}", f"ORM insert {a['orm_ms_per_case']}", "", ""),
        (
            "   statements per intake (excl. BEGIN/COMMIT)",
            f"{a['statements_without_begin_commit']}",
            "ORM insert 1",
            "<= 14",
            mark(a["statements_without_begin_commit"] <= TARGETS["statements_per_intake"]),
        ),
        (
            "   statements per intake (incl. BEGIN/COMMIT)",
            f"{a['statements_with_begin_commit']}",
            f"wire trace {a['statements_on_the_wire']}",
            "",
            "",
        ),
        (
            "   statements per API intake request (incl.)",
            f"{st['with_begin_commit']}",
            f"excl. {st['without_begin_commit']}",
            "",
            "",
        ),
        (
            "b. API intake, 1 client (cases/s)",
            f"{b['clients_1']['per_s']}",
            f"median {b['clients_1']['lat_median_ms']} ms",
            ">= 60",
            mark(b["clients_1"]["per_s"] >= TARGETS["api_intake_1_per_s"]),
        ),
        (
            "   API intake, 2 clients (cases/s)",
            f"{b['clients_2']['per_s']}",
            f"median {b['clients_2']['lat_median_ms']} ms",
            ">= 100",
            mark(b["clients_2"]["per_s"] >= TARGETS["api_intake_2_per_s"]),
        ),
        (
            "c. queue page 50 via API, median ms",
            f"{c['page_50']['median_ms']}",
            f"raw SQL {c['raw_sql_page_50']['median_ms']}",
            "< 15",
            mark(c["page_50"]["median_ms"] < TARGETS["queue_page_median_ms"]),
        ),
        (
            "   queue page 50 via API, p95 ms",
            f"{c['page_50']['p95_ms']}",
            f"raw SQL {c['raw_sql_page_50']['p95_ms']}",
            "",
            "",
        ),
        ("   queue page 10 via API, median ms", f"{c['page_10']['median_ms']}", "", "", ""),
        (
            f"   deep page 50 (row {c['deep_page_offset']:,}), median ms",
            f"{c['deep_page_50']['median_ms']}",
            f"p95 {c['deep_page_50']['p95_ms']}",
            "",
            "",
        ),
        (
            "   pages 1-50 following next, median ms",
            f"{c['next_pages']['median_ms']}",
            f"p95 {c['next_pages']['p95_ms']}",
            "",
            "",
        ),
        (
            "   queries per page (10 / 50 / 100 / deep)",
            " / ".join(str(c["query_count"][k]) for k in ("limit_10", "limit_50", "limit_100", "deep_limit_50")),
            "",
            "constant",
            mark(len(set(c["query_count"].values())) == 1),
        ),
    ]
    rows.append(
        (
            "   floor: token auth + staff check + 404, median ms",
            f"{c['floor_auth_404']['median_ms']}",
            f"p95 {c['floor_auth_404']['p95_ms']}",
            "",
            "",
        )
    )
    lp = c["page_50_in_process"]
    rows.append(
        (
            "   page 50 in process: selector + JSON ms",
            f"{lp['select_and_render_ms']}",
            f"selector only {lp['select_ms']}",
            "",
            "",
        )
    )
    if "viewflow_queue_50" in c:
        v = c["viewflow_queue_50"]
        rows.append(
            (
                "   viewflow Task.objects.queue() oldest 50, ms",
                "timed out (30 s)" if v["timed_out_30s"] else f"{v['median_ms']}",
                f"runs {v['runs_ms']}",
                "",
                "",
            )
        )
    for key, label in (
        ("api_claim_next", "d. claim-next via API, 4 clients (claims/s)"),
        ("inprocess_claim_next", "   claim-next in process, 4 procs (claims/s)"),
        ("inprocess_viewflow_lock", "   baseline viewflow NOWAIT lock, 4 procs (claims/s)"),
        ("experiment_lean_claim", "   experiment: lean claim (6 statements), 4 procs"),
    ):
        if key not in d:
            continue
        x = d[key]
        target = ">= 150" if key == "api_claim_next" else ""
        rows.append(
            (
                label,
                f"{x['per_s']}",
                f"median {x['lat_median_ms']} ms, {x['statuses']}",
                target,
                mark(x["per_s"] >= TARGETS["claims_per_s"]) if target else "",
            )
        )
        ch = x["check"]
        rows.append(
            (
                f"     no double claim ({ch['claims']} claims)",
                "ok" if ch["ok"] else "FAILED",
                f"distinct tasks {ch['distinct_tasks']}, mismatches {ch['owner_assignee_mismatches']}, "
                f"events {ch['claim_events']}",
                "none",
                mark(ch["ok"]),
            )
        )
    widths = [
        max(len(r[i]) for r in rows + [("figure", "value", "baseline / detail", "target", "met")]) for i in range(5)
    ]
    lines = []
    header = ("figure", "value", "baseline / detail", "target", "met")
    for r in [header] + rows:
        lines.append("  ".join(str(v).ljust(widths[i]) for i, v in enumerate(r)).rstrip())
        if r is header:
            lines.append("  ".join("-" * wd for wd in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--intake", type=int, default=300)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--skip-viewflow-queue", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "latest.json"))
    parser.add_argument(
        "--idle-wait",
        type=float,
        default=180.0,
        help="seconds to wait, before each phase, for other work to leave the CPUs (default 180)",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit(
            "bench/run.py needs PostgreSQL: set DATABASE_URL=postgres://... to the database bench/generate.py "
            "loaded (e.g. minqing_bench)."
        )
    IDLE["max_wait"] = args.idle_wait
    t_all = time.perf_counter()
    w = World()
    facts = machine_facts()
    print("machine: " + ", ".join(f"{k}={facts[k]}" for k in ("cpus", "cpu_model", "python", "django", "viewflow")))
    print(
        f"database: {facts['postgresql'].split(' on ')[0]}, {facts['database']} ({facts['database_size']}), "
        f"shared_buffers={facts['pg_shared_buffers']}, synchronous_commit={facts['pg_synchronous_commit']}; "
        f"{facts['cases']:,} cases, ~{facts['viewflow_task_rows']:,} viewflow tasks; round trip "
        f"{facts['db_round_trip_ms']} ms, 1-row UPDATE + COMMIT {facts['db_update_commit_ms']} ms"
    )
    print(
        f"queue: {w.committee.name} (id {w.committee.pk}) of {w.org}, {w.unclaimed():,} unclaimed tasks; "
        f"{len(w.staff)} staff",
        flush=True,
    )

    res: dict = {
        "started_at": datetime.now(UTC).isoformat(),
        "machine": facts,
        "code": git_state(),
        "committee_id": w.committee.pk,
        "targets": TARGETS,
    }
    print("a. intake through the service ...", flush=True)
    wait_idle("a")
    res["intake"] = bench_intake_service(w, args.intake)
    res["api_statements"] = bench_api_statements(w)
    print("b. intake through the API ...", flush=True)
    wait_idle("b")
    res["api_intake"] = bench_api_intake(w, args.duration)
    print("c. queue page ...", flush=True)
    wait_idle("c")
    res["queue"] = bench_queue(w, args.pages, args.skip_viewflow_queue)
    print("d. claim-next ...", flush=True)
    wait_idle("d")
    res["claims"] = bench_claims(w, args.duration)
    res["seconds"] = round(time.perf_counter() - t_all, 1)
    res["idle"] = IDLE["log"]
    table = report(res)
    print()
    print(table)
    print(
        f"\n(run took {res['seconds']}s; CPU busy with other work before each phase: "
        + ", ".join(f"{k} {v['cpu_busy_before_percent']}%" for k, v in res["idle"].items())
        + f"; code {res['code']['commit']}"
        + (
            f" + uncommitted {', '.join(res['code']['uncommitted_app_files'])}"
            if res["code"]["uncommitted_app_files"]
            else ""
        )
        + ")"
    )
    res["table"] = table.splitlines()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
