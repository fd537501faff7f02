"""Every work page's server time on a loaded PostgreSQL database (bench/generate.py, 1,000,000
cases): the median of N requests of each, through Django's whole stack in process (middleware,
the sign-in gate, the queries, the template), each as the person whose page it is.

Usage (after bench/generate.py; with the key files the data set was loaded with)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_bench
    .venv/bin/python bench/pages.py [-n 15]

The people: the member with the most cases; a staff member and the head of the committee with
the most unclaimed tasks; the leader of the largest organisation; and, made once if the data set
has none (the only writes, besides a confirmed TOTP device for each), a proposal office account,
a liaison of the department with the most assignments and an auditor, in that organisation.
Prints a table (target: every page under 300 ms) and writes bench/results/pages-latest.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from dashboard import signed_in, the_leader  # noqa: E402  (sets Django up against DATABASE_URL)
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from casework.choices import CaseStatus, ClockState, Role  # noqa: E402
from casework.models import Assignment, Case, CaseCategory, CaseClock, Committee, Member, User  # noqa: E402

TARGET_MS = 300


def account(org_id: int, role: str, username: str, **extra) -> User:  # type: ignore[no-untyped-def]
    """A user of `role` in the organisation: the first there is, else one made for the benchmark."""
    found = User.objects.filter(organisation_id=org_id, groups__name=role).order_by("id").first()
    if found is not None:
        return found
    user = User.objects.create(username=username, display_name=username, organisation_id=org_id, **extra)
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def timed(client, path: str, n: int) -> dict:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n + 2):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            return {"status": response.status_code}
    times = sorted(times[2:])  # the first two warm the caches and the connection
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))] * 1000, 1),
        "n": n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=15)
    args = parser.parse_args()
    if connection.vendor != "postgresql" or "bench" not in connection.settings_dict["NAME"]:
        sys.exit("needs a PostgreSQL benchmark database (its name contains 'bench'), loaded by bench/generate.py")

    busiest = (
        CaseClock.objects.filter(state=ClockState.RUNNING, assignee__isnull=True)
        .values("queue_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    committee = Committee.objects.get(pk=busiest["queue_id"])
    org_id = committee.organisation_id
    holders = dict(
        CaseClock.objects.filter(queue=committee, state=ClockState.RUNNING, assignee__isnull=False)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    team = list(committee.staff.order_by("id"))
    staff = max(team, key=lambda u: holders.get(u.pk, 0))
    head = committee.head
    top = Case.objects.values("member_id").annotate(n=Count("id")).order_by("-n").first()
    member = Member.objects.select_related("user").get(pk=top["member_id"]).user
    leader = the_leader()
    busiest_department = (
        Assignment.objects.filter(organisation_id=org_id)
        .values("department_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    office = account(org_id, Role.PROPOSAL_OFFICE, "bench_office")
    liaison = account(
        org_id,
        Role.DEPARTMENT_LIAISON,
        "bench_liaison",
        department_id=busiest_department["department_id"] if busiest_department else None,
    )
    auditor = account(org_id, Role.AUDITOR, "bench_auditor")
    member_case = Case.objects.filter(member__user=member).order_by("-id").values_list("id", flat=True).first()
    staff_case = (
        Case.objects.filter(committee=committee, status=CaseStatus.REVIEW).order_by("-id").values_list("id", flat=True)
    ).first()
    category = CaseCategory.objects.filter(committee=committee).order_by("id").values_list("id", flat=True).first()

    q = committee.pk
    pages = [
        ("member", member, "home (what waits, my cases, my contacts)", "/"),
        ("member", member, "file a concern (form)", "/cases/new/"),
        ("member", member, "a case of theirs", f"/cases/{member_case}/"),
        ("staff", staff, "home", "/"),
        ("staff", staff, "queue page", f"/queues/{q}/"),
        ("staff", staff, "queue page, overdue", f"/queues/{q}/?sla=breached"),
        ("staff", staff, "queue page, a category, anyone's", f"/queues/{q}/?category={category}&claimed=anyone"),
        ("staff", staff, "queue page, text search", f"/queues/{q}/?q=%E5%AD%A6%E6%A0%A1"),
        ("staff", staff, "my tasks", "/tasks/"),
        ("staff", staff, "a case in review", f"/cases/{staff_case}/"),
        ("head", head, "team page", f"/team/{q}/"),
        ("leader", leader, "home", "/"),
        ("leader", leader, "dashboard (default range)", "/dashboard/"),
        ("office", office, "proposal office desk", "/office/"),
        ("liaison", liaison, "department desk", "/desk/"),
        ("auditor", auditor, "audit trail", "/audit/"),
        ("staff", staff, "notifications", "/notifications/"),
    ]
    clients = {}
    results = []
    total = Case.objects.count()
    print(f"PostgreSQL {connection.pg_version}; cases in the database: {total:,}; n={args.n} a page")
    print(f"{'who':8} {'page':46} {'median ms':>10} {'p90 ms':>8}")
    for who, user, name, path in pages:
        if user is None:
            print(f"{who:8} {name:46} {'(no such user)':>10}")
            continue
        if user.pk not in clients:
            clients[user.pk] = signed_in(user)
        r = timed(clients[user.pk], path, args.n)
        results.append({"who": who, "page": name, "path": path, **r})
        if "status" in r:
            print(f"{who:8} {name:46} {'answered ' + str(r['status']):>10}")
            continue
        mark = "✔" if r["median_ms"] < TARGET_MS else "✘"
        print(f"{who:8} {name:46} {r['median_ms']:>10} {r['p90_ms']:>8} {mark}")
    out = ROOT / "bench" / "results" / "pages-latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"cases": total, "results": results, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
