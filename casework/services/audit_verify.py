"""Verifying the audit trail: every event, every stream's head on its record, the checkpoint
chain, every head a checkpoint ever recorded, and the anchors outside the database.

What an attacker with the database but without the audit key cannot do unseen (README, "Audit"):
- alter, insert, reorder or replace an event: its HMAC, its seq or its link to the event before
  no longer verify ("hash", "gap", "link", "key");
- delete a tail: the head on the stream's record names an event that is gone ("head"); a tail
  cut back together with its record's head is named by the checkpoints that recorded a later head
  ("tail"), from the first checkpoint after the event (AUDIT_CHECKPOINT_SECONDS);
- delete a whole stream while its record remains ("head");
- rewrite or cut back the checkpoint chain: its HMACs, or its anchors outside the database
  ("checkpoint", "anchor").

`verify_full` walks everything. `verify_incremental` starts from the last checkpoint a previous
verification found intact and anchored (kept in a state file beside the anchors, outside the
database): the checkpoints, anchors and events after it, each new event's link to the one before
it, the latest recorded head and the record of every stream that moved. Tampering with older
events of streams that have not moved since is left to the full walk (beat runs it daily)."""

from __future__ import annotations

import hmac as hmac_mod
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from casework.models import AuditCheckpoint, AuditCheckpointHead, AuditEvent, AuditStream
from casework.services.audit import STREAM_OWNERS, stream_owner
from casework.services.audit_anchor import AnchorLog, anchor_path, database_label, read_anchors
from casework.services.audit_crypto import (
    EPOCH,
    GENESIS,
    AuditKeyError,
    Keyring,
    checkpoint_message,
    event_message_of,
    heads_digest,
    keyed_base,
    keyring,
    legacy_digest,
    legacy_payload,
    mac,
    micros,
)

Progress = Callable[[int, int], None]
BATCH = 500
# About how many recorded heads of older checkpoints each incremental run re-checks (a rolling
# slice; 20,000 index look-ups take about 0.1 s): at 288 runs a day, 5.8 million heads a day.
ROLLING_HEADS = 20000
MAX_BREAKS = 10000  # a wholesale rewrite would otherwise fill memory with breaks


@dataclass(frozen=True)
class Break:
    kind: str
    event_id: int | None
    stream: str
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"event id={self.event_id} " if self.event_id is not None else ""
        return f"[{self.kind}] {where}stream={self.stream} seq={self.seq}: {self.detail}"


@dataclass
class Report:
    mode: str
    breaks: list[Break] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    events: int = 0
    streams: int = 0
    checkpoints: int = 0
    anchors: int = 0
    seconds: float = 0.0
    verified_through: int | None = None  # the checkpoint seq the next incremental run starts from
    anchor_file: str = ""
    _seen: set[tuple[str, str, int | None]] = field(default_factory=set, repr=False)

    @property
    def ok(self) -> bool:
        return not self.breaks

    def add(self, kind: str, stream: str, seq: int | None, detail: str, event_id: int | None = None) -> None:
        # Two checks can find the same break (a recorded head, by its stream and by its checkpoint).
        if len(self.breaks) < MAX_BREAKS and (kind, stream, seq) not in self._seen:
            self._seen.add((kind, stream, seq))
            self.breaks.append(Break(kind, event_id, stream, seq, detail))

    def as_json(self, limit: int = 100) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "mode": self.mode,
            "events": self.events,
            "streams": self.streams,
            "checkpoints": self.checkpoints,
            "anchors": self.anchors,
            "seconds": round(self.seconds, 3),
            "verified_through": self.verified_through,
            "anchor_file": self.anchor_file,
            "breaks": len(self.breaks),
            "first_break": asdict(self.breaks[0]) if self.breaks else None,
            "break_list": [asdict(b) for b in self.breaks[:limit]],
            "warnings": self.warnings,
        }


# Events ----------------------------------------------------------------------------------------

