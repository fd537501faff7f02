"""What every benchmark phase shares: Django set up against the benchmark database, the people
and queue it uses (`World`), gunicorn started and stopped, keep-alive HTTP clients, client
processes started together, and the summaries and checks of their results."""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, connections, transaction  # noqa: E402

from casework.choices import AuditAction, ClockState  # noqa: E402
from casework.models import ApiToken, CaseCategory, CaseClock, Committee, Member, Organisation, User  # noqa: E402

GUNICORN = str(BASE_DIR / ".venv" / "bin" / "gunicorn")
BENCH_ORG_SHORT = "黄岩区政协"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def latency(lat: list[float]) -> dict:
    return {"n": len(lat), "median_ms": ms(statistics.median(lat)), "p95_ms": ms(pct(lat, 0.95))} if lat else {"n": 0}


class World:
    """Who and what the benchmark uses, read from the generated data: the benchmark
    organisation's default intake committee (the largest queue), its staff, and members."""

    def __init__(self) -> None:
        self.org = Organisation.objects.filter(short_name=BENCH_ORG_SHORT).first()
        if self.org is None:
            sys.exit("no benchmark data here: run bench/generate.py first (same DATABASE_URL)")
        self.committee = Committee.objects.get(organisation=self.org, is_default_intake=True)
        self.staff = list(self.committee.staff.order_by("id"))
        # Tokens are stored as digests: the run issues its own (each replaces the user's last).
        with transaction.atomic():
            self.tokens = {u.pk: ApiToken.replace(u)[1] for u in self.staff}
        category = CaseCategory.objects.filter(committee=self.committee).order_by("id").first()
        assert category is not None
        self.category_id = category.pk
        self.township_id = self.org.township_set.order_by("id").values_list("id", flat=True).first()
        self.members = []
        for m in Member.objects.filter(organisation=self.org, user__isnull=False).order_by("id")[:8]:
            contacts = list(m.roster.order_by("contact_id").values_list("contact_id", flat=True)[:2])
            with transaction.atomic():
                key = ApiToken.replace(m.user)[1]
            self.members.append({"user_id": m.user_id, "token": key, "contacts": contacts})

    def member_actor(self, i: int = 0) -> User:
        # Loaded as the token authentication loads it: organisation and member in one query.
        return User.objects.select_related("organisation", "member").get(pk=self.members[i]["user_id"])

    def intake(self, i: int = 0) -> dict:
        """The input of one intake, as `actions.file_case` and the API take it."""
        return {
            "title": "基准测试：学校门口交通拥堵",
            "description": "上下学高峰时段车辆乱停，建议增设临时停车位并安排交警疏导。",
            "category": self.category_id,
            "township": self.township_id,
            "urgency": "normal",
            "contacts": self.members[i]["contacts"],
            "consent_to_share": True,
            "submit": True,
        }

    def intake_body(self, i: int = 0) -> bytes:
        return json.dumps(self.intake(i), ensure_ascii=False).encode()

    def unclaimed(self) -> int:
        return CaseClock.objects.filter(queue=self.committee, state=ClockState.RUNNING, assignee__isnull=True).count()

    def queue_head(self, n: int) -> list[int]:
        """The case ids of the first `n` unclaimed tasks of the queue, most urgent first."""
        rows = (
            CaseClock.objects.filter(queue=self.committee, state=ClockState.RUNNING, assignee__isnull=True)
            .order_by("due_at", "id")
            .values_list("case_id", flat=True)[:n]
        )
        return list(rows)


# gunicorn and HTTP ------------------------------------------------------------------------------


