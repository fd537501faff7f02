"""Which form of the sweep's escalation statement drives the UPDATE from the picked ids: with
`--due N` clocks breached (through the sweep's own functions) and waiting for escalation, the
EXPLAIN (ANALYZE, BUFFERS) of the statement as `casework.services.sweep` sends it and of three
rewrites of it (not the app's SQL), each in a transaction rolled back; the clocks are reset
after. A diagnosis for bench/README.md ("The escalation step's plan"), not a benchmark: it
appends nothing to the history.

Usage (on the database bench/sweep.py loaded)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_sweep_bench .venv/bin/python bench/sweep_variants.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.db import connection, transaction
from django.utils import timezone

from bench.sweep import (
    BATCH,
    PICKED_ANY,
    PICKED_IN,
    _mark,
    _steps,
    _tell_breach,
    check_pristine,
    explain,
    key_lines,
    make_due,
    reset,
    step_sql,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--due", type=int, default=50000)
    args = parser.parse_args()
    if connection.vendor != "postgresql" or "bench" not in connection.settings_dict["NAME"]:
        sys.exit("bench/sweep_variants.py needs the database bench/sweep.py loaded")
    ids = make_due(args.due, wall_clock=False)
    try:
        now = timezone.now()
        while True:
            with transaction.atomic():
                got = _mark(_steps()["breach"], now, BATCH)
                if got:
                    _tell_breach(got, now)
            if len(got) < BATCH:
                break
        sql = step_sql("escalate", now)
        head, tail = sql.split(PICKED_IN)
        recheck = tail.split(" RETURNING")[0]
        variants = {
            "the app's statement": sql,
            "id = ANY(ARRAY(SELECT id FROM picked)), re-check kept": sql.replace(PICKED_IN, PICKED_ANY),
            "UPDATE … FROM picked p WHERE id = p.id, re-check kept": head
            + 'FROM picked p WHERE "casework_caseclock"."id" = p."id"'
            + recheck
            + ' RETURNING "casework_caseclock"."id"',
            "id IN (SELECT id FROM picked), no re-check": head + PICKED_IN + ' RETURNING "id"',
        }
        print(f"{args.due:,} clocks waiting for escalation; first batch of {BATCH}:")
        for name, statement in variants.items():
            plan = explain(statement)
            print(f"\n== {name}: {key_lines(plan)['execution']}")
            print("\n".join("   " + ln for ln in plan if any(w in ln for w in ("Scan", "Join", "Loop", "Removed"))))
    finally:
        reset(ids)
        print(check_pristine())


if __name__ == "__main__":
    main()