_EVENT_COLUMNS = (
    "id",
    "stream",
    "seq",
    "organisation_id",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "occurred_at",
    "source_ip",
    "success",
    "changes",
    "algorithm",
    "key_id",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class _Events:
    """Which events to read: a range of streams, and/or those after an id."""

    low: str | None = None
    high: str | None = None
    after_id: int | None = None

    def q(self) -> Q:
        where = Q()
        if self.low is not None:
            where &= Q(stream__gte=self.low)
        if self.high is not None:
            where &= Q(stream__lt=self.high)
        if self.after_id is not None:
            where &= Q(id__gt=self.after_id)
        return where


def _event_rows(which: _Events) -> Iterator[tuple[Any, ...]]:
    """The events, in (stream, seq) order, as tuples of _EVENT_COLUMNS (`changes` may still be
    JSON text). On PostgreSQL a server-side cursor streams them, inside a transaction: outside
    one Django declares it WITH HOLD, and PostgreSQL would first copy the whole result."""
    if connection.vendor != "postgresql":
        rows = AuditEvent.objects.filter(which.q()).values_list(*_EVENT_COLUMNS).order_by("stream", "seq")
        yield from rows.iterator(chunk_size=5000)
        return
    conditions: list[str] = []
    params: list[Any] = []
    if which.low is not None:
        conditions.append("stream >= %s")
        params.append(which.low)
    if which.high is not None:
        conditions.append("stream < %s")
        params.append(which.high)
    if which.after_id is not None:
        conditions.append("id > %s")
        params.append(which.after_id)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    # The instant as integer microseconds, computed by PostgreSQL: exact (numeric since 14), and
    # parsing the timestamp text instead cost 10 of the 12 microseconds a row took (measured).
    columns = ", ".join(_EVENT_COLUMNS).replace("occurred_at", "(extract(epoch FROM occurred_at) * 1000000)::int8")
    sql = f"SELECT {columns} FROM {connection.ops.quote_name(AuditEvent._meta.db_table)} {where} ORDER BY stream, seq"
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(5000):
            yield from rows


class _StreamWalk:
    """Checks events of one stream in seq order: seq, link, key order and digest."""

    def __init__(self, ring: Keyring, report: Report) -> None:
        self.ring = ring
        self.report = report
        self.stream = ""
        self.expected_seq = 1
        self.expected_prev = GENESIS
        self.rank = -1
        self.keyed = False
        self.last: tuple[int, str, bool] | None = None  # seq, digest, keyed
        self._key_id = self._algorithm = ""  # of the event before, with its HMAC state
        self._base: Any = None

    def start(self, stream: str, *, seq: int = 1, prev: str = GENESIS, rank: int = -1, keyed: bool = False) -> None:
        self.stream, self.expected_seq, self.expected_prev = stream, seq, prev
        self.rank, self.keyed, self.last = rank, keyed, None
        self._key_id = self._algorithm = ""  # the key order is checked afresh in each stream

    def check(self, row: tuple[Any, ...]) -> None:
        (
            event_id,
            stream,
            seq,
            org,
            actor,
            action,
            ttype,
            tid,
            at,
            ip,
            success,
            changes,
            algorithm,
            key_id,
            prev,
            digest,
        ) = row
        if seq != self.expected_seq or prev != self.expected_prev:
            self._link_break(row)
        if changes.__class__ is str:
            changes = json.loads(changes)
        if key_id and key_id == self._key_id and algorithm == self._algorithm:
            # The common case, kept short: the same key and algorithm as the event before.
            h = self._base.copy()
            h.update(
                event_message_of(
                    key_id,
                    stream,
                    seq,
                    org,
                    actor,
                    action,
                    ttype,
                    tid,
                    at if at.__class__ is int else micros(at),
                    ip,
                    success,
                    changes,
                    prev,
                )
            )
            if h.hexdigest() != digest:
                self.report.add("hash", stream, seq, "content does not match its keyed digest", event_id)
        elif key_id:
            self._keyed_slow(row, changes)
        else:
            self._unkeyed(row, changes)
        self.expected_seq, self.expected_prev = seq + 1, digest
        self.last = (seq, digest, bool(key_id))

    def _link_break(self, row: tuple[Any, ...]) -> None:
        event_id, stream, seq, prev = row[0], row[1], row[2], row[14]
        if seq != self.expected_seq:
            detail = f"expected seq {self.expected_seq}: events missing or inserted"
            self.report.add("gap", stream, seq, detail, event_id)
        elif prev != self.expected_prev:
            self.report.add("link", stream, seq, "prev_hash does not match the event before", event_id)

    def _keyed_slow(self, row: tuple[Any, ...], changes: Any) -> None:
        """A key or algorithm other than the last event's: look the key up, check its order."""
        (
            event_id,
            stream,
            seq,
            org,
            actor,
            action,
            ttype,
            tid,
            at,
            ip,
            success,
            _c,
            algorithm,
            key_id,
            prev,
            digest,
        ) = row
        report = self.report
        self._key_id = self._algorithm = ""
        self.keyed = True
        key = self.ring.get(key_id)
        if key is None:
            report.add("key", stream, seq, f"signed with key {key_id}, which is not in the keyring", event_id)
            return
        if key.rank < self.rank:
            report.add("key", stream, seq, f"signed with key {key_id}, older than the event before", event_id)
        self.rank = max(self.rank, key.rank)
        try:
            base = keyed_base(key, algorithm)
        except (ValueError, AuditKeyError):
            report.add("key", stream, seq, f"digest algorithm {algorithm} is not available here", event_id)
            return
        self._key_id, self._algorithm, self._base = key_id, algorithm, base
        at_us = at if at.__class__ is int else micros(at)
        h = base.copy()
        h.update(
            event_message_of(key_id, stream, seq, org, actor, action, ttype, tid, at_us, ip, success, changes, prev)
        )
        if h.hexdigest() != digest:
            report.add("hash", stream, seq, "content does not match its keyed digest", event_id)

    def _unkeyed(self, row: tuple[Any, ...], changes: Any) -> None:
        (event_id, stream, seq, org, actor, action, ttype, tid, at, ip, success, _c, algorithm, _k, prev, digest) = row
        if self.keyed:
            self.report.add("key", stream, seq, "an unkeyed event after keyed ones", event_id)
        if at.__class__ is int:
            at = EPOCH + timedelta(microseconds=at)
        payload = legacy_payload(stream, seq, org, actor, action, ttype, tid, at, ip, success, changes, prev)
        try:
            if legacy_digest(algorithm, payload) != digest:
                self.report.add("hash", stream, seq, "content does not match its (unkeyed) digest", event_id)
        except ValueError:
            self.report.add("key", stream, seq, f"digest algorithm {algorithm} is not available here", event_id)


def _walk(
    ring: Keyring, report: Report, which: _Events, tick: Callable[[int], None] | None
) -> list[tuple[str, int, str]]:
    """Every event of `which`, stream by stream. Returns the heads of streams whose last
    event is unkeyed (they must be sealed by a keyed checkpoint)."""
    walk = _StreamWalk(ring, report)
    legacy_tails: list[tuple[str, int, str]] = []
    done = 0
    for stream, rows in groupby(_event_rows(which), key=itemgetter(1)):
        walk.start(stream)
        for row in rows:
            walk.check(row)
            done += 1
            if tick is not None and not done % 5000:
                tick(5000)
        report.streams += 1
        if walk.last is not None and not walk.last[2]:
            legacy_tails.append((stream, walk.last[0], walk.last[1]))
    if tick is not None:
        tick(done % 5000)
    report.events += done
    return legacy_tails


def _split_points(parts: int) -> list[str]:
    """Stream names that cut the events into `parts` ranges of about equal size, in the
    database's own order (its collation decides what `stream < x` means), from a sample."""
    estimate = max(_estimate_events(), 1)
    percent = min(100.0, 20000 * 100.0 / estimate)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT stream FROM (SELECT stream FROM {connection.ops.quote_name(AuditEvent._meta.db_table)} "
            f"TABLESAMPLE SYSTEM ({percent:.4f})) s ORDER BY stream"
        )
        sample = [row[0] for row in cursor.fetchall()]
    points: list[str] = []
    for i in range(1, parts):
        point = sample[len(sample) * i // parts] if sample else ""
        if point and (not points or point != points[-1]):
            points.append(point)
    return points


_counter: Any = None


def _init_part(counter: Any) -> None:
    global _counter
    _counter = counter


def _tick(n: int) -> None:
    with _counter.get_lock():
        _counter.value += n


def _walk_part(bounds: tuple[str | None, str | None]) -> tuple[list[Break], int, int, list[tuple[str, int, str]]]:
    low, high = bounds
    report = Report(mode="part")
    try:
        tails = _walk(keyring(), report, _Events(low=low, high=high), _tick)
    finally:
        connection.close()
    return report.breaks, report.events, report.streams, tails


def _walk_all(
    ring: Keyring, report: Report, progress: Progress | None, total: int, workers: int, meanwhile: Callable[[], None]
) -> list[tuple[str, int, str]]:
    """The walk over every event, in `workers` processes over ranges of streams when the
    database can serve them (PostgreSQL, outside a transaction: a forked process would not see
    this one's uncommitted rows). `meanwhile` (the checks made in the database) runs here while
    they walk."""
    if workers <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        seen = [0]

        def tick(n: int) -> None:
            seen[0] += n
            if progress is not None and (not seen[0] % 20000 or n < 5000):
                progress(seen[0], max(total, seen[0]))

        found = _walk(ring, report, _Events(), tick)
        meanwhile()
        return found
    points = _split_points(workers)
    ranges = list(zip([None, *points], [*points, None], strict=True))
    connection.close()  # each process opens its own
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    with context.Pool(len(ranges), initializer=_init_part, initargs=(counter,)) as pool:
        pending = pool.map_async(_walk_part, ranges)
        meanwhile()
        while not pending.ready():
            pending.wait(0.5)
            if progress is not None:
                progress(counter.value, max(total, counter.value))
        parts = pending.get()
    tails: list[tuple[str, int, str]] = []
    for breaks, events, streams, part_tails in parts:  # in stream order, as one walk would find them
        for b in breaks:
            report.add(b.kind, b.stream, b.seq, b.detail, b.event_id)
        report.events += events
        report.streams += streams
        tails += part_tails
    if progress is not None:
        progress(report.events, max(total, report.events))
    return tails


# Heads on records ------------------------------------------------------------------------------


def _stream_expr(table: str, prefix: str) -> str:
    return f"'{prefix}:' || {table}.id"


def _owner_sources() -> list[tuple[str, str, str]]:
    """(label, SQL of the stream name from the record row, table) for each kind of record."""
    q = connection.ops.quote_name
    sources = []
    for prefix, model in STREAM_OWNERS.items():
        table = q(model._meta.db_table)
        sources.append((prefix, _stream_expr(table, prefix), table))
    table = q(AuditStream._meta.db_table)
    sources.append(("stream", f"{table}.name", table))
    return sources


def _check_record_heads(report: Report, only: dict[str, list[Any]] | None = None) -> None:
    """Every record's head is its stream's last event: the event it names exists with that digest,
    and no event follows it. In the database, one statement per kind of record (two index
    look-ups a record), so a stream written meanwhile is seen consistently. `only` restricts it
    to some records (by kind: ids, or names of AuditStream rows)."""
    events = connection.ops.quote_name(AuditEvent._meta.db_table)
    for label, name, table in _owner_sources():
        # The count in the select list is evaluated for the rows found only.
        sql = (
            f"SELECT {name}, {table}.audit_seq, {table}.audit_head, e.hash, nxt.id, "
            f"(SELECT count(*) FROM {events} one WHERE one.stream = {name} AND one.seq = 1) FROM {table} "
            f"LEFT JOIN {events} e ON e.stream = {name} AND e.seq = {table}.audit_seq "
            f"LEFT JOIN {events} nxt ON nxt.stream = {name} AND nxt.seq = {table}.audit_seq + 1 "
            f"WHERE (({table}.audit_seq > 0 AND (e.id IS NULL OR e.hash <> {table}.audit_head)) "
            f"OR nxt.id IS NOT NULL)"
        )
        key = f"{table}.name" if label == "stream" else f"{table}.id"
        batches: list[list[Any] | None] = [None]
        if only is not None:
            keys = only.get(label, [])
            size = 5000 if connection.vendor == "postgresql" else BATCH
            batches = [keys[i : i + size] for i in range(0, len(keys), size)]
        with connection.cursor() as cursor:
            for batch in batches:
                if batch is None:
                    cursor.execute(sql + " ORDER BY 1")
                elif connection.vendor == "postgresql":
                    cursor.execute(sql + f" AND {key} = ANY(%s) ORDER BY 1", [batch])
                else:
                    cursor.execute(sql + f" AND {key} IN ({', '.join(['%s'] * len(batch))}) ORDER BY 1", batch)
                for stream, seq, head, have, after, first in cursor.fetchall():
                    _head_break(report, stream, seq, head, have, after is not None, whole=not first)


def _head_break(
    report: Report, stream: str, seq: int, head: str, have: str | None, more: bool, *, whole: bool = False
) -> None:
    if more:
        report.add("head", stream, seq + 1, f"the stream goes on past the head its record keeps (seq {seq})")
    elif have is None:
        gone = "the whole stream is missing" if whole else "tail deleted"
        report.add("head", stream, seq, f"its record's head names seq {seq}, which is gone ({gone})")
    else:
        report.add("head", stream, seq, "its record's head digest differs from the event (tail replaced)")


def _owned_pattern(prefix: str) -> str:
    return f"^{prefix}:[0-9]+$"


def _regex_op() -> str:
    # Django gives SQLite connections a REGEXP function; PostgreSQL has the operator.
    return "~" if connection.vendor == "postgresql" else "REGEXP"


def _check_orphans(report: Report) -> None:
    """Every stream has its record (a case stream its case, any other stream its AuditStream)."""
    q = connection.ops.quote_name
    events, op = q(AuditEvent._meta.db_table), _regex_op()
    with connection.cursor() as cursor:
        for prefix, model in STREAM_OWNERS.items():
            cursor.execute(
                f"SELECT e.stream FROM {events} e WHERE e.seq = 1 AND e.stream {op} %s AND NOT EXISTS "
                f"(SELECT 1 FROM {q(model._meta.db_table)} r WHERE r.id = CAST(substr(e.stream, %s) AS BIGINT)) "
                f"ORDER BY 1",
                [_owned_pattern(prefix), len(prefix) + 2],
            )
            for (stream,) in cursor.fetchall():
                report.add("head", stream, 1, "the stream's record is gone")
        others = " AND ".join(f"NOT (e.stream {op} %s)" for _ in STREAM_OWNERS)
        cursor.execute(
            f"SELECT e.stream FROM {events} e WHERE e.seq = 1 AND {others} AND NOT EXISTS "
            f"(SELECT 1 FROM {q(AuditStream._meta.db_table)} r WHERE r.name = e.stream) ORDER BY 1",
            [_owned_pattern(prefix) for prefix in STREAM_OWNERS],
        )
        for (stream,) in cursor.fetchall():
            report.add("head", stream, 1, "the stream's record is gone")


# Checkpoints -----------------------------------------------------------------------------------

_CHECKPOINT_FIELDS = (
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
)


@dataclass
class _Chain:
    prev: str = GENESIS
    seq: int | None = None
    key_id: str = ""  # the key the next checkpoint must be signed with ("" : any, at the start)
    seen: set[int] = field(default_factory=set)
    last: dict[str, Any] | None = None


def _check_checkpoints(
    ring: Keyring, report: Report, chain: _Chain, anchors: AnchorLog, *, after_seq: int = 0
) -> list[int]:
    """The keyed checkpoint chain after `after_seq`: links, HMACs over their heads, the key each
    is signed with, and each against its anchor. Returns the ids of the checkpoints checked."""
    checkpoints = (
        AuditCheckpoint.objects.exclude(key_id="").filter(seq__gt=after_seq).order_by("seq").values(*_CHECKPOINT_FIELDS)
    )
    first = checkpoints.first()
    if first is None:
        return []
    heads = (
        AuditCheckpointHead.objects.filter(checkpoint_id__gte=first["id"])
        .order_by("checkpoint_id")
        .values_list("checkpoint_id", "stream", "seq", "digest")
        .iterator(chunk_size=5000)
    )
    groups = groupby(heads, key=lambda r: r[0])
    pending = next(groups, None)
    grace = timedelta(seconds=2 * settings.AUDIT_CHECKPOINT_SECONDS + 60)
    now = timezone.now()
    checked: list[int] = []
    for cp in checkpoints.iterator(chunk_size=2000):
        seq = cp["seq"]
        rows: list[tuple[str, int, str]] = []
        while pending is not None and pending[0] < cp["id"]:
            report.add(
                "checkpoint", "checkpoint", None, f"head rows of checkpoint id {pending[0]}, which is not in the chain"
            )
            pending = next(groups, None)
        if pending is not None and pending[0] == cp["id"]:
            rows = [(s, q, d) for _c, s, q, d in pending[1]]
            pending = next(groups, None)
        report.checkpoints += 1
        checked.append(cp["id"])
        chain.seen.add(seq)
        if chain.seq is not None and seq != chain.seq + 1:
            report.add("checkpoint", "checkpoint", seq, f"checkpoints {chain.seq + 1}..{seq - 1} are missing")
        if cp["prev_hash"] != chain.prev:
            report.add("checkpoint", "checkpoint", seq, "its link to the checkpoint before is broken")
        key = ring.get(cp["key_id"])
        if key is None:
            report.add("key", "checkpoint", seq, f"signed with key {cp['key_id']}, which is not in the keyring")
        elif chain.key_id and cp["key_id"] != chain.key_id:
            report.add("key", "checkpoint", seq, f"signed with key {cp['key_id']}; the chain says {chain.key_id}")
        if len(rows) != cp["n_heads"]:
            report.add("checkpoint", "checkpoint", seq, f"records {len(rows)} heads, signed for {cp['n_heads']}")
        if key is not None:
            message = checkpoint_message(
                key_id=cp["key_id"],
                seq=seq,
                prev_hash=cp["prev_hash"],
                created_us=micros(cp["created_at"]),
                last_event_id=cp["last_event_id"],
                resume_after=cp["resume_after"],
                next_key_id=cp["next_key_id"],
                n_heads=cp["n_heads"],
                heads=heads_digest(cp["algorithm"], rows),
            )
            expected = mac(key, cp["algorithm"], message)
            if not hmac_mod.compare_digest(expected, cp["hash"]):
                report.add("checkpoint", "checkpoint", seq, "content does not match its keyed digest")
        if cp["next_key_id"]:
            following = ring.get(cp["next_key_id"])
            if following is None or (key is not None and following.rank <= key.rank):
                report.add("key", "checkpoint", seq, f"hands over to key {cp['next_key_id']}, not a newer key here")
        anchored = anchors.anchored.get(seq)
        if anchored is not None and anchored != cp["hash"]:
            report.add("anchor", "checkpoint", seq, "differs from its anchor outside the database (rewritten)")
        elif anchored is None and anchors.exists and cp["created_at"] < now - grace:
            report.warnings.append(f"checkpoint {seq} has no anchor in {anchors.path} (a lost append?)")
        chain.prev, chain.seq = cp["hash"], seq
        chain.key_id = cp["next_key_id"] or cp["key_id"]
        chain.last = cp
    while pending is not None:
        report.add(
            "checkpoint", "checkpoint", None, f"head rows of checkpoint id {pending[0]}, which is not in the chain"
        )
        pending = next(groups, None)
    return checked


def _check_anchor_log(report: Report, chain: _Chain, anchors: AnchorLog, *, floor: int = 0) -> None:
    """What the anchors say that the database lacks: checkpoints removed, or a chain cut back.
    (Checkpoints the database has were compared with their anchors one by one.)"""
    report.anchors = len(anchors.anchored)
    for seq, first, other in anchors.conflicts:
        report.add("anchor", "checkpoint", seq, f"two anchors disagree ({first[:12]}…, {other[:12]}…): rewound")
    top = chain.seq or 0
    for seq in sorted(s for s in anchors.anchored if s > floor and s not in chain.seen):
        if seq > top:
            report.add(
                "anchor",
                "checkpoint",
                seq,
                f"anchored outside the database but missing from it (the chain ends at {top}): cut back",
            )
            break
        report.add("anchor", "checkpoint", seq, "anchored outside the database but missing from it")
    for line in anchors.malformed[:10]:
        report.warnings.append(f"{anchors.path}: line {line} is not an anchor")
    if anchors.abandoned:
        report.warnings.append(
            f"{len(anchors.abandoned)} anchored checkpoints were given up by an acknowledged restore "
            f"(to checkpoint {min(int(r['seq']) for r in anchors.restores)})"
        )
    if not anchors.exists and chain.seq:
        report.warnings.append(f"no anchor file at {anchors.path}: the checkpoint chain is checked by its keys only")


def _check_recorded_heads(report: Report, checkpoint_ids: list[int] | None) -> None:
    """Every head a checkpoint recorded still exists as recorded (all, or those of `checkpoint_ids`)."""
    q = connection.ops.quote_name
    heads, events = q(AuditCheckpointHead._meta.db_table), q(AuditEvent._meta.db_table)
    checkpoints = q(AuditCheckpoint._meta.db_table)
    sql = (
        f"SELECT c.seq, h.stream, h.seq, h.digest, e.hash FROM {heads} h "
        f"JOIN {checkpoints} c ON c.id = h.checkpoint_id "
        f"LEFT JOIN {events} e ON e.stream = h.stream AND e.seq = h.seq "
        f"WHERE (e.id IS NULL OR e.hash <> h.digest)"
    )
    batches: Iterable[list[int] | None] = [None]
    if checkpoint_ids is not None:
        batches = [checkpoint_ids[i : i + BATCH] for i in range(0, len(checkpoint_ids), BATCH)]
    with connection.cursor() as cursor:
        for batch in batches:
            if batch is not None:
                cursor.execute(sql + f" AND h.checkpoint_id IN ({', '.join(['%s'] * len(batch))}) ORDER BY 1, 2", batch)
            else:
                cursor.execute(sql + " ORDER BY 1, 2")
            for cseq, stream, seq, digest, have in cursor.fetchall():
                _tail_break(report, cseq, stream, seq, digest, have)


def _tail_break(report: Report, cseq: int, stream: str, seq: int, digest: str, have: str | None) -> None:
    if have is None:
        report.add("tail", stream, seq, f"checkpoint {cseq} recorded this event; it is gone (stream cut back)")
    elif have != digest:
        report.add("tail", stream, seq, f"checkpoint {cseq} recorded another digest for this event (replaced)")


def _check_legacy_sealed(report: Report, legacy_tails: list[tuple[str, int, str]]) -> None:
    """Unkeyed events (before keys existed) are trusted only as sealed: each stream whose last
    event is unkeyed must have that head recorded by a keyed checkpoint."""
    for i in range(0, len(legacy_tails), BATCH):
        batch = legacy_tails[i : i + BATCH]
        sealed = set(
            AuditCheckpointHead.objects.filter(stream__in=[stream for stream, _s, _d in batch])
            .exclude(checkpoint__key_id="")
            .values_list("stream", "seq", "digest")
        )
        for stream, seq, digest in batch:
            if (stream, seq, digest) not in sealed:
                report.add(
                    "unsealed",
                    stream,
                    seq,
                    "unkeyed events no keyed checkpoint sealed (forged, or run audit_checkpoint)",
                )


# State of the incremental check ----------------------------------------------------------------


def state_path() -> Path:
    return Path(settings.VAR_DIR) / f"audit-verified-{database_label()}.json"


def load_state() -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(state_path().read_text())
    except (FileNotFoundError, ValueError):
        return None
    return state


def _save_state(report: Report, chain: _Chain, anchors: AnchorLog, *, rolling_after: int = 0) -> None:
    if chain.last is None:
        return
    state = {
        "rolling_after": rolling_after,
        "checkpoint": chain.last["seq"],
        "hash": chain.last["hash"],
        "key_id": chain.key_id,
        "anchor_file": str(anchors.path),
        "anchor_offset": anchors.end_offset,
        "verified_at": timezone.now().isoformat(),
        "mode": report.mode,
    }
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, path)
    report.verified_through = chain.last["seq"]


# Entry points -----------------------------------------------------------------------------------


def _estimate_events() -> int:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [AuditEvent._meta.db_table]
            )
            row = cursor.fetchone()
            if row and row[0] > 0:
                return int(row[0])
    return AuditEvent.objects.count()


