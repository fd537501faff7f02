"""Load a benchmark data set into PostgreSQL, fast and consistent with what the application writes.

Usage (from the project root)::

    psql -h 127.0.0.1 -U postgres -c 'create database minqing_bench'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minqing_bench \\
        .venv/bin/python bench/generate.py --cases 1000000

Options: ``--cases N`` (default 1,000,000), ``--workers W`` (row producers, default the CPU
count), ``--chunk C`` (cases per chunk, default 20,000), ``--seed S``, ``--reset`` (wipe a
database that already holds data), ``--force`` (allow a database whose name lacks "bench"),
``--no-check`` (skip the referential checks run after the load), ``--verify-chain`` (run
``verify_chain()`` over the loaded trail; minutes at 1,000,000 cases), ``--paths FILE`` (write
each case's path, for tests/bench/test_generate_matches_actions.py).
1,000,000 cases take about 5-6 minutes on 2 vCPUs (see bench/README.md).

What it writes, per case, is what ``workflows.actions`` writes when a case goes through the flow:
the case and its contacts, the ``viewflow_process`` row and the ``workflows_caseprocess`` row,
the viewflow task rows with their ``flow_task`` references (taken from the flow class,
``workflows/engine.flows.CaseFlow.<node>``) and ``viewflow_task_previous`` links, the stage
clocks (running ones for open human tasks, with queue, assignee and task id; a review clock
paused while the member is asked for information and resumed after the answer; stopped ones
for past stages, with a verdict, or none for a stage undone by a send-back; the await_outcome
task has no clock), outputs for converted cases (those that answered their cases are info reports
used in a bulletin issue with a leader's instruction, ``casework_instruction``), and the audit
events with the actions of ``casework.choices.AuditAction``, chained per stream with keyed digests made by
``casework.services.audit_crypto``'s own functions under the deployment's audit key
(``MINQING_AUDIT_KEY_FILE``, generated in var/ if missing), each stream's head on its case or
output row, one checkpoint per chunk recording every stream's head, and their anchors appended to
the database's anchor file, so ``verify_audit --full`` (and ``verify_chain()``) passes.
tests/bench/test_generate_matches_actions.py drives every path below through the actions and
fails when what this script writes on a path has a shape the actions do not give it (statuses,
tasks and links, clocks, audit actions).

Paths (``MIX``): draft; review (unclaimed, claimed, back from needs-info, transferred to another
committee, sent back after acceptance); needs_info; conversion (unclaimed, claimed); outcome;
feedback (after a decision or an outcome); closed (both ways); merged. Open cases are recent,
closed ones spread over three years. The benchmark organisation holds 70 % of the cases and its
default intake committee about half of those, so its queue holds over a hundred thousand
unclaimed tasks out of several hundred thousand spread over the committees.

The script is split by concern: gen_data.py (the mix, the flow's references, texts, tables and
columns), gen_reference.py (organisations, people, rosters through the ORM), gen_chunk.py (a
chunk of cases: which path each goes down, and its rows up to the review decision),
gen_decided.py (its rows from the decision on) and gen_rows.py (how rows and audit chains are
written); this file loads them.

How it is fast: the reference rows (organisations, users, rosters...) go in through
the ORM; the bulk rows are made by worker processes and streamed with ``COPY ... FREEZE`` into
tables truncated in the same transaction, with foreign-key triggers off
(``session_replication_role = replica``: the rows are consistent by construction) and the
secondary indexes dropped during the load and rebuilt after it. Ids are allocated in blocks per
chunk, so they have gaps, as sequences do. Sequences are reset after the load and the tables
vacuumed and analysed.

SQLite is refused: this is a PostgreSQL benchmark.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue as queue_mod
import random
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import gen_chunk  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from gen_data import BULK_TABLES, COLUMNS, MIX, MIX_NAMES  # noqa: E402, F401
from gen_reference import load_reference  # noqa: E402

from casework.models import AuditCheckpoint, ClockPolicy  # noqa: E402
from casework.services.audit_anchor import anchor_line, anchor_path, database_label  # noqa: E402
from casework.services.audit_crypto import (  # noqa: E402
    ALGORITHM,
    GENESIS,
    AuditKey,
    checkpoint_message,
    keyring,
    mac,
    micros,
)
from casework.services.policies import policies_of  # noqa: E402

RESULTS = BASE_DIR / "bench" / "results"


# Referential checks after the load (foreign-key triggers were off during it): each must be 0.
CHECKPOINT_COLUMNS = [
    "id",
    "seq",
    "created_at",
    "last_event_id",
    "resume_after",
    "n_heads",
    "algorithm",
    "key_id",
    "next_key_id",
    "prev_hash",
    "hash",
]


def _checkpoints(key: AuditKey, chunks: list[tuple[str, int, int]]) -> list[AuditCheckpoint]:
    """One checkpoint per chunk, chained and signed as `audit_checkpoint` signs them. Event ids
    grow from chunk to chunk, so each one's events are after the last one's."""
    made: list[AuditCheckpoint] = []
    prev = GENESIS
    start = datetime.now(UTC)
    for i, (digest, n_heads, last_event) in enumerate(chunks):
        checkpoint = AuditCheckpoint(
            id=i + 1,
            seq=i + 1,
            created_at=start + timedelta(microseconds=i),
            last_event_id=last_event,
            resume_after=last_event,
            n_heads=n_heads,
            algorithm=ALGORITHM,
            key_id=key.id,
            next_key_id="",
            prev_hash=prev,
        )
        checkpoint.hash = mac(
            key,
            ALGORITHM,
            checkpoint_message(
                key_id=key.id,
                seq=checkpoint.seq,
                prev_hash=prev,
                created_us=micros(checkpoint.created_at),
                last_event_id=last_event,
                resume_after=last_event,
                next_key_id="",
                n_heads=n_heads,
                heads=digest,
            ),
        )
        made.append(checkpoint)
        prev = checkpoint.hash
    return made


CHECKS = [
    (
        "task without its process",
        "SELECT count(*) FROM viewflow_task t WHERE NOT EXISTS "
        "(SELECT 1 FROM viewflow_process p WHERE p.id = t.process_id)",
    ),
    (
        "previous link to a missing task or across processes",
        "SELECT count(*) FROM viewflow_task_previous v "
        "LEFT JOIN viewflow_task a ON a.id = v.from_task_id LEFT JOIN viewflow_task b ON b.id = v.to_task_id "
        "WHERE a.id IS NULL OR b.id IS NULL OR a.process_id <> b.process_id",
    ),
    (
        "caseprocess without case or process",
        "SELECT count(*) FROM workflows_caseprocess cp WHERE NOT EXISTS "
        "(SELECT 1 FROM casework_case c WHERE c.id = cp.case_id) OR NOT EXISTS "
        "(SELECT 1 FROM viewflow_process p WHERE p.id = cp.process_ptr_id)",
    ),
    (
        "submitted case without process",
        "SELECT count(*) FROM casework_case c WHERE c.status <> 'draft' AND "
        "NOT EXISTS (SELECT 1 FROM workflows_caseprocess cp WHERE cp.case_id = c.id)",
    ),
    (
        "process DONE but case open, or the reverse",
        "SELECT count(*) FROM casework_case c JOIN workflows_caseprocess "
        "cp ON cp.case_id = c.id JOIN viewflow_process p ON p.id = cp.process_ptr_id "
        "WHERE (p.status = 'DONE') <> (c.status IN ('closed', 'merged'))",
    ),
    (
        "running clock whose task is not open on its case, or owner differs",
        "SELECT count(*) FROM casework_caseclock k "
        "LEFT JOIN viewflow_task t ON t.id = k.task_id LEFT JOIN workflows_caseprocess cp ON cp.process_ptr_id = "
        "t.process_id WHERE k.state = 'running' AND (t.id IS NULL OR t.status NOT IN ('NEW', 'ASSIGNED') OR "
        "cp.case_id <> k.case_id OR t.owner_id IS DISTINCT FROM k.assignee_id)",
    ),
    (
        "open human task without a running clock",
        "SELECT count(*) FROM viewflow_task t WHERE t.flow_task_type = "
        "'HUMAN' AND t.status IN ('NEW', 'ASSIGNED') AND NOT EXISTS "
        "(SELECT 1 FROM casework_caseclock k WHERE k.task_id = t.id AND k.state = 'running')",
    ),
    (
        "clock without its case",
        "SELECT count(*) FROM casework_caseclock k WHERE NOT EXISTS "
        "(SELECT 1 FROM casework_case c WHERE c.id = k.case_id)",
    ),
    (
        "case without its first audit event",
        "SELECT count(*) FROM casework_case c WHERE NOT EXISTS "
        "(SELECT 1 FROM casework_auditevent e WHERE e.stream = 'case:' || c.id AND e.seq = 1)",
    ),
    (
        "case whose head on record is not its stream's last event",
        "SELECT count(*) FROM casework_case c LEFT JOIN casework_auditevent e ON e.stream = 'case:' || c.id "
        "AND e.seq = c.audit_seq WHERE e.id IS NULL OR e.hash <> c.audit_head OR EXISTS (SELECT 1 FROM "
        "casework_auditevent n WHERE n.stream = 'case:' || c.id AND n.seq = c.audit_seq + 1)",
    ),
    (
        "stream whose head no checkpoint recorded",
        "SELECT count(*) FROM casework_case c WHERE NOT EXISTS (SELECT 1 FROM casework_auditcheckpointhead h "
        "WHERE h.stream = 'case:' || c.id AND h.seq = c.audit_seq AND h.digest = c.audit_head)",
    ),
    (
        "case contact not on file",
        "SELECT count(*) FROM casework_case_contacts x WHERE NOT EXISTS "
        "(SELECT 1 FROM casework_contact c WHERE c.id = x.contact_id) OR NOT EXISTS "
        "(SELECT 1 FROM casework_case c WHERE c.id = x.case_id)",
    ),
    (
        "case output or merge target missing",
        "SELECT count(*) FROM casework_case c WHERE (c.output_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM casework_output o WHERE o.id = c.output_id)) OR (c.merged_into_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM casework_case m WHERE m.id = c.merged_into_id))",
    ),
]

# The load ---------------------------------------------------------------------------------------


def _dsn() -> str:
    s = connection.settings_dict
    parts = [f"dbname={s['NAME']}"]
    for key, name in (("HOST", "host"), ("PORT", "port"), ("USER", "user"), ("PASSWORD", "password")):
        if s.get(key):
            parts.append(f"{name}={s[key]}")
    return " ".join(parts)


# A default clock policy as the reset puts it back (a new id: the reset restarts the sequences).
POLICY_FIELDS = (
    "stage",
    "amount",
    "unit",
    "warn_percent",
    "warn_days_before",
    "escalate_head_after",
    "escalate_leadership_after",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--reset", action="store_true", help="wipe the data already in this database")
    parser.add_argument("--force", action="store_true", help="allow a database whose name lacks 'bench'")
    parser.add_argument("--no-check", action="store_true", help="skip the referential checks after the load")
    parser.add_argument(
        "--verify-chain", action="store_true", help="run verify_chain() over the loaded audit events (slow at 1M)"
    )
    parser.add_argument("--paths", help="write each case's path (JSON: case id -> path) to this file")
    args = parser.parse_args()
    chunk_size = args.chunk

    if connection.vendor != "postgresql":
        sys.exit(
            "bench/generate.py needs PostgreSQL: set DATABASE_URL=postgres://... to a database of its own "
            "(e.g. minqing_bench). SQLite is not supported for the benchmark data set."
        )
    dbname = connection.settings_dict["NAME"]
    if "bench" not in dbname and not args.force:
        sys.exit(
            f"refusing to load benchmark data into {dbname!r}: use a database of its own (a name with "
            "'bench' in it), or pass --force"
        )

    import psycopg

    t_all = time.perf_counter()
    print(f"database {dbname}: migrating", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM casework_organisation")
        if cur.fetchone()[0] and not args.reset:
            sys.exit("the database already holds data: pass --reset to wipe it first")
    if args.reset:
        print("wiping existing data", flush=True)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND (tablename LIKE 'casework\\_%%' "
                "OR tablename LIKE 'viewflow\\_%%' OR tablename LIKE 'workflows\\_%%' "
                "OR tablename LIKE 'otp\\_%%' OR tablename IN ('django_admin_log', 'django_session'))"
            )
            # The calendar and the default clock policies are the migrations' reference data, not
            # the load's: they stay (the policies refer to organisations, so they are put back).
            keep = ("casework_calendarday", "casework_calendaryear")
            tables = [r[0] for r in cur.fetchall() if r[0] not in keep]
            defaults = list(ClockPolicy.objects.filter(organisation__isnull=True).values(*POLICY_FIELDS))
            cur.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY")
        ClockPolicy.objects.bulk_create(ClockPolicy(**row) for row in defaults)

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    ref = load_reference(args.cases, rng)
    print(
        f"reference data: {len(ref['orgs'])} organisations, {ref['users']} users, {ref['members']} "
        f"members, {ref['contacts']} roster contacts ({time.perf_counter() - t0:.1f}s)",
        flush=True,
    )
    targets = policies_of(ref["orgs"][0]["org_id"])
    key = keyring().current  # the deployment's own audit key: verify_audit must find it
    ref["key"] = key
    anchors = anchor_path()
    if anchors.exists():
        # The anchors of a chain this load replaces: kept, out of the way.
        aside = anchors.with_name(f"{anchors.name}.replaced-{datetime.now():%Y%m%d-%H%M%S}")
        anchors.rename(aside)
        print(f"anchors of the replaced chain moved to {aside}", flush=True)
    (Path(settings.VAR_DIR) / f"audit-verified-{database_label()}.json").unlink(missing_ok=True)
    connection.close()

    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    n_chunks = (args.cases + chunk_size - 1) // chunk_size
    ref["chunks"] = n_chunks  # each chunk takes every n-th bulletin issue (gen_chunk.bulletin_issue)
    jobs = [
        (i, 1 + i * chunk_size, min(chunk_size, args.cases - i * chunk_size), now, args.seed) for i in range(n_chunks)
    ]

    conn = psycopg.connect(_dsn(), autocommit=False)
    cur = conn.cursor()
    cur.execute("SET session_replication_role = replica")  # no FK triggers: rows consistent by construction
    cur.execute("SET maintenance_work_mem = '512MB'")
    cur.execute("TRUNCATE " + ", ".join(BULK_TABLES))  # same transaction: COPY ... FREEZE allowed
    cur.execute(
        """
        SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
    """,
        [list(COLUMNS)],
    )
    secondary = cur.fetchall()
    for _table, name, _def in secondary:
        cur.execute(f'DROP INDEX "{name}"')
    print(
        f"loading {args.cases:,} cases in {n_chunks} chunks with {args.workers} workers "
        f"({len(secondary)} secondary indexes dropped for the load)",
        flush=True,
    )

    totals = {t: 0 for t in COLUMNS}
    checkpoint_heads: list[tuple[str, int, int]] = []  # per chunk: heads digest, heads, last event id
    paths: dict[int, str] = {}
    counts = {k: 0 for k in MIX_NAMES}
    pending: queue_mod.Queue = queue_mod.Queue(maxsize=max(2, args.workers))
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while True:
                item = pending.get()
                if item is None:
                    return
                for table, data in item.items():
                    if data:
                        with cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN WITH (FREEZE)") as cp:
                            cp.write(data)
        except BaseException as exc:
            errors.append(exc)
            while pending.get() is not None:
                pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    t_load = time.perf_counter()
    done = 0
    ctx = mp.get_context("fork")
    with ctx.Pool(args.workers, initializer=gen_chunk.init_worker, initargs=(ref, targets, chunk_size)) as pool:
        for _index, payload, rows, chunk_counts, chunk_paths, chunk_heads in pool.imap(gen_chunk.make_chunk, jobs):
            if errors:
                break
            pending.put(payload)
            checkpoint_heads.append(chunk_heads)
            for t, n in rows.items():
                totals[t] += n
            for k, n in chunk_counts.items():
                counts[k] += n
            if args.paths:
                paths.update(chunk_paths)
            done += 1
            if done % max(1, n_chunks // 20) == 0 or done == n_chunks:
                el = time.perf_counter() - t_load
                made = min(done * chunk_size, args.cases)
                print(f"  {made:>10,} cases  {el:7.1f}s  {made / el:9,.0f} cases/s", flush=True)
    pending.put(None)
    thread.join()
    if errors:
        raise errors[0]
    t_copied = time.perf_counter()
    print(f"rows copied in {t_copied - t_load:.1f}s: " + ", ".join(f"{t} {n:,}" for t, n in totals.items()), flush=True)

    # Each bulletin series' last issue, as numbering.take leaves it, so the app numbers on from it.
    cur.execute(
        "INSERT INTO casework_outputseries (name, last) SELECT series, max(number_seq) FROM casework_output "
        "WHERE number_seq IS NOT NULL GROUP BY series"
    )
    checkpoints = _checkpoints(key, checkpoint_heads)
    with cur.copy(f"COPY casework_auditcheckpoint ({', '.join(CHECKPOINT_COLUMNS)}) FROM STDIN") as cp:
        for checkpoint in checkpoints:
            cp.write_row([getattr(checkpoint, name) for name in CHECKPOINT_COLUMNS])
    print(f"{len(checkpoints)} checkpoints chained (one per chunk), signed with audit key {key.id}", flush=True)

    for table, name, definition in secondary:
        t = time.perf_counter()
        cur.execute(definition)
        print(f"  index {name} on {table}: {time.perf_counter() - t:.1f}s", flush=True)
    for table in list(COLUMNS) + ["casework_auditcheckpoint"]:
        pk = "process_ptr_id" if table == "workflows_caseprocess" else "id"
        cur.execute(f"SELECT pg_get_serial_sequence('{table}', '{pk}')")
        seq = cur.fetchone()[0]
        if seq:
            cur.execute(f"SELECT setval('{seq}', GREATEST((SELECT max({pk}) FROM {table}), 1))")
    cur.execute("SET session_replication_role = DEFAULT")
    conn.commit()
    t_indexed = time.perf_counter()
    print(f"indexes rebuilt, sequences reset, committed: {t_indexed - t_copied:.1f}s", flush=True)
    conn.autocommit = True
    for table in list(COLUMNS) + ["casework_caseclock"]:
        cur.execute(f"VACUUM (ANALYZE) {table}")
    conn.close()
    t_end = time.perf_counter()
    print(f"vacuum analyze: {t_end - t_indexed:.1f}s", flush=True)
    # After commit, as the app does: the checkpoints' digests outside the database.
    anchors.parent.mkdir(parents=True, exist_ok=True)
    with open(anchors, "a") as out:
        out.write("".join(anchor_line(checkpoint) + "\n" for checkpoint in checkpoints))
    print(f"{len(checkpoints)} anchors appended to {anchors}", flush=True)

    # Checks that the load is what the application would have written.
    with connection.cursor() as c:
        if not args.no_check:
            t = time.perf_counter()
            bad = []
            for label, sql in CHECKS:
                c.execute(sql)
                n = c.fetchone()[0]
                if n:
                    bad.append(f"{label}: {n}")
            print(
                f"referential checks: {'all passed' if not bad else 'FAILED: ' + '; '.join(bad)} "
                f"({time.perf_counter() - t:.1f}s)",
                flush=True,
            )
            if bad:
                sys.exit(1)
        c.execute("SELECT status, count(*) FROM casework_case GROUP BY status ORDER BY status")
        by_status = dict(c.fetchall())
        c.execute("""SELECT o.short_name || q.name || '(' || q.id || ')', count(*) FROM casework_caseclock k
                     JOIN casework_committee q ON q.id = k.queue_id
                     JOIN casework_organisation o ON o.id = q.organisation_id
                     WHERE k.state = 'running' AND k.assignee_id IS NULL AND k.queue_id IS NOT NULL
                     GROUP BY o.short_name, q.id, q.name ORDER BY count(*) DESC""")
        queues = c.fetchall()
    total = t_end - t_all
    print("cases by status: " + ", ".join(f"{k} {v:,}" for k, v in by_status.items()))
    print(
        "unclaimed tasks per queue: "
        + ", ".join(f"{n} {v:,}" for n, v in queues[:8])
        + (" ..." if len(queues) > 8 else "")
    )
    print(f"generated {args.cases:,} cases in {total:.1f}s ({args.cases / total:,.0f} cases/s overall)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    # The generation of the benchmark database proper is kept beside the figures; others go aside.
    name = "dataset.json" if dbname == "minqing_bench" else f"dataset-{dbname}.json"
    (RESULTS / name).write_text(
        json.dumps(
            {
                "database": dbname,
                "cases": args.cases,
                "seed": args.seed,
                "workers": args.workers,
                "seconds_total": round(total, 1),
                "seconds_copy": round(t_copied - t_load, 1),
                "seconds_indexes": round(t_indexed - t_copied, 1),
                "seconds_vacuum": round(t_end - t_indexed, 1),
                "rows": totals,
                "paths": counts,
                "cases_by_status": by_status,
                "generated_at": datetime.now(UTC).isoformat(),
            },
            ensure_ascii=False,
            indent=1,
        )
    )
    if args.paths:
        Path(args.paths).write_text(json.dumps(paths))
    if args.verify_chain:
        from casework.services.audit import verify_chain

        t = time.perf_counter()
        breaks = verify_chain()
        if breaks:
            print(f"audit chain: {len(breaks)} breaks, first: {breaks[0]}", flush=True)
            sys.exit(1)
        print(f"audit chain: verified ({time.perf_counter() - t:.1f}s)", flush=True)


if __name__ == "__main__":
    main()
