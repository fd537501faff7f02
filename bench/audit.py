"""The audit benchmark: appends, the checkpoint, and verification full and incremental,
each beside a baseline measured in the same run, on the data set of bench/generate.py.

Usage (from the project root, after bench/generate.py)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_bench .venv/bin/python bench/audit.py

Options: ``--duration S`` (seconds of appends, default 10), ``--writers N`` (append processes,
default 4), ``--workers N`` (verify --full processes, default the CPU count), ``--day N`` (the
events of a day, which the incremental check covers; default the data set's mean day: its events
over the days they span; its busiest calendar day is printed too), ``--out PATH``. It does not
wait for quiet CPUs: the machine's load as each phase starts is kept with the figures.

What it measures:

a. Appends: ``audit_record`` through the app, one event per transaction (as a transition writes
   it: the head read from its case row, the event and the new head in one statement), by
   ``--writers`` processes at once, each on its own cases, for ``--duration`` seconds; against
   the bare INSERT of the same row into a copy of the table (no chain, no head, no key), with
   the same processes, each row in its own transaction.
b. The checkpoint after the appends: its time and the streams it recorded.
c. ``verify_audit --full`` over the whole data set, with ``--workers`` processes and with one,
   in events per second; baseline: reading the same rows in the same order without checking.
d. ``verify_audit`` (incremental) after the appends (from the checkpoint the full run verified to
   the one after them), and over exactly a day's events appended and checkpointed after that.

It writes audit events (the appends): run bench/generate.py --reset for a pristine data set. Its
checkpoints take AUDIT_CHECKPOINT_SETTLE_SECONDS = 0 (see main()).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.harness import cpu_busy, git_state, load  # noqa: E402
from casework.models import AuditCheckpoint, AuditEvent, Case  # noqa: E402
from casework.services.audit import audit_record, case_stream, run_checkpoint  # noqa: E402
from casework.services.audit_crypto import ALGORITHM, keyring  # noqa: E402
from casework.services.audit_verify import _event_rows, _Events, load_state, verify_full, verify_incremental  # noqa: E402

RESULTS = BASE_DIR / "bench" / "results"
BASELINE_TABLE = "bench_audit_baseline"


_left: dict = {}


def _init_writer(left) -> None:  # type: ignore[no-untyped-def]
    _left["n"] = left


def _take_one() -> bool:
    """With a count to write (the day's events): whether this writer may write one more."""
    left = _left.get("n")
    if left is None:
        return True
    with left.get_lock():
        if left.value <= 0:
            return False
        left.value -= 1
        return True


def _writer(args: tuple) -> dict:
    """Append events through the app to this writer's own cases until `stop` (or the count)."""
    cases, stop, baseline = args
    connection.close()
    n, t0 = 0, time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    if baseline:
        sql = (
            f"INSERT INTO {BASELINE_TABLE} (stream, seq, organisation_id, actor_id, action, target_type, target_id, "
            "occurred_at, source_ip, success, changes, algorithm, key_id, prev_hash, hash) "
            "VALUES (%s, %s, %s, NULL, 'case.updated', 'case', %s, %s, NULL, true, %s::jsonb, %s, '', %s, %s)"
        )
    while time.time() < stop and _take_one():
        case_id, org = cases[n % len(cases)]
        if baseline:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    sql,
                    [
                        case_stream(case_id),
                        n,
                        org,
                        case_id,
                        timezone.now(),
                        '{"note": "基线"}',
                        ALGORITHM,
                        "0" * 64,
                        "1" * 64,
                    ],
                )
        else:
            with transaction.atomic():
                audit_record(
                    stream=case_stream(case_id),
                    actor=None,
                    action="case.updated",
                    target_type="case",
                    target_id=case_id,
                    organisation_id=org,
                    changes={"note": "压力测试"},
                )
        n += 1
    elapsed = time.perf_counter() - t0
    connection.close()
    return {"events": n, "seconds": elapsed}