def verify_full(*, progress: Progress | None = None, save_state: bool = True, workers: int = 1) -> Report:
    """Everything. `workers` > 1 walks ranges of streams in that many processes (PostgreSQL)."""
    started = time.monotonic()
    report = Report(mode="full")
    ring = keyring()
    anchors = read_anchors()
    report.anchor_file = str(anchors.path)
    chain = _Chain()
    # The checks the database makes run while the walk runs (in other processes, if any); their
    # breaks come after the walk's, which name the first broken event.
    in_db = Report(mode="full")

    def database_checks() -> None:
        _check_record_heads(in_db)
        _check_orphans(in_db)
        _check_checkpoints(ring, in_db, chain, anchors)
        _check_recorded_heads(in_db, None)
        _check_anchor_log(in_db, chain, anchors)

    total = _estimate_events() if progress else 0
    legacy_tails = _walk_all(ring, report, progress, total, workers, database_checks)
    for b in in_db.breaks:
        report.add(b.kind, b.stream, b.seq, b.detail, b.event_id)
    report.warnings += in_db.warnings
    report.checkpoints, report.anchors = in_db.checkpoints, in_db.anchors
    _check_legacy_sealed(report, legacy_tails)
    legacy = AuditCheckpoint.objects.filter(key_id="").count()
    if legacy:
        report.warnings.append(f"{legacy} checkpoints from before keys existed were not checked")
    report.seconds = time.monotonic() - started
    if report.ok and save_state:
        _save_state(report, chain, anchors)
    return report


