"""The leadership dashboard's server time: the median of N requests of the page (and of one
chart's XLSX export) through Django's whole stack in process (middleware, sign-in gate, the
queries, the template), as the leader of the benchmark's largest organisation.

Usage (after bench/generate.py)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_bench
    .venv/bin/python bench/dashboard.py [-n 30] [--explain]

Reads only; the one thing it writes is a confirmed TOTP device for that leader if they have none
(the page asks for the second factor), in the benchmark's own database. Runs VACUUM ANALYZE on the
case table first, as autovacuum would have on a live database, so PostgreSQL can answer the charts
from the covering index alone. Prints a table and writes bench/results/dashboard-latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils.timezone import localdate  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from casework import reports  # noqa: E402
from casework.choices import Role  # noqa: E402
from casework.models import Case, Sector, User  # noqa: E402


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
    times = sorted(times[2:])  # the first two warm the caches and the connection
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))] * 1000, 1),
        "min_ms": round(times[0] * 1000, 1),
        "n": n,
        "bytes": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="print the plan of the cases-by-status query")
    args = parser.parse_args()
    if connection.vendor != "postgresql" or "bench" not in connection.settings_dict["NAME"]:
        sys.exit("needs a PostgreSQL benchmark database (its name contains 'bench'), loaded by bench/generate.py")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE casework_case")
        cursor.execute("VACUUM ANALYZE casework_caseclock")
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
    }
    results = {}
    print(f"cases in the database: {total:,}; in the leader's organisation: {in_org:,}; n={args.n}")
    print(f"{'what':44} {'median ms':>10} {'p90 ms':>8} {'min ms':>8}")
    for name, (path, params) in cases.items():
        results[name] = timed(client, path, params, args.n)
        r = results[name]
        print(f"{name:44} {r['median_ms']:>10} {r['p90_ms']:>8} {r['min_ms']:>8}")
    if args.explain:
        filters = reports.filters_for(leader, first=first_default, last=today, sector_id=None)
        qs = reports._cases(org, filters).order_by().values_list("status").annotate(n=Count("pk"))
        print(qs.explain(analyze=True))
    out = ROOT / "bench" / "results" / "dashboard-latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "cases": total,
                "organisation_cases": in_org,
                "results": results,
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
