"""How bench/generate.py writes rows: the COPY text of a chunk's tables, id blocks per chunk, the
viewflow task and previous-link rows, stage clocks, and the audit streams chained and signed with
casework.services.audit_crypto's own message and digest functions under the deployment's audit
key, each stream's head on its case or output row (so verify_audit --full passes)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from gen_data import COLUMNS, FLOW_CLASS, FT, FTT, MIX_NAMES, PER_CASE, _n, _s, _t, _v, days_left, due_and_error, warn

from casework.choices import AuditAction as A
from casework.services.audit_crypto import ALGORITHM, GENESIS, AuditKey, event_message, heads_digest, mac, micros


class Rows:
    """The rows of one chunk of cases, as COPY text per table."""

    def __init__(self, index: int, first_case: int, n: int, ref: dict, now: datetime, seed: int, chunk_size: int):
        self.rng = random.Random(seed * 1_000_003 + index)
        self.index = index
        self.ref = ref
        self.now = now
        self.out = {t: [] for t in COLUMNS}
        base = index * chunk_size
        self.next_id = {k: base * per + 1 for k, per in PER_CASE.items()}
        self.first_case = first_case
        self.n = n
        self.streams: list[tuple[str, str, int, int, list]] = []  # (stream, type, target, org, events)
        # Case and output rows wait for their stream's head, known once the chunk is chained.
        self.records: dict[str, str] = {}
        self.heads_digest = ""
        self.n_heads = 0
        self.last_event = 0
        self.masters: dict[int, list] = {}  # committee -> its open review cases, to merge into
        self.counts = {k: 0 for k in MIX_NAMES}
        self.paths: list[tuple[int, str]] = []  # (case id, the path it went down)
        self.issues: dict[str, int] = {}  # bulletin series -> issues taken in this chunk

    def nid(self, kind: str) -> int:
        value = self.next_id[kind]
        self.next_id[kind] = value + 1
        return value

    def row(self, table: str, *values: object) -> None:
        self.out[table].append("\t".join(map(_v, values)))

    def record(self, stream: str, *values: object) -> None:
        """A case or output row, kept until its stream's head is known."""
        self.records[stream] = "\t".join(map(_v, values))

    # Rows of one kind ---------------------------------------------------------------------------

    def task(
        self,
        pid: int,
        node: str,
        status: str,
        created: datetime,
        *,
        started=None,
        finished=None,
        owner=None,
        assigned=None,
        prev: int | tuple[int, ...] = (),
    ) -> int:
        tid = self.nid("task")
        self.out["viewflow_task"].append(
            f"{tid}\t{FT[node]}\t{FTT[node]}\t{status}\t{created.isoformat()}\t{_t(started)}\t{_t(finished)}\tstart\t"
            f"{_n(owner)}\t{pid}\t{_t(assigned)}\t{{}}"
        )
        for earlier in (prev,) if isinstance(prev, int) else prev:
            self.out["viewflow_task_previous"].append(f"{self.nid('previous')}\t{tid}\t{earlier}")
        return tid

    def clock(
        self,
        org: int,
        case_id: int,
        stage: str,
        started: datetime,
        *,
        task_id=None,
        queue=None,
        assignee=None,
        state="running",
        due_at=None,
        paused_at=None,
        paused_seconds=0,
        claimed_at=None,
        stopped_at=None,
        is_met=None,
        warn_from=None,
    ) -> None:
        """One clock row as `casework.services.clocks` writes it; `warn_from`: when a paused clock
        resumed (its warning is reckoned from then), else it opened."""
        met = "\\N" if is_met is None else ("t" if is_met else "f")
        error = ""
        if due_at is None:
            due_at, error = due_and_error(stage, started)
        left = days_left(paused_at, due_at) if state == "paused" else None
        warn_at = warn(stage, warn_from or started, due_at)
        self.out["casework_caseclock"].append(
            f"{self.nid('clock')}\t{stage}\t{_n(task_id)}\t{state}\t{started.isoformat()}\t"
            f"{_t(due_at)}\t{_t(paused_at)}\t{paused_seconds}\t{_t(claimed_at)}\t"
            f"{_t(stopped_at)}\t{met}\t{error}\t{_n(left)}\t{_n(assignee)}\t{case_id}\t{_n(queue)}\t{org}\t"
            f"{_t(warn_at)}\t\\N\t\\N\t0\t\\N"
        )

    # Timeline helpers ---------------------------------------------------------------------------

    def ev(self, events: list, at: datetime, actor, action: A, changes: dict, ip=None) -> None:
        events.append((at, actor, action.value, changes, ip))

    def last_task(self) -> int:
        return self.next_id["task"] - 1

    def finish(self, c: dict) -> None:
        pid = c["pid"]
        self.out["viewflow_process"].append(
            f"{pid}\t{FLOW_CLASS}\t{c['process_status']}\t{(c['t0'] + timedelta(microseconds=400)).isoformat()}\t"
            f"{_t(c['process_finished'])}\t{{}}"
        )
        self.out["workflows_caseprocess"].append(f"{pid}\t{c['id']}")
        self.write_case(c)

    def write_case(self, c: dict) -> None:
        k = c["case"]
        self.record(
            f"case:{c['id']}",
            c["id"],
            c["title"],
            c["description"],
            c["urgency"],
            c["consent"],
            k["status"],
            k["decision"],
            k["redirect_channel"],
            k["decision_note"],
            k["info_request"],
            k["info_answer"],
            k["outcome"],
            k["feedback_method"],
            k["satisfaction"],
            k["feedback_note"],
            k["feedback_told_on"],
            c["t0"] - timedelta(microseconds=300),
            k["updated_at"],
            k["submitted_at"],
            k["decided_at"],
            k["closed_at"],
            c["category"],
            c["committee"],
            c["muser"],
            c["member"],
            k["merged_into_id"],
            c["org"],
            k["output_id"],
            k["reject_reason_id"],
            c["township"],
        )

    def flush_streams(self) -> None:
        """Chain every stream of the chunk with the app's own functions: seq, prev_hash and the
        keyed digest; then each case and output row with its stream's head, and the heads the
        chunk's checkpoint records."""
        out = self.out["casework_auditevent"]
        dumps = json.dumps
        key: AuditKey = self.ref["key"]
        heads = []
        for stream, target_type, target_id, org, events in self.streams:
            prev = GENESIS
            if len(events) > 1:
                events.sort(key=lambda e: e[0])
            for seq, (at, actor, action, changes, ip) in enumerate(events, 1):
                message = event_message(
                    key_id=key.id,
                    stream=stream,
                    seq=seq,
                    organisation_id=org,
                    actor_id=actor,
                    action=action,
                    target_type=target_type,
                    target_id=target_id,
                    at_us=micros(at),
                    source_ip=ip,
                    success=True,
                    changes=changes,
                    prev_hash=prev,
                )
                digest = mac(key, ALGORITHM, message)
                event_id = self.nid("event")
                out.append(
                    f"{event_id}\t{stream}\t{seq}\t{action}\t{target_type}\t{target_id}\t"
                    f"{at.isoformat()}\t{_n(ip)}\tt\t{_s(dumps(changes, ensure_ascii=False))}\t{ALGORITHM}\t"
                    f"{key.id}\t{prev}\t{digest}\t{_n(actor)}\t{org}"
                )
                self.last_event = max(self.last_event, event_id)
                prev = digest
            table = "casework_case" if target_type == "case" else "casework_output"
            self.out[table].append(f"{self.records.pop(stream)}\t{len(events)}\t{prev}")
            heads.append((stream, len(events), prev))
        assert not self.records, f"records without a stream: {list(self.records)[:3]}"
        heads.sort()
        checkpoint = self.index + 1
        rows = self.out["casework_auditcheckpointhead"]
        for stream, seq, digest in heads:
            rows.append(f"{self.nid('head')}\t{checkpoint}\t{stream}\t{seq}\t{digest}")
        self.heads_digest = heads_digest(ALGORITHM, heads)
        self.n_heads = len(heads)

    def payload(self) -> dict:
        return {t: ("\n".join(rows) + "\n").encode() if rows else b"" for t, rows in self.out.items()}


CHUNK_SIZE = 20_000
_REF: dict = {}
