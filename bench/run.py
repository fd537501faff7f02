"""The benchmark: intake, the queue page and claim-next, each beside a baseline measured in the
same run, on the data set of bench/generate.py. Every run is appended to
bench/results/history.jsonl (bench/history.py lists them); the last one's detail is also in
bench/results/latest.json.

Usage (from the project root, after bench/generate.py)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_bench .venv/bin/python bench/run.py

Options: ``--duration S`` (seconds per concurrent run, default 10), ``--intake N`` (intakes per
in-process run, default 300), ``--pages N`` (requests per sequential page figure, default 200),
``--quick`` (3 s, 100 intakes, 60 pages: a smoke run on a small data set), ``--note TEXT`` (kept
with the run), ``--no-history`` (do not append this run). About two minutes with the defaults.

What it measures (each module's docstring says how):

a. intake through ``actions.file_case`` in process, beside a bare insert of the same case row;
   statements per intake (bench/phase_intake.py);
b. intake over HTTP (``POST /api/v1/cases/``), one client process and two, gunicorn --workers 2;
c. the queue page over HTTP, one reader and four at once, beside the raw SQL on the same partial
   index replayed with psycopg (bench/phase_queue.py);
d. claim-next over HTTP and in process, 4 clients, beside the claim transition through
   viewflow's own lock with each client on its own rows; every run checked for double claims
   (bench/phase_claims.py).

Nothing waits for the machine to be idle: the load before each phase is measured and kept with
the figures, so a figure taken on a busy machine says so. It files cases and claims tasks: run
bench/generate.py --reset for a pristine data set. gunicorn is started and stopped here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import history
import phase_claims
import phase_intake
import phase_queue
from django.db import connection
from harness import BASE_DIR, World, git_state, load, machine_facts

RESULTS = BASE_DIR / "bench" / "results"
TARGETS = {
    "queue_page_median_ms": 15.0,
    "claims_per_s": 150.0,
    "api_intake_1_per_s": 60.0,
    "api_intake_2_per_s": 100.0,
    "statements_per_intake": 14,
}


@dataclass
class Figure:
    key: str  # its name in history.jsonl
    label: str
    value: Any
    beside: str = ""  # the baseline measured in the same run, or the detail that qualifies it
    target: str = ""
    met: bool | None = None


def figures(res: dict) -> list[Figure]:
    a, b, c, d = res["intake"], res["api_intake"], res["queue"], res["claims"]
    t = TARGETS
    f = [
        Figure("intake.service_per_s", "a. intake, actions.file_case in process (cases/s)", a["service_per_s"]),
        Figure("intake.orm_insert_per_s", "   baseline: bare insert of the same case row (/s)", a["orm_insert_per_s"]),
        Figure("intake.service_ms", "   ms per intake", a["service_ms"], f"bare insert {a['orm_insert_ms']} ms"),
        Figure(
            "intake.statements",
            "   statements per intake, without BEGIN/COMMIT",
            a["statements"],
            f"with them {a['statements_with_transaction']}; on the wire {a['statements_on_the_wire']}",
            "<= 14",
            a["statements"] <= t["statements_per_intake"],
        ),
        Figure(
            "api_intake.statements",
            "   statements per API intake request",
            res["api_statements"]["statements"],
            f"with BEGIN/COMMIT {res['api_statements']['statements_with_transaction']}",
        ),
    ]
    for n, target in ((1, t["api_intake_1_per_s"]), (2, t["api_intake_2_per_s"])):
        x = b[f"clients_{n}"]
        f.append(
            Figure(
                f"api_intake.clients_{n}.per_s",
                f"{'b.' if n == 1 else '  '} intake over HTTP, {n} client{'s' if n > 1 else ''} (cases/s)",
                x["per_s"],
                f"median {x['lat_median_ms']} ms, p95 {x['lat_p95_ms']} ms, {x['statuses']}",
                f">= {target:g}",
                x["per_s"] >= target,
            )
        )
    app_sql, walk = c["app_page_sql"], c["index_walk_sql"]
    raw = f"raw SQL: the page's {app_sql['median_ms']} ms, the index walk {walk['median_ms']} ms"
    f += [
        Figure(
            "queue.page_50.median_ms",
            "c. queue page of 50 over HTTP, 1 reader, median ms",
            c["page_50"]["median_ms"],
            raw,
            f"< {t['queue_page_median_ms']:g}",
            c["page_50"]["median_ms"] < t["queue_page_median_ms"],
        ),
        Figure("queue.page_50.p95_ms", "   p95 ms", c["page_50"]["p95_ms"], f"raw SQL p95 {app_sql['p95_ms']} ms"),
        Figure(
            "queue.page_50_4_readers.median_ms",
            "   4 readers at once, median ms",
            c["page_50_4_readers"]["median_ms"],
            f"1 reader {c['page_50']['median_ms']} ms",
        ),
        Figure(
            "queue.page_50_4_readers.p95_ms",
            "   4 readers at once, p95 ms",
            c["page_50_4_readers"]["p95_ms"],
            f"1 reader {c['page_50']['p95_ms']} ms",
        ),
        Figure(
            "queue.page_50_4_readers.pages_per_s",
            "   4 readers at once, pages/s",
            c["page_50_4_readers"]["pages_per_s"],
            f"errors {c['page_50_4_readers']['errors']}",
        ),
        Figure("queue.raw_sql.page.median_ms", "   baseline: the page's SQL via psycopg, ms", app_sql["median_ms"]),
        Figure(
            "queue.raw_sql.index_walk.median_ms",
            f"   baseline: index walk ({phase_queue.INDEX}) via psycopg, ms",
            walk["median_ms"],
            f"plans use {phase_queue.INDEX}: page {app_sql['uses_index']}, walk {walk['uses_index']}",
        ),
        Figure("queue.page_10.median_ms", "   page of 10, median ms", c["page_10"]["median_ms"]),
        Figure(
            "queue.deep_page_50.median_ms",
            f"   deep page of 50 (row {c['query_count']['deep_offset']:,}), median ms",
            c["deep_page_50"]["median_ms"],
            f"p95 {c['deep_page_50']['p95_ms']} ms",
        ),
        Figure(
            "queue.next_pages.median_ms",
            "   pages 1-50 following next, median ms",
            c["next_pages"]["median_ms"],
            f"p95 {c['next_pages']['p95_ms']} ms",
        ),
        Figure(
            "queue.floor_auth_404.median_ms",
            "   floor: token auth + staff check + 404, ms",
            c["floor_auth_404"]["median_ms"],
        ),
    ]
    counts = [c["query_count"][k] for k in ("limit_10", "limit_50", "limit_100", "deep_limit_50")]
    f.append(
        Figure("queue.queries", "   queries per page (10/50/100/deep)", "/".join(map(str, counts)), "", "constant")
    )
    f[-1].met = len(set(counts)) == 1
    vf = d["viewflow_lock_own_rows"]
    labels = {
        "api_claim_next": "d. claim-next over HTTP, 4 clients (claims/s)",
        "in_process_claim_next": "   claim-next in process, 4 processes (claims/s)",
        "viewflow_lock_own_rows": "   baseline: claim via viewflow's NOWAIT lock, 4 procs on own rows",
    }
    for key, label in labels.items():
        x = d[key]
        is_target = key == "api_claim_next"
        f.append(
            Figure(
                f"claims.{key}.per_s",
                label,
                x["per_s"],
                (f"viewflow lock {vf['per_s']}/s; " if key != "viewflow_lock_own_rows" else "")
                + f"median {x['lat_median_ms']} ms, {x['statuses']}",
                f">= {t['claims_per_s']:g}" if is_target else "",
                x["per_s"] >= t["claims_per_s"] if is_target else None,
            )
        )
        ch = x["check"]
        f.append(
            Figure(
                f"claims.{key}.double_claims",
                f"     double claims among {ch['claims']}",
                0 if ch["ok"] else "FAILED",
                f"mismatches {ch['owner_assignee_mismatches']}, events {ch['claim_events']}, "
                f"queue {x['unclaimed_before']:,} -> {x['unclaimed_after']:,}",
                "none",
                ch["ok"],
            )
        )
    failed = sum(not d[k]["check"]["ok"] for k in labels)
    f.append(Figure("claims.double_claims", "   claim runs failing the check", failed, "", "0", failed == 0))
    return f


def table(rows: list[Figure]) -> str:
    header = ("figure", "value", "beside it (same run)", "target", "met")
    cells = [header] + [
        (r.label, str(r.value), r.beside, r.target, "" if r.met is None else ("yes" if r.met else "NO")) for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(v.ljust(widths[i]) for i, v in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * wd for wd in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--intake", type=int, default=300)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="3 s, 100 intakes, 60 pages: a smoke run")
    parser.add_argument("--note", default="", help="kept with the run in the history")
    parser.add_argument("--no-history", action="store_true", help="do not append this run to the history")
    parser.add_argument("--out", default=str(RESULTS / "latest.json"))
    args = parser.parse_args()
    if args.quick:
        args.duration, args.intake, args.pages = 3.0, 100, 60
    if connection.vendor != "postgresql":
        sys.exit(
            "bench/run.py needs PostgreSQL: set DATABASE_URL=postgres://... to the database bench/generate.py loaded."
        )
    t_all = time.perf_counter()
    w = World()
    res: dict = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": git_state(),
        "options": {"duration": args.duration, "intake": args.intake, "pages": args.pages, "quick": args.quick},
        "note": args.note,
        "load_at_start": load(),
        "machine": machine_facts(),
        "committee_id": w.committee.pk,
        "targets": TARGETS,
        "load_before_phase": {},
    }
    m = res["machine"]
    print(f"machine: {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, Django {m['django']}, ", end="")
    print(f"viewflow {m['viewflow']}; load {res['load_at_start']}")
    print(
        f"database: {m['postgresql']}, {m['database']} ({m['database_size']}), "
        f"shared_buffers={m['pg_shared_buffers']}, "
        f"synchronous_commit={m['pg_synchronous_commit']}; {m['cases']:,} cases; round trip {m['db_round_trip_ms']} ms"
    )
    print(
        f"queue: {w.committee.name} (id {w.committee.pk}) of {w.org}, {w.unclaimed():,} unclaimed; code {res['code']}"
    )
    phases = [
        ("intake", "a. intake in process", lambda: phase_intake.in_process(w, args.intake)),
        ("api_statements", "   statements of an API intake", lambda: phase_intake.api_statements(w)),
        ("api_intake", "b. intake over HTTP", lambda: phase_intake.over_http(w, args.duration)),
        ("queue", "c. queue page", lambda: phase_queue.measure(w, args.pages, args.duration)),
        ("claims", "d. claim-next", lambda: phase_claims.measure(w, args.duration)),
    ]
    for key, title, run in phases:
        res["load_before_phase"][key] = load()
        print(f"{title} ... (load before: {res['load_before_phase'][key]})", flush=True)
        res[key] = run()
    res["seconds"] = round(time.perf_counter() - t_all, 1)
    rows = figures(res)
    printed = table(rows)
    print()
    print(printed)
    res["figures"] = {r.key: r.value for r in rows}
    res["table"] = [asdict(r) for r in rows]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str))
    if not args.no_history:
        record = {
            k: v for k, v in res.items() if k not in ("intake", "api_statements", "api_intake", "queue", "claims")
        }
        history.append(record)
        print(f"\nrun {len(history.runs())} appended to {history.HISTORY.relative_to(BASE_DIR)}; ", end="")
    print(f"detail in {args.out} ({res['seconds']} s)")
    if res["figures"]["claims.double_claims"]:
        sys.exit("a claim run failed its double-claim check: see the table above")


if __name__ == "__main__":
    main()
