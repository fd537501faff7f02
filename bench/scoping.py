"""What access scoping and the decryption of personal data add to the queue page and the case
detail, on a loaded PostgreSQL database (bench/generate.py, 1,000,000 cases).

Usage (after bench/generate.py)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_bench
    .venv/bin/python bench/scoping.py [--rounds 10] [--cases 100]

Each request goes through Django's whole stack in process (middleware, the sign-in gate, the
queries, the template or serializer), signed in as a staff member of the committee with the most
unclaimed tasks and as the member with the most cases, in two variants alternated round by round:

- deployed: as the site runs; every case read starts at `casework.access.visible_cases`, a queue
  at the committee check, and each constituent's phone is decrypted (SM4-GCM or AES-256-GCM);
- baseline: the same requests with the scoping replaced by every case (`visible_cases` answering
  all cases, the committee check always passing) and the decryption by handing back the stored
  text.

It prints, per request, the median of each variant and the difference in per cent (the target:
at most 15 %), every round's medians, and writes bench/results/scoping-latest.json. Reads only;
the one thing it writes is a confirmed TOTP device for each of the two users if they have none.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from dashboard import signed_in  # noqa: E402  (sets Django up against DATABASE_URL)
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from casework import access, pii  # noqa: E402
from casework.choices import CaseStatus, ClockState, Role  # noqa: E402
from casework.models import Case, CaseClock, Member, User  # noqa: E402


def the_staff() -> tuple[User, int]:
    """A staff member of the committee with the most unclaimed tasks, and that committee."""
    busiest = (
        CaseClock.objects.filter(state=ClockState.RUNNING, assignee__isnull=True)
        .values("queue_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    assert busiest, "no unclaimed task: load the database with bench/generate.py"
    committee_id = busiest["queue_id"]
    staff = (
        User.objects.filter(groups__name=Role.COMMITTEE_STAFF, staffed_committees__id=committee_id)
        .order_by("id")
        .first()
    )
    assert staff is not None, f"committee {committee_id} has no staff"
    return staff, committee_id


def the_member() -> User:
    top = Case.objects.values("member_id").annotate(n=Count("id")).order_by("-n").first()
    member = Member.objects.select_related("user").get(pk=top["member_id"])
    return member.user


def timed(client, path: str, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds of each variant, alternated")
    parser.add_argument("--cases", type=int, default=100, help="case details read a round")
    parser.add_argument("--pages", type=int, default=20, help="queue pages read a round")
    args = parser.parse_args()
    if connection.vendor != "postgresql" or "bench" not in connection.settings_dict["NAME"]:
        sys.exit("needs a PostgreSQL benchmark database (its name contains 'bench'), loaded by bench/generate.py")

    staff, committee_id = the_staff()
    member = the_member()
    rng = random.Random(7)
    staff_cases = list(
        Case.objects.filter(committee_id=committee_id)
        .exclude(status=CaseStatus.DRAFT)
        .order_by("?")
        .values_list("id", flat=True)[: args.cases]
    )
    member_cases = list(Case.objects.filter(member__user=member).values_list("id", flat=True))
    rng.shuffle(member_cases)
    member_cases = member_cases[: args.cases]
    as_staff, as_member = signed_in(staff), signed_in(member)

    requests = {
        "queue page (staff)": lambda: timed(as_staff, f"/queues/{committee_id}/", args.pages),
        "queue, API first page (staff)": lambda: timed(as_staff, f"/api/v1/queues/{committee_id}/tasks/", args.pages),
        "case page (staff)": lambda: [t for c in staff_cases for t in timed(as_staff, f"/cases/{c}/", 1)],
        "case detail, API (staff)": lambda: [t for c in staff_cases for t in timed(as_staff, f"/api/v1/cases/{c}/", 1)],
        "case detail, API (member, phones decrypted)": lambda: [
            t for c in member_cases for t in timed(as_member, f"/api/v1/cases/{c}/", 1)
        ],
    }

    real_visible, real_staff, real_decrypt = (
        access.visible_cases,
        access.is_committee_staff,
        pii.EncryptedTextField.from_db_value,
    )

    def deployed() -> None:
        access.visible_cases = real_visible  # type: ignore[assignment]
        access.is_committee_staff = real_staff  # type: ignore[assignment]
        pii.EncryptedTextField.from_db_value = real_decrypt  # type: ignore[method-assign]

    def baseline() -> None:
        access.visible_cases = lambda user: Case.objects.all()  # type: ignore[assignment]
        access.is_committee_staff = lambda user, committee_id: True  # type: ignore[assignment]
        pii.EncryptedTextField.from_db_value = lambda self, value, expression, conn: value  # type: ignore[method-assign]

    for variant in (deployed, baseline):  # warm both
        variant()
        for run in requests.values():
            run()

    rounds: dict[str, dict[str, list[float]]] = {name: {"deployed": [], "baseline": []} for name in requests}
    every: dict[str, dict[str, list[float]]] = {name: {"deployed": [], "baseline": []} for name in requests}
    for i in range(args.rounds):
        for variant in (deployed, baseline) if i % 2 == 0 else (baseline, deployed):
            variant()
            for name, run in requests.items():
                times = run()
                every[name][variant.__name__] += times
                rounds[name][variant.__name__].append(statistics.median(times) * 1000)
    deployed()

    total = Case.objects.count()
    print(f"PostgreSQL {connection.pg_version}; cases in the database: {total:,}; rounds {args.rounds} of each")
    print(f"staff {staff.username} of committee {committee_id}; member {member.username} ({len(member_cases)} cases)")
    print(f"{'request':46} {'deployed ms':>12} {'baseline ms':>12} {'added':>8}")
    results = {}
    for name in requests:
        dep = statistics.median(every[name]["deployed"]) * 1000
        base = statistics.median(every[name]["baseline"]) * 1000
        added = (dep - base) / base * 100
        results[name] = {
            "deployed_median_ms": round(dep, 2),
            "baseline_median_ms": round(base, 2),
            "added_percent": round(added, 1),
            "round_medians_ms": {k: [round(v, 2) for v in vs] for k, vs in rounds[name].items()},
        }
        print(f"{name:46} {dep:>12.2f} {base:>12.2f} {added:>+7.1f}%")
    print("every round's median (deployed | baseline), ms:")
    for name in requests:
        r = results[name]["round_medians_ms"]
        print(f"  {name}: {r['deployed']} | {r['baseline']}")
    out = ROOT / "bench" / "results" / "scoping-latest.json"
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
