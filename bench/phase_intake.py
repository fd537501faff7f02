"""a. Intake: a member files a concern straight into review (`actions.file_case`), in process and
over HTTP (`POST /api/v1/cases/`), against a bare insert of the same case row; the statements of
one intake, as Django lists them and as they cross the wire."""

from __future__ import annotations

import tempfile
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from harness import Gunicorn, Http, World, ms, run_clients, sleep_until, summarise

from casework.choices import CaseStatus
from casework.models import Case
from workflows import actions

TRANSACTION = ("BEGIN", "COMMIT", "ROLLBACK")


def _wire_statements(fn) -> int | str:
    """Statements one call sends, read from libpq's protocol trace (Query and Execute
    messages from the client)."""
    try:
        from psycopg.pq import Trace

        connection.ensure_connection()
        pgconn = connection.connection.pgconn
        with tempfile.NamedTemporaryFile("w+", suffix=".trace") as f:
            pgconn.trace(f.fileno())
            pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
            fn()
            pgconn.untrace()
            f.seek(0)
            msgs = [line.split("\t") for line in f.read().splitlines()]
        return sum(1 for m in msgs if len(m) > 2 and m[0] == "F" and m[2] in ("Query", "Execute"))
    except Exception as exc:  # a libpq without tracing: say so rather than guess
        return f"unavailable: {exc}"


def in_process(w: World, n: int) -> dict:
    actor = w.member_actor(0)
    data = w.intake(0)

    def one() -> Case:
        return actions.file_case(actor=actor, data=data)

    for _ in range(10):  # warm-up
        one()
    with CaptureQueriesContext(connection) as ctx:
        one()
    sqls = [q["sql"] for q in ctx.captured_queries]
    tx = [s for s in sqls if s.strip().upper() in TRANSACTION or "SAVEPOINT" in s.upper()]
    wire = _wire_statements(one)

    t = time.perf_counter()
    for _ in range(n):
        one()
    service_s = time.perf_counter() - t

    # Baseline: the same case row, inserted bare (no flow, no clock, no audit), one commit each.
    member = actor.member
    t = time.perf_counter()
    bare = []
    for _ in range(n):
        bare.append(
            Case.objects.create(
                organisation_id=actor.organisation_id,
                member=member,
                title=data["title"],
                description=data["description"],
                category_id=data["category"],
                township_id=data["township"],
                urgency="normal",
                consent_to_share=True,
                committee_id=w.committee.pk,
                created_by=actor,
                status=CaseStatus.REVIEW,
                submitted_at=timezone.now(),
            ).pk
        )
    orm_s = time.perf_counter() - t
    Case.objects.filter(pk__in=bare).delete()  # not cases of the data set: no flow, no trail
    return {
        "n": n,
        "service_per_s": round(n / service_s, 1),
        "service_ms": ms(service_s / n),
        "orm_insert_per_s": round(n / orm_s, 1),
        "orm_insert_ms": ms(orm_s / n),
        "statements": len(sqls) - len(tx),
        "statements_with_transaction": len(sqls),
        "statements_on_the_wire": wire,
        "sql": sqls,
    }


def api_statements(w: World) -> dict:
    """Statements of one whole API intake request, in process (token authentication included)."""
    client = Client(HTTP_AUTHORIZATION=f"Token {w.members[0]['token']}")
    body = w.intake_body(0)
    client.post("/api/v1/cases/", data=body, content_type="application/json")
    with CaptureQueriesContext(connection) as ctx:
        r = client.post("/api/v1/cases/", data=body, content_type="application/json")
    assert r.status_code == 201, r.content
    sqls = [q["sql"] for q in ctx.captured_queries]
    return {
        "statements": sum(1 for s in sqls if s.strip().upper() not in TRANSACTION),
        "statements_with_transaction": len(sqls),
    }


def _client(args: tuple) -> dict:
    port, token, body, start_at, duration = args
    http = Http(port, token)
    sleep_until(start_at)
    end = start_at + duration
    lat, statuses = [], {}
    while time.time() < end:
        t = time.perf_counter()
        status, _ = http.call("POST", "/api/v1/cases/", body)
        lat.append(time.perf_counter() - t)
        statuses[status] = statuses.get(status, 0) + 1
    return {"ok": statuses.get(201, 0), "statuses": statuses, "lat": lat, "elapsed": time.time() - start_at}


def over_http(w: World, duration: float) -> dict:
    """One client process, then two at once, against gunicorn with two workers."""
    out = {}
    with Gunicorn(workers=2) as g:
        run_clients(
            _client, [(g.port, w.members[i]["token"], w.intake_body(i), time.time() + 0.5, 2.0) for i in (0, 1)]
        )
        for n_clients in (1, 2):
            start = time.time() + 1.0
            args = [(g.port, w.members[i]["token"], w.intake_body(i), start, duration) for i in range(n_clients)]
            out[f"clients_{n_clients}"] = summarise(run_clients(_client, args))
    return out
