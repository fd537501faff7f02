"""d. Claim-next: four staff clear one queue at once. Over HTTP (`POST
/api/v1/queues/{id}/claim-next/`, gunicorn with four workers) and in process
(`actions.claim_next`), beside the baseline: the claim transition (`actions.perform("claim")`),
which takes viewflow's own lock (the process row, FOR UPDATE NOWAIT, retried with back-off)
through `task.activation()`, with each of the four clients claiming tasks of its own, so that
no two ever want the same row.

The baseline is given its own rows on purpose: four clients racing for the head of the queue
through viewflow's lock mostly fail and back off (45 claims/s measured that way), which
measures the race, not the lock. Every run is checked for double claims (harness.check_claims)."""

from __future__ import annotations

import json
import time

from django.db import connection
from django.utils import timezone
from harness import Gunicorn, Http, World, check_claims, get_client, run_clients, sleep_until, summarise

from casework.errors import Conflict, DomainError
from casework.models import User
from workflows import actions

# Rows handed to each baseline client: more than it can claim in the run at the rates seen
# (about 60 a second each), so it never runs out; if it does, the run says so.
OWN_ROWS_PER_SECOND = 150


def _api_client(args: tuple) -> dict:
    port, token, user_id, path, start_at, duration = args
    http = Http(port, token)
    sleep_until(start_at)
    lat, statuses, claims = [], {}, []
    while time.time() < start_at + duration:
        t = time.perf_counter()
        status, body = http.call("POST", path)
        lat.append(time.perf_counter() - t)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            data = json.loads(body)
            claims.append((data["case"]["id"], data["owner"]))
    return {"ok": len(claims), "statuses": statuses, "lat": lat, "claims": claims, "elapsed": time.time() - start_at}


def _in_process_client(args: tuple) -> dict:
    """claim-next, or (with `own` rows) the claim transition on each of them in turn, with this
    process's own database connection."""
    committee_id, user_id, own, start_at, duration = args
    actor = User.objects.select_related("organisation", "member").get(pk=user_id)
    sleep_until(start_at)
    lat, claims, statuses = [], [], {"conflict": 0, "error": 0, "empty": 0, "ran_out_of_rows": 0}
    rows = iter(own or ())
    while time.time() < start_at + duration:
        t = time.perf_counter()
        try:
            if own is None:
                clock = actions.claim_next(committee_id=committee_id, actor=actor)
                if clock is None:
                    statuses["empty"] += 1
                    continue
                case_id = clock.case_id
            else:
                case_id = next(rows, None)
                if case_id is None:
                    statuses["ran_out_of_rows"] = 1
                    break
                actions.perform("claim", case_id=case_id, actor=actor)
            lat.append(time.perf_counter() - t)
            claims.append((case_id, user_id))
        except Conflict:
            statuses["conflict"] += 1
        except DomainError:
            statuses["error"] += 1
    elapsed = time.time() - start_at
    connection.close()
    return {"ok": len(claims), "statuses": statuses, "lat": lat, "claims": claims, "elapsed": elapsed}


def _checked(w: World, fn, args: list[tuple]) -> dict:
    before, since = w.unclaimed(), timezone.now()
    results = run_clients(fn, args)
    return summarise(results) | {
        "check": check_claims(results, since, w.committee.pk),
        "unclaimed_before": before,
        "unclaimed_after": w.unclaimed(),
    }


def measure(w: World, duration: float) -> dict:
    staff = w.staff[:4]
    committee = w.committee.pk
    out: dict = {}

    head = w.queue_head(len(staff) * int(duration * OWN_ROWS_PER_SECOND))
    start = time.time() + 1.0
    args = [(committee, s.pk, head[i :: len(staff)], start, duration) for i, s in enumerate(staff)]
    out["viewflow_lock_own_rows"] = _checked(w, _in_process_client, args)

    start = time.time() + 1.0
    args = [(committee, s.pk, None, start, duration) for s in staff]
    out["in_process_claim_next"] = _checked(w, _in_process_client, args)

    path = f"/api/v1/queues/{committee}/claim-next/"
    with Gunicorn(workers=4) as g:
        # Warm the workers up (imports, connections) without claiming.
        warm = f"/api/v1/queues/{committee}/tasks/?limit=1"
        run_clients(get_client, [(g.port, w.tokens[s.pk], warm, time.time() + 0.5, 1.0) for s in staff])
        start = time.time() + 1.0
        args = [(g.port, w.tokens[s.pk], s.pk, path, start, duration) for s in staff]
        out["api_claim_next"] = _checked(w, _api_client, args)
    return out