def verify_incremental(*, progress: Progress | None = None) -> Report:
    """Check what is new since the last verified checkpoint; a full walk if there is none yet."""
    state = load_state()
    anchors_file = anchor_path()
    if state is None or state.get("anchor_file") != str(anchors_file):
        report = verify_full(progress=progress)
        report.mode = "full (no earlier verification to start from)"
        return report
    started = time.monotonic()
    report = Report(mode="incremental")
    report.anchor_file = str(anchors_file)
    ring = keyring()
    base_seq, base_hash = int(state["checkpoint"]), str(state["hash"])
    base = AuditCheckpoint.objects.exclude(key_id="").filter(seq=base_seq).first()
    if base is None or base.hash != base_hash:
        report.add(
            "checkpoint",
            "checkpoint",
            base_seq,
            f"verified intact at {state.get('verified_at')}, now {'missing' if base is None else 'rewritten'}",
        )
        report.seconds = time.monotonic() - started
        return report
    offset = int(state.get("anchor_offset", 0))
    size = anchors_file.stat().st_size if anchors_file.exists() else 0
    if size < offset:
        report.add("anchor", "checkpoint", None, f"{anchors_file} is shorter than when last verified: truncated")
        offset = 0
    anchors = read_anchors(anchors_file, offset=offset)
    if any(int(r["seq"]) < base_seq for r in anchors.restores):
        report = verify_full(progress=progress)
        report.mode = "full (a restore was acknowledged)"
        return report
    chain = _Chain(prev=base.hash, seq=base.seq, key_id=base.next_key_id or base.key_id, seen={base.seq})
    chain.last = {"seq": base.seq, "hash": base.hash}
    checked = _check_checkpoints(ring, report, chain, anchors, after_seq=base_seq)
    _check_recorded_heads(report, checked)
    # Lines appended since for checkpoints at or below the verified one: a re-anchoring after
    # the chain was cut back (the same digest again is a repeated append, and harmless).
    for seq, digest in sorted(anchors.anchored.items()):
        if seq <= base_seq:
            have = AuditCheckpoint.objects.exclude(key_id="").filter(seq=seq).values_list("hash", flat=True).first()
            if have != digest:
                report.add("anchor", "checkpoint", seq, "anchored anew with another digest: the chain was rewound")
    _check_anchor_log(report, chain, anchors, floor=base_seq)
    _check_new_events(ring, report, base_seq, base.resume_after, progress)
    rolling = _check_rolling_slice(report, int(state.get("rolling_after", 0)), base_seq)
    report.seconds = time.monotonic() - started
    if report.ok:
        _save_state(report, chain, anchors, rolling_after=rolling)
    return report


