"""Where the time of one request goes: cProfile of the benchmark's hot paths, in process.

Usage (after bench/generate.py)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_bench
    .venv/bin/python bench/hotspots.py [intake|api_intake|queue|claim] [-n N]

Prints the functions with the most cumulative and own time, and the share of wall time spent
waiting on the database (psycopg's execute) against Python. Writes cases and claims tasks, like
bench/run.py.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.db import connection
from django.test import Client
from harness import World


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["intake", "api_intake", "queue", "claim"])
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("needs PostgreSQL (DATABASE_URL)")
    from workflows import actions

    w = World()
    if args.what == "intake":
        actor, data = w.member_actor(0), w.intake(0)

        def one() -> None:
            actions.file_case(actor=actor, data=data)
    elif args.what == "api_intake":
        client = Client(HTTP_AUTHORIZATION=f"Token {w.members[0]['token']}")
        body = w.intake_body(0)

        def one() -> None:
            assert client.post("/api/v1/cases/", data=body, content_type="application/json").status_code == 201
    elif args.what == "queue":
        client = Client(HTTP_AUTHORIZATION=f"Token {w.tokens[w.staff[0].pk]}")
        path = f"/api/v1/queues/{w.committee.pk}/tasks/?limit=50"

        def one() -> None:
            assert client.get(path).status_code == 200
    else:
        client = Client(HTTP_AUTHORIZATION=f"Token {w.tokens[w.staff[0].pk]}")
        path = f"/api/v1/queues/{w.committee.pk}/claim-next/"

        def one() -> None:
            assert client.post(path).status_code == 200

    for _ in range(10):
        one()
    t = time.perf_counter()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.n):
        one()
    prof.disable()
    wall = time.perf_counter() - t
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    db = sum(v[3] for k, v in stats.stats.items() if k[2] in ("execute",) and "psycopg" in k[0])
    print(
        f"{args.what}: {args.n} in {wall:.2f}s under the profiler ({wall / args.n * 1000:.1f} ms each); "
        f"psycopg execute (database round trips) {db / wall * 100:.0f}% of it"
    )
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