def appends(writers: int, duration: float, *, baseline: bool, count: int | None = None) -> dict:
    """`writers` processes appending for `duration` seconds (or until `count` events are written),
    each on its own cases: the most recently filed, as a day's work touches."""
    rows = list(Case.objects.order_by("-id").values_list("id", "organisation_id")[: writers * 2000])
    shares = [rows[i::writers] for i in range(writers)]
    connection.close()
    context = mp.get_context("fork")
    left = context.Value("q", count) if count is not None else None
    started = time.time()
    stop = started + duration
    with context.Pool(writers, initializer=_init_writer, initargs=(left,)) as pool:
        results = pool.map(_writer, [(share, stop, baseline) for share in shares])
    events = sum(r["events"] for r in results)
    seconds = time.time() - started if count is not None else duration
    return {"writers": writers, "events": events, "per_second": round(events / seconds, 1)}


def read_only_rate() -> dict:
    """The baseline of verification: the same rows, in the same order, read and not checked."""
    start = time.perf_counter()
    n = sum(1 for _ in _event_rows(_Events()))
    seconds = time.perf_counter() - start
    return {"events": n, "seconds": round(seconds, 2), "per_second": round(n / seconds)}


def days_of_events() -> tuple[int, int]:
    """A day of the data set: its mean day (events / days they span) and its busiest calendar day
    (the generator files open cases mostly in the last days, so that one is far above the mean)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), GREATEST(1, EXTRACT(EPOCH FROM max(occurred_at) - min(occurred_at)) / 86400) "
            "FROM casework_auditevent"
        )
        total, days = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM casework_auditevent GROUP BY date_trunc('day', occurred_at) ORDER BY 1 DESC LIMIT 1"
        )
        busiest = cursor.fetchone()
    return round(total / float(days)), int(busiest[0]) if busiest else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--day", type=int, default=0, help="events in a day (default: the data set's mean day)")
    parser.add_argument("--out", default=str(RESULTS / "audit-latest.json"))
    args = parser.parse_args()
    # No waiting for quiet CPUs: the machine's load as each phase starts is kept with the figures.
    loads: dict[str, dict] = {}
    # Everything here is seconds old: a checkpoint's resume point, which lags this far behind the
    # newest events in operation (adding the last minute's events to every incremental run), would
    # otherwise put all of the appends into the day's incremental check.
    settings.AUDIT_CHECKPOINT_SETTLE_SECONDS = 0
    if connection.vendor != "postgresql" or "bench" not in connection.settings_dict["NAME"]:
        sys.exit("bench/audit.py needs DATABASE_URL=postgres://…/<a database with 'bench' in its name>")

    res: dict = {
        "database": connection.settings_dict["NAME"],
        "cases": Case.objects.count(),
        "events_before": AuditEvent.objects.count(),
        "algorithm": ALGORITHM,
        "key": keyring().current.id,
        "git": git_state(),
        "started_at": datetime.now(UTC).isoformat(),
    }
    print(f"{res['cases']:,} cases, {res['events_before']:,} audit events ({ALGORITHM})", flush=True)
    run_checkpoint()

    loads["verify_full"] = load()
    report = verify_full(workers=args.workers)
    assert report.ok, report.breaks[:5]
    res["verify_full"] = {
        "workers": args.workers,
        "events": report.events,
        "seconds": round(report.seconds, 2),
        "per_second": round(report.events / report.seconds),
    }
    print(f"verify --full, {args.workers} processes: {report.events:,} events in {report.seconds:.2f}s", flush=True)
    loads["verify_full_1"] = load()
    one = verify_full(workers=1)
    res["verify_full_1"] = {
        "events": one.events,
        "seconds": round(one.seconds, 2),
        "per_second": round(one.events / one.seconds),
    }
    print(f"verify --full, 1 process: {one.seconds:.2f}s", flush=True)
    loads["read_only"] = load()
    res["read_only"] = read_only_rate()
    base_checkpoint = load_state()["checkpoint"]

    mean_day, busiest = days_of_events()
    day = args.day or mean_day
    res["day"] = {"events": day, "mean_day": mean_day, "busiest_day": busiest}
    loads["appends"] = load()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BASELINE_TABLE}")
        cursor.execute(f"CREATE TABLE {BASELINE_TABLE} (LIKE casework_auditevent INCLUDING ALL)")
    try:
        res["append_baseline"] = appends(args.writers, args.duration, baseline=True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {BASELINE_TABLE}")
    print(f"bare INSERT, {args.writers} processes: {res['append_baseline']['per_second']:,} /s", flush=True)
    loads["appends_app"] = load()
    res["appends"] = appends(args.writers, args.duration, baseline=False)
    print(f"audit_record, {args.writers} processes: {res['appends']['per_second']:,} events/s", flush=True)

    loads["checkpoint"] = load()
    since = AuditCheckpoint.objects.get(seq=base_checkpoint).resume_after
    start = time.perf_counter()
    checkpoint = run_checkpoint()
    res["checkpoint"] = {
        "seconds": round(time.perf_counter() - start, 3),
        "streams": checkpoint.n_heads if checkpoint else 0,
        "events_scanned": checkpoint.last_event_id - since if checkpoint else 0,
    }
    print(f"checkpoint: {res['checkpoint']}", flush=True)
    loads["verify_after_appends"] = load()
    res["verify_after_appends"] = incremental_figures()
    print(f"verify (incremental) after the appends: {res['verify_after_appends']}", flush=True)

    # A day's events, then the incremental check over exactly them.
    res["day_appends"] = appends(args.writers, 3600, baseline=False, count=day)
    run_checkpoint()
    loads["verify_incremental"] = load()
    res["verify_incremental"] = incremental_figures()
    print(f"verify (incremental) over a day's {day:,} events: {res['verify_incremental']}", flush=True)
    res["cpu_busy_at_end_percent"] = cpu_busy()
    res["load"] = loads
    print(table(res))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({**res, "table": table(res)}, ensure_ascii=False, indent=1))


def incremental_figures() -> dict:
    report = verify_incremental()
    assert report.ok and report.mode == "incremental", (report.mode, report.breaks[:5])
    return {
        "events": report.events,
        "streams": report.streams,
        "checkpoints": report.checkpoints,
        "seconds": round(report.seconds, 3),
    }


def table(res: dict) -> str:
    a, b = res["appends"], res["append_baseline"]
    f, f1, r = res["verify_full"], res["verify_full_1"], res["read_only"]
    i, c, d, after = res["verify_incremental"], res["checkpoint"], res["day"], res["verify_after_appends"]
    rows = [
        ("figure", "measured", "baseline in the same run", "target"),
        (
            f"audit appends, {a['writers']} writer processes",
            f"{a['per_second']:,} events/s",
            f"bare INSERT of the row: {b['per_second']:,} /s",
            "≥ 2,000 /s " + ("✔" if a["per_second"] >= 2000 else "✘"),
        ),
        (
            f"verify --full, {f['workers']} processes",
            f"{f['per_second']:,} events/s ({f['events']:,} in {f['seconds']} s)",
            f"reading the rows only: {r['per_second']:,} /s",
            "≥ 50,000 /s " + ("✔" if f["per_second"] >= 50000 else "✘"),
        ),
        ("verify --full, 1 process", f"{f1['per_second']:,} events/s", "", ""),
        (
            "incremental verify over a day's events",
            f"{i['seconds']} s ({i['events']:,} events, {i['streams']:,} streams)",
            f"the data set's mean day: {d['mean_day']:,} events (busiest: {d['busiest_day']:,})",
            "< 1 s " + ("✔" if i["seconds"] < 1 else "✘"),
        ),
        (
            "incremental verify after the appends",
            f"{after['seconds']} s ({after['events']:,} events, {after['streams']:,} streams)",
            "",
            "",
        ),
        ("checkpoint after the appends", f"{c['seconds']} s ({c['streams']:,} streams)", "", ""),
    ]
    width = [max(len(str(row[k])) for row in rows) for k in range(4)]
    return "\n".join(" | ".join(str(v).ljust(width[k]) for k, v in enumerate(row)) for row in rows)


if __name__ == "__main__":
    main()