class Gunicorn:
    """The app under gunicorn, as deployed (DJANGO_DEBUG unset), on a free local port."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ)
        env.pop("DJANGO_DEBUG", None)
        self.log = tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [GUNICORN, "config.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}"]
            + ["--log-level", "warning", "--keep-alive", "5"],
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
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer")

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


class Http:
    """One keep-alive connection (reopened if the server closes it)."""

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

    def timed(self, method: str, path: str, n: int, body: bytes | None = None) -> tuple[list[float], int, bytes]:
        lat, status, data = [], 0, b""
        for _ in range(n):
            t = time.perf_counter()
            status, data = self.call(method, path, body)
            lat.append(time.perf_counter() - t)
        return lat, status, data


# Client processes -------------------------------------------------------------------------------


def sleep_until(t: float) -> None:
    while (d := t - time.time()) > 0:
        time.sleep(min(d, 0.05))


def get_client(args: tuple) -> dict:
    """GET `path` over one keep-alive connection from `start_at` for `duration` seconds (after
    ten warm-up requests, which also warm the gunicorn worker the connection landed on)."""
    port, token, path, start_at, duration = args
    http = Http(port, token)
    http.timed("GET", path, 10)
    sleep_until(start_at)
    lat, statuses = [], {}
    while time.time() < start_at + duration:
        t = time.perf_counter()
        status, _ = http.call("GET", path)
        lat.append(time.perf_counter() - t)
        statuses[status] = statuses.get(status, 0) + 1
    return {"ok": statuses.get(200, 0), "statuses": statuses, "lat": lat, "elapsed": time.time() - start_at}


def run_clients(fn: Callable[[tuple], dict], args_list: list[tuple]) -> list[dict]:
    """Run `fn` in one forked process per argument tuple, all at once."""
    connections.close_all()  # never share a connection with forked children
    ctx = mp.get_context("fork")
    with ctx.Pool(len(args_list)) as pool:
        return pool.map(fn, args_list)


def summarise(results: list[dict]) -> dict:
    """Throughput over the time the clients actually ran (from the common start to the last
    one's last answer), latencies, and what else they got back."""
    ok = sum(r["ok"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    lat = [x for r in results for x in r["lat"]]
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[str(k)] = statuses.get(str(k), 0) + v
    return {
        "count": ok,
        "seconds": round(elapsed, 2),
        "per_s": round(ok / elapsed, 1) if elapsed else 0.0,
        "lat_median_ms": ms(statistics.median(lat)) if lat else None,
        "lat_p95_ms": ms(pct(lat, 0.95)) if lat else None,
        "statuses": statuses,
    }


def check_claims(results: list[dict], since: Any, committee_id: int) -> dict:
    """No double claim: as many claims as distinct cases; the task's owner is the clock's
    assignee and the client that got it; one case.claimed event per claim; and nothing claimed
    in the window that no client reported."""
    claims = [c for r in results for c in r["claims"]]
    case_ids = [c[0] for c in claims]
    by_case = {c[0]: c[1] for c in claims}
    with connection.cursor() as cur:
        cur.execute(
            """SELECT k.case_id, k.assignee_id, t.owner_id, t.status FROM casework_caseclock k
               JOIN viewflow_task t ON t.id = k.task_id
               WHERE k.case_id = ANY(%s) AND k.state = 'running' AND k.queue_id = %s""",
            [case_ids, committee_id],
        )
        rows = cur.fetchall()
        cur.execute(
            """SELECT target_id, count(*) FROM casework_auditevent
               WHERE action = %s AND target_type = 'case' AND target_id = ANY(%s) AND occurred_at >= %s
               GROUP BY target_id""",
            [AuditAction.CASE_CLAIMED.value, case_ids, since],
        )
        events = dict(cur.fetchall())
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
        "clocks_found": len(rows),
        "claimed_in_db_since_start": claimed_in_db,
        "owner_assignee_mismatches": len(mismatched),
        "claim_events": sum(events.values()),
        "ok": (
            len(claims) == len(set(case_ids)) == len(rows) == claimed_in_db == sum(events.values())
            and not mismatched
            and all(v == 1 for v in events.values())
        ),
    }


# Facts of the run -------------------------------------------------------------------------------


def cpu_busy(interval: float = 1.0) -> float:
    """Share of all CPUs busy over `interval` seconds (from /proc/stat), 0-100: measured before
    each phase and kept with its figures, never waited on."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0)

    try:
        t1, i1 = sample()
        time.sleep(interval)
        t2, i2 = sample()
    except OSError:
        return float("nan")
    return round(100.0 * (1 - (i2 - i1) / max(1, t2 - t1)), 1)


def load() -> dict:
    """The machine's load as a phase starts."""
    try:
        avg = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        avg = []
    return {"cpu_busy_percent": cpu_busy(), "loadavg": avg}


def git_state() -> dict:
    """The commit measured, and any file that differs from it (bench/ included: a change to
    the benchmark changes what it measures too; its results aside)."""

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=BASE_DIR, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    dirty = [path for path in changed if not path.startswith("bench/results/")]
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip(),
        "branch": git("branch", "--show-current").strip(),
        "dirty": dirty,
    }


def machine_facts() -> dict:
    import platform

    import rest_framework
    import viewflow

    with connection.cursor() as c:
        c.execute("SELECT version()")
        pg = c.fetchone()[0]
        c.execute(
            "SELECT current_setting('shared_buffers'), current_setting('work_mem'), "
            "current_setting('synchronous_commit'), current_setting('max_connections')"
        )
        shared_buffers, work_mem, sync_commit, max_conn = c.fetchone()
        c.execute("SELECT count(*) FROM casework_case")
        cases = c.fetchone()[0]
        c.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'viewflow_task'")
        tasks = c.fetchone()[0]
        c.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = c.fetchone()[0]
    round_trip = []
    for _ in range(300):
        t = time.perf_counter()
        with connection.cursor() as c:
            c.execute("SELECT 1")
            c.fetchall()
        round_trip.append(time.perf_counter() - t)
    model = ""
    try:
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in line
            ),
            "",
        )
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    except OSError:
        memory = ""
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_kb": int(memory) if memory else None,
        "python": platform.python_version(),
        "django": django.get_version(),
        "viewflow": getattr(viewflow, "__version__", "?"),
        "drf": rest_framework.VERSION,
        "postgresql": pg.split(" on ")[0],
        "pg_shared_buffers": shared_buffers,
        "pg_work_mem": work_mem,
        "pg_synchronous_commit": sync_commit,
        "pg_max_connections": max_conn,
        "database": connection.settings_dict["NAME"],
        "database_size": size,
        "cases": cases,
        "viewflow_task_rows_estimate": tasks,
        "db_round_trip_ms": ms(statistics.median(round_trip)),
    }
