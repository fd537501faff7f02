"""c. The queue page (`GET /api/v1/queues/{id}/tasks/?limit=50`): one reader and four at once
over HTTP, deep pages and pages followed by `next`, its query count; beside the raw SQL on the
same partial index (`clock_queue_unclaimed`: queue, due_at, id where running and unclaimed),
replayed with psycopg: the app's own page statement, and the bare index walk under it.

viewflow's `Task.objects.queue()` is not measured: it lists the open tasks of every flow, with
no way to scope them to one committee's queue, so its time says nothing about this page."""

from __future__ import annotations

import json
import statistics
import time

import psycopg
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from harness import Gunicorn, Http, World, get_client, latency, ms, pct, run_clients

from api.pagination import encode_cursor
from casework.choices import ClockState
from casework.models import CaseClock

INDEX = "clock_queue_unclaimed"
# The bare walk of the partial index: the rows a page of 50 is made of, and nothing else.
INDEX_SQL = (
    "SELECT id, due_at FROM casework_caseclock WHERE queue_id = %s AND state = 'running' "
    "AND assignee_id IS NULL ORDER BY due_at, id LIMIT 50"
)


def _path(w: World) -> str:
    return f"/api/v1/queues/{w.committee.pk}/tasks/"


def query_counts(w: World, token: str) -> tuple[dict, str, str]:
    """Queries per page in process, whatever the page's size or depth; the page's SQL; and a
    cursor half-way down the queue (100,000 rows in at most)."""
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    path = _path(w)
    client.get(path + "?limit=50")
    counts, page_sql = {}, ""
    for limit in (10, 50, 100):
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(f"{path}?limit={limit}")
        assert r.status_code == 200 and len(r.json()["results"]) == limit, r.content[:200]
        counts[f"limit_{limit}"] = len(ctx.captured_queries)
        if limit == 50:
            page_sql = next(q["sql"] for q in ctx.captured_queries if "casework_caseclock" in q["sql"])
    depth = min(100_000, w.unclaimed() // 2)
    due_at, clock_id = (
        CaseClock.objects.filter(queue=w.committee, state=ClockState.RUNNING, assignee__isnull=True)
        .order_by("due_at", "id")
        .values_list("due_at", "id")[depth]
    )
    cursor = encode_cursor([due_at.isoformat(), clock_id])
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(f"{path}?limit=50&cursor={cursor}")
    assert r.status_code == 200 and len(r.json()["results"]) == 50
    counts["deep_limit_50"] = len(ctx.captured_queries)
    counts["deep_offset"] = depth
    return counts, page_sql, cursor


def over_http(w: World, token: str, cursor: str, pages: int, duration: float) -> dict:
    """gunicorn with four workers: one reader first, then four readers at once (each with its
    own connection and staff token) for `duration` seconds."""
    path = _path(w)
    out: dict = {}
    with Gunicorn(workers=4) as g:
        http = Http(g.port, token)
        http.timed("GET", path + "?limit=50", 20)
        lat, status, body = http.timed("GET", path + "?limit=50", pages)
        assert status == 200
        out["page_50"] = latency(lat) | {"bytes": len(body)}
        http.timed("GET", path + "?limit=10", 20)
        out["page_10"] = latency(http.timed("GET", path + "?limit=10", pages)[0])
        lat, status, _ = http.timed("GET", f"{path}?limit=50&cursor={cursor}", pages)
        assert status == 200
        out["deep_page_50"] = latency(lat)
        lat, nxt = [], path + "?limit=50"
        for _ in range(50):
            t = time.perf_counter()
            status, body = http.call("GET", nxt)
            lat.append(time.perf_counter() - t)
            link = json.loads(body)["next"]
            if link is None:
                break
            nxt = link[link.index("/api/") :]
        out["next_pages"] = latency(lat)
        # The floor of any API call here: token authentication and the staff check, then a 404
        # for a queue the user does not work.
        http.timed("GET", "/api/v1/queues/999999999/tasks/?limit=1", 20)
        lat, status, _ = http.timed("GET", "/api/v1/queues/999999999/tasks/?limit=1", pages)
        assert status == 404
        out["floor_auth_404"] = latency(lat)

        readers = [w.tokens[s.pk] for s in w.staff[:4]]
        start = time.time() + 1.0
        results = run_clients(get_client, [(g.port, t, path + "?limit=50", start, duration) for t in readers])
        lat = [x for r in results for x in r["lat"]]
        pages_read = sum(r["ok"] for r in results)
        out["page_50_4_readers"] = {
            "n": len(lat),
            "median_ms": ms(statistics.median(lat)),
            "p95_ms": ms(pct(lat, 0.95)),
            "pages_per_s": round(pages_read / max(r["elapsed"] for r in results), 1),
            "errors": sum(len(r["lat"]) - r["ok"] for r in results),
        }
    return out


def raw_sql(w: World, page_sql: str, pages: int) -> dict:
    """The database's share: the app's page statement and the bare index walk, each replayed
    with psycopg (one round trip, rows fetched), and which index each plan uses."""
    s = connection.settings_dict
    out: dict = {}
    with psycopg.connect(
        dbname=s["NAME"],
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        autocommit=True,
    ) as conn:
        cur = conn.cursor()
        for name, sql, params in (("app_page_sql", page_sql, None), ("index_walk_sql", INDEX_SQL, [w.committee.pk])):
            for _ in range(20):
                cur.execute(sql, params)
                cur.fetchall()
            lat = []
            for _ in range(pages):
                t = time.perf_counter()
                cur.execute(sql, params)
                rows = cur.fetchall()
                lat.append(time.perf_counter() - t)
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = [r[0] for r in cur.fetchall()]
            out[name] = latency(lat) | {
                "rows": len(rows),
                "uses_index": any(INDEX in line for line in plan),
                "plan": plan,
            }
    return out


def measure(w: World, pages: int, duration: float) -> dict:
    token = w.tokens[w.staff[0].pk]
    counts, page_sql, cursor = query_counts(w, token)
    out = {"unclaimed_in_queue": w.unclaimed(), "query_count": counts, "page_sql": page_sql}
    out |= over_http(w, token, cursor, pages, duration)
    out |= raw_sql(w, page_sql, pages)
    return out
