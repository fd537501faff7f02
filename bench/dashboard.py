"""The leadership dashboard's server time: the median of N requests of the page (and of one
chart's XLSX export) through Django's whole stack in process (middleware, sign-in gate, the
queries, the template), as the leader of the benchmark's largest organisation.

Usage (after bench/generate.py)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_bench
    .venv/bin/python bench/dashboard.py [-n 30] [--explain]

    .venv/bin/python bench/dashboard.py --refresh     # rebuild the monthly roll-up first, timed
    .venv/bin/python bench/dashboard.py --live        # the live read, the roll-up ignored

Each figure says which path the page took: "rollup" (whole months from the monthly roll-up, the
partial months and the current one from the cases) or "live" (every case read: no roll-up yet,
or `--live`). `--refresh` times `casework.services.dashboard_rollup.refresh` of every
organisation (the beat task's work) before measuring.

Reads only, but for the roll-up `--refresh` rebuilds and a confirmed TOTP device for that leader
if they have none (the page asks for the second factor), in the benchmark's own database. Runs
VACUUM ANALYZE on the case table first, as autovacuum would have on a live database, so
PostgreSQL can answer the charts from the covering index alone. Prints a table, writes
bench/results/dashboard-latest.json and appends the run to bench/results/dashboard-history.jsonl
(every run is kept, not the best).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils.timezone import localdate  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from casework import reports  # noqa: E402
from casework.choices import Role  # noqa: E402
from casework.models import Case, DashboardMonth, Organisation, Sector, User  # noqa: E402
from casework.services import dashboard_rollup  # noqa: E402


def the_leader() -> User:
    """The leadership user of the organisation with the most cases."""
    leaders = User.objects.filter(groups__name=Role.LEADERSHIP, organisation__isnull=False)
    counts = dict(
        Case.objects.values_list("organisation_id").annotate(n=Count("pk")).values_list("organisation_id", "n")
    )
    return max(leaders, key=lambda u: counts.get(u.organisation_id, 0))


def signed_in(user: User) -> Client:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def timed(client: Client, path: str, params: dict, n: int) -> dict:
    times = []
    size = 0
    for _ in range(n + 2):
        start = time.perf_counter()
        response = client.get(path, params)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, params, response.status_code)
        size = len(response.content)
        said = re.search(rb'data-dashboard-path="(\w+)"', response.content)
    times = sorted(times[2:])  # the first two warm the caches and the connection
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))] * 1000, 1),
        "min_ms": round(times[0] * 1000, 1),
        "n": n,
        "bytes": size,
        **({"page_says": said.group(1).decode()} if said else {}),
    }


def which_path(leader: User, path: str, params: dict) -> str:
    """Which read the request took ("rollup" or "live"): the page's own reading, asked again for
    the same filter (the page says it too, in `data-dashboard-path`)."""
    first = date.fromisoformat(params["first"]) if "first" in params else None
    sector = int(params["sector"]) if "sector" in params else None
    filters = reports.filters_for(leader, first=first, last=None, sector_id=sector)
    key = "status" if path == "/dashboard/" else path.rsplit("/", 1)[1].removesuffix(".xlsx")
    return reports.read(leader, filters, keys=(key,)).path


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="print the plan of the cases-by-status query")
    parser.add_argument("--refresh", action="store_true", help="rebuild the monthly roll-up first, timed")
    parser.add_argument("--live", action="store_true", help="ignore the roll-up: every case read live")
    parser.add_argument("--note", default="", help="kept with the run in dashboard-history.jsonl")
    args = parser.parse_args()
    if args.live:
        settings.MINQING_DASHBOARD_ROLLUP_SECONDS = 0  # what the page reads it by: 0 is "no roll-up"
    if connection.vendor != "postgresql" or "bench" not in connection.settings_dict["NAME"]:
        sys.exit("needs a PostgreSQL benchmark database (its name contains 'bench'), loaded by bench/generate.py")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE casework_case")
        cursor.execute("VACUUM ANALYZE casework_caseclock")
    refreshes = []
    if args.refresh:
        for org_id, name in Organisation.objects.order_by("pk").values_list("pk", "name"):
            start = time.perf_counter()
            state = dashboard_rollup.refresh(org_id)
            took = round((time.perf_counter() - start) * 1000)
            cases = Case.objects.filter(organisation_id=org_id).count()
            refreshes.append({"organisation": name, "cases": cases, "rows": state.rows, "ms": took})
            print(f"roll-up refresh: {name} ({cases:,} cases): {state.rows:,} rows in {took:,} ms", flush=True)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {DashboardMonth._meta.db_table}")
    leader = the_leader()
    org = leader.organisation_id
    total = Case.objects.count()
    in_org = Case.objects.filter(organisation_id=org).count()
    client = signed_in(leader)
    today = localdate()
    first_default, _ = reports.default_range(today)
    sector = Sector.objects.filter(organisation_id=org).annotate(n=Count("members")).order_by("-n").first()
    cases = {
        "page, default range (a year of months)": ("/dashboard/", {}),
        "page, three years": ("/dashboard/", {"first": date(today.year - 3, 1, 1).isoformat()}),
        "page, a year, one sector": ("/dashboard/", {"sector": str(sector.pk)} if sector else {}),
        "export, cases by status (XLSX)": ("/dashboard/export/status.xlsx", {}),
        "export, monthly trend (XLSX)": ("/dashboard/export/trend.xlsx", {}),
        "export, outputs (XLSX)": ("/dashboard/export/outputs.xlsx", {}),
    }
    results = {}
    print(f"cases in the database: {total:,}; in the leader's organisation: {in_org:,}; n={args.n}")
    print(f"{'what':44} {'path':>7} {'median ms':>10} {'p90 ms':>8} {'min ms':>8}")
    for name, (path, params) in cases.items():
        results[name] = timed(client, path, params, args.n)
        r = results[name]
        r["path"] = which_path(leader, path, params)
        assert r.get("page_says", r["path"]) == r["path"], r
        print(f"{name:44} {r['path']:>7} {r['median_ms']:>10} {r['p90_ms']:>8} {r['min_ms']:>8}", flush=True)
    if args.explain:
        filters = reports.filters_for(leader, first=first_default, last=today, sector_id=None)
        qs = reports._cases(org, filters).order_by().values_list("status").annotate(n=Count("pk"))
        print(qs.explain(analyze=True))
    out = ROOT / "bench" / "results" / "dashboard-latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    run = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit(),
        "note": args.note,
        "database": connection.settings_dict["NAME"],
        "cases": total,
        "organisation_cases": in_org,
        "n": args.n,
        "live": args.live,
        "load_average": list(os.getloadavg()),
        "refresh": refreshes,
        "results": results,
    }
    out.write_text(json.dumps(run, ensure_ascii=False, indent=2))
    with (ROOT / "bench" / "results" / "dashboard-history.jsonl").open("a") as history:
        history.write(json.dumps(run, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