def _check_rolling_slice(report: Report, after: int, upto: int) -> int:
    """The recorded heads of the next older checkpoints after `after`, about ROLLING_HEADS of them
    (whole checkpoints, at least one), up to the verified one, wrapping round: older history is
    re-checked a slice a run, so a checkpointed tail cut back on a stream that never moves again
    is named within a few runs, not only by the daily full walk. Returns where the next run's
    slice starts."""
    if after >= upto:
        after = 0
    taken: list[tuple[int, int]] = []
    heads = 0
    for checkpoint_id, seq, n_heads in (
        AuditCheckpoint.objects.exclude(key_id="")
        .filter(seq__gt=after, seq__lte=upto)
        .order_by("seq")
        .values_list("id", "seq", "n_heads")[:ROLLING_HEADS]
    ):
        if taken and heads + n_heads > ROLLING_HEADS:
            break
        taken.append((checkpoint_id, seq))
        heads += n_heads
    if not taken:
        return 0
    _check_recorded_heads(report, [i for i, _s in taken])
    return taken[-1][1]


def _check_new_events(ring: Keyring, report: Report, base_seq: int, since: int, progress: Progress | None) -> None:
    """Events after `since`, stream by stream: each checked as in the full walk, the first of each
    stream against the event before it; then the latest recorded head and the record of every
    stream that moved."""
    walk = _StreamWalk(ring, report)
    firsts: list[tuple[str, int, str, int]] = []  # stream, seq, prev_hash, event id
    tails: dict[str, tuple[int, str]] = {}
    first_keys: dict[str, str] = {}
    done = 0
    for stream, rows in groupby(_event_rows(_Events(after_id=since)), key=itemgetter(1)):
        for n, row in enumerate(rows):
            if n == 0:
                # Its link to the event before is checked with one look-up per batch, below.
                firsts.append((stream, row[2], row[14], row[0]))
                first_keys[stream] = row[13]
                walk.start(stream, seq=row[2], prev=row[14])
            walk.check(row)
            done += 1
            if progress is not None and not done % 20000:
                progress(done, done)
        if walk.last is not None:
            tails[stream] = (walk.last[0], walk.last[1])
    report.events, report.streams = done, len(tails)
    _check_predecessors(ring, report, firsts, first_keys)
    _check_latest_recorded(report, list(tails), base_seq)
    _check_moved_records(report, tails)


