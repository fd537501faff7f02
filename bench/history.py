"""Every run of bench/run.py, kept: one JSON line per run in bench/results/history.jsonl (when,
which commit, the machine and its load, the data set, every figure with its baseline). Runs are
appended, never replaced or picked: a slow run stays beside a fast one.

Usage::

    .venv/bin/python bench/history.py                 # one line per run, the figures with targets
    .venv/bin/python bench/history.py --figure queue.page_50.median_ms   # one figure across runs
    .venv/bin/python bench/history.py --keys          # the names of the figures of the last run
    .venv/bin/python bench/history.py --run -1        # every figure of one run (-1: the last)

Needs no database: it reads the file only."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HISTORY = Path(__file__).resolve().parent / "results" / "history.jsonl"

# The figures the targets are about, as the listing shows them.
COLUMNS = [
    ("queue.page_50.median_ms", "page50 ms"),
    ("queue.page_50_4_readers.median_ms", "4 readers ms"),
    ("queue.page_50_4_readers.p95_ms", "p95"),
    ("api_intake.clients_1.per_s", "intake 1/s"),
    ("api_intake.clients_2.per_s", "intake 2/s"),
    ("claims.api_claim_next.per_s", "claim-next/s"),
    ("claims.viewflow_lock_own_rows.per_s", "viewflow lock/s"),
    ("claims.double_claims", "double"),
    ("intake.statements", "stmts"),
]


def append(record: dict, path: Path = HISTORY) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, sort_keys=True, default=str) + "\n")


def runs(path: Path = HISTORY) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def listing(all_runs: list[dict]) -> str:
    header = ["#", "run at (UTC)", "commit", "cases", "load", "s/run", *(label for _k, label in COLUMNS), "note"]
    rows = [header]
    for n, r in enumerate(all_runs, 1):
        figures = r.get("figures", {})
        rows.append(
            [
                str(n),
                r.get("run_at", "")[:16],
                r.get("code", {}).get("commit", "") + ("+" if r.get("code", {}).get("dirty") else ""),
                f"{r.get('machine', {}).get('cases', 0):,}",
                _cell(r.get("load_at_start", {}).get("loadavg", [None])[0]),
                _cell(r.get("options", {}).get("duration")),
                *(_cell(figures.get(key)) for key, _label in COLUMNS),
                r.get("note", ""),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figure", help="one figure across every run")
    parser.add_argument("--keys", action="store_true", help="the figure names of the last run")
    parser.add_argument("--run", type=int, help="every figure of one run (1 is the first, -1 the last)")
    parser.add_argument("--file", default=str(HISTORY))
    args = parser.parse_args()
    all_runs = runs(Path(args.file))
    if not all_runs:
        raise SystemExit(f"no runs in {args.file} yet: run bench/run.py")
    if args.keys:
        print("\n".join(sorted(all_runs[-1].get("figures", {}))))
    elif args.run is not None:
        r = all_runs[args.run - 1 if args.run > 0 else args.run]
        print(json.dumps({k: r[k] for k in r if k != "figures"}, ensure_ascii=False, indent=1))
        for key, value in sorted(r.get("figures", {}).items()):
            print(f"{key:55} {value}")
    elif args.figure:
        for n, r in enumerate(all_runs, 1):
            cases = r.get("machine", {}).get("cases", 0)
            print(f"{n:3}  {r.get('run_at', '')[:16]}  {cases:>10,} cases  {_cell(r['figures'].get(args.figure))}")
    else:
        print(listing(all_runs))


if __name__ == "__main__":
    main()