def _lookup(pairs: list[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, str]]:
    """(stream, seq) -> (digest, key id) of those events that exist: one index look-up a pair,
    in batches (on PostgreSQL a join with the arrays of pairs; an OR of conditions per pair made
    the planner take a millisecond a pair)."""
    found: dict[tuple[str, int], tuple[str, str]] = {}
    events = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        for i in range(0, len(pairs), 5000 if connection.vendor == "postgresql" else BATCH):
            batch = pairs[i : i + 5000]
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"SELECT e.stream, e.seq, e.hash, e.key_id FROM unnest(%s::text[], %s::int[]) AS w(stream, seq) "
                    f"JOIN {events} e ON e.stream = w.stream AND e.seq = w.seq",
                    [[s for s, _q in batch], [q for _s, q in batch]],
                )
            else:
                batch = pairs[i : i + BATCH]
                values = ", ".join(["(%s, %s)"] * len(batch))
                cursor.execute(
                    f"SELECT stream, seq, hash, key_id FROM {events} WHERE (stream, seq) IN (VALUES {values})",
                    [v for pair in batch for v in pair],
                )
            for stream, seq, digest, key_id in cursor.fetchall():
                found[(stream, seq)] = (digest, key_id)
    return found


def _check_predecessors(
    ring: Keyring, report: Report, firsts: list[tuple[str, int, str, int]], keys: dict[str, str]
) -> None:
    wanted = [(stream, seq - 1) for stream, seq, _prev, _id in firsts if seq > 1]
    found = _lookup(wanted)
    for stream, seq, prev, event_id in firsts:
        if seq == 1:
            if prev != GENESIS:
                report.add("link", stream, seq, "prev_hash does not match the event before", event_id)
            continue
        before = found.get((stream, seq - 1))
        if before is None:
            report.add("gap", stream, seq, f"expected seq {seq - 1} before it: events missing", event_id)
        elif before[0] != prev:
            report.add("link", stream, seq, "prev_hash does not match the event before", event_id)
        else:
            older, newer = ring.get(before[1]), ring.get(keys[stream])
            if older is not None and newer is not None and newer.rank < older.rank:
                report.add("key", stream, seq, f"signed with key {keys[stream]}, older than the event before", event_id)
            elif keys[stream] == "" and before[1]:
                report.add("key", stream, seq, "an unkeyed event after keyed ones", event_id)


def _check_latest_recorded(report: Report, streams: list[str], base_seq: int) -> None:
    """The latest head a checkpoint up to the verified one recorded for each moved stream still
    exists as recorded: a stream cut back below it and then written on is named here. (Newer
    checkpoints' heads were checked with them; they may well record the rewritten stream.)"""
    latest: dict[str, tuple[int, int, str, int]] = {}  # stream -> checkpoint id, seq, digest, checkpoint seq
    heads = connection.ops.quote_name(AuditCheckpointHead._meta.db_table)
    checkpoints = connection.ops.quote_name(AuditCheckpoint._meta.db_table)
    size = 5000 if connection.vendor == "postgresql" else BATCH
    with connection.cursor() as cursor:
        for i in range(0, len(streams), size):
            batch = streams[i : i + size]
            params: list[Any]
            if connection.vendor == "postgresql":
                where, params = "h.stream = ANY(%s)", [batch]
            else:
                where, params = f"h.stream IN ({', '.join(['%s'] * len(batch))})", list(batch)
            cursor.execute(
                f"SELECT h.stream, h.checkpoint_id, h.seq, h.digest, c.seq FROM {heads} h "
                f"JOIN {checkpoints} c ON c.id = h.checkpoint_id WHERE {where} AND c.seq <= %s",
                [*params, base_seq],
            )
            for stream, checkpoint_id, seq, digest, cseq in cursor.fetchall():
                have = latest.get(stream)
                if have is None or have[0] < checkpoint_id:
                    latest[stream] = (checkpoint_id, seq, digest, cseq)
    found = _lookup([(stream, seq) for stream, (_c, seq, _d, _s) in latest.items()])
    for stream, (_c, seq, digest, cseq) in sorted(latest.items()):
        event = found.get((stream, seq))
        if event is None or event[0] != digest:
            _tail_break(report, cseq, stream, seq, digest, event[0] if event else None)


def _check_moved_records(report: Report, tails: dict[str, tuple[int, str]]) -> None:
    """The record of each moved stream keeps that stream's last event as its head (checked as
    the full walk checks every record, in one statement a batch), and exists."""
    only: dict[str, list[Any]] = {}
    for stream in tails:
        model, pk = stream_owner(stream)
        if model is AuditStream:
            only.setdefault("stream", []).append(stream)
        else:
            only.setdefault(stream.partition(":")[0], []).append(pk)
    _check_record_heads(report, only)
    for label, keys in only.items():
        owner: Any = STREAM_OWNERS.get(label, AuditStream)
        field_name = "name" if owner is AuditStream else "id"
        present: set[Any] = set()
        for i in range(0, len(keys), BATCH):
            present.update(
                owner.objects.filter(**{f"{field_name}__in": keys[i : i + BATCH]}).values_list(field_name, flat=True)
            )
        for key in sorted(set(keys) - present, key=str):
            stream = key if owner is AuditStream else f"{label}:{key}"
            report.add("head", stream, 1, "the stream's record is gone")
