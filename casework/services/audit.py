"""Appending to the audit trail, and the checkpoints that chain every stream's head.

An event is written in the transaction of the change it records, with an HMAC under the current
audit key (audit_crypto), and the record that owns its stream (the case, the output, or an
`AuditStream` row) gets the new head in the same transaction. A checkpoint (beat, every
AUDIT_CHECKPOINT_SECONDS) records the head of every stream that moved, chains it, and appends
its digest outside the database after commit (audit_anchor). Verification: audit_verify."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address
from django.utils.translation import gettext_lazy

from casework.choices import AuditAction
from casework.models import (
    AuditCheckpoint,
    AuditCheckpointHead,
    AuditedRecord,
    AuditEvent,
    AuditStream,
    Case,
    Output,
    User,
)
from casework.services import bulk
from casework.services.audit_anchor import anchor_checkpoint, repair_anchors
from casework.services.audit_crypto import (
    ALGORITHM,
    GENESIS,
    AuditKeyError,
    checkpoint_message,
    event_message,
    heads_digest,
    keyring,
    mac,
    micros,
)

if TYPE_CHECKING:
    from casework.services.audit_verify import Break

log = logging.getLogger("minqing.audit")

# Callers pass SYSTEM_STREAM for sign-ins and roster changes; the event goes to its organisation's
# stream of the day (`system_stream`), so no one stream serialises a whole province.
SYSTEM_STREAM = "system"
ALERT_ACTION = AuditAction.AUDIT_VERIFY_FAILED
# The stream of alerts and other events of no organisation: system:0:<day>.
NO_ORGANISATION = 0


def case_stream(case_id: int) -> str:
    return f"case:{case_id}"


def output_stream(output_id: int) -> str:
    return f"output:{output_id}"


def system_stream(organisation_id: int | None, day: date) -> str:
    return f"system:{organisation_id or NO_ORGANISATION}:{day:%Y%m%d}"


# The records that own streams by name; every other stream is owned by an AuditStream row.
STREAM_OWNERS: dict[str, type[AuditedRecord]] = {"case": Case, "output": Output}


def stream_owner(stream: str) -> tuple[type[AuditedRecord], int | None]:
    """The model whose row owns `stream`, and that row's id (None: the AuditStream named so)."""
    prefix, _sep, rest = stream.partition(":")
    model = STREAM_OWNERS.get(prefix)
    if model is not None and rest.isdigit():
        return model, int(rest)
    return AuditStream, None


class AuditHeadConflict(RuntimeError):
    """The head on the stream's record is not the one this event was chained to: a stale record
    was passed in, or the record is missing. The transaction must roll back."""


def _clean_ip(ip: str | None) -> str | None:
    # As the ORM would store it (and PostgreSQL's inet would print it), so the digest is of what
    # is read back.
    if ip and ":" in ip:
        return clean_ipv6_address(ip)
    return ip or None


_EVENT_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _stream_record_head(stream: str, organisation_id: int | None, at: datetime) -> tuple[int, int, str]:
    """Create or lock the AuditStream row of `stream` in one statement, and read its head."""
    table = AuditStream._meta.db_table
    is_system = stream.startswith("system:")
    day = timezone.localdate(at) if is_system else None
    fields = AuditStream._meta
    params = [
        stream,
        organisation_id if is_system else None,
        fields.get_field("day").get_db_prep_save(day, connection),
        fields.get_field("created_at").get_db_prep_save(timezone.now(), connection),
    ]
    with connection.cursor() as cursor:
        # ON CONFLICT ... DO UPDATE takes the row lock even when it changes nothing: the lock that
        # serialises the writers of this stream (and only of this one).
        cursor.execute(
            f"INSERT INTO {_q(table)} (name, organisation_id, day, audit_seq, audit_head, created_at) "
            f"VALUES (%s, %s, %s, 0, '', %s) "
            f"ON CONFLICT (name) DO UPDATE SET audit_seq = {_q(table)}.audit_seq "
            f"RETURNING id, audit_seq, audit_head",
            params,
        )
        row_id, seq, head = cursor.fetchone()
    return row_id, seq, head


def _record_head(model: type[AuditedRecord], pk: int) -> tuple[int, str]:
    """The head on a case or output row, locked (a transition holds that lock already)."""
    key = (connection.vendor, f"head:{model._meta.db_table}")
    sql = _SQL.get(key)
    if sql is None:
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        sql = _SQL[key] = (f"SELECT audit_seq, audit_head FROM {_q(model._meta.db_table)} WHERE id = %s{lock}", "")
    with connection.cursor() as cursor:
        cursor.execute(sql[0], [pk])
        row = cursor.fetchone()
    if row is None:
        raise AuditHeadConflict(f"{model._meta.label} {pk} does not exist: it cannot own an audit stream")
    return row[0], row[1]


_SQL: dict[tuple[str, str], tuple[str, str]] = {}


def _insert_sql(owner: type[AuditedRecord]) -> tuple[str, str]:
    """The event INSERT and the head UPDATE of `owner`'s table, built once per process (quoting
    names through the connection proxy cost a fifth of a millisecond an event, measured)."""
    key = (connection.vendor, owner._meta.db_table)
    sql = _SQL.get(key)
    if sql is None:
        columns = ", ".join(_q(f.column or f.name) for f in _EVENT_FIELDS)
        placeholders = ", ".join(["%s"] * len(_EVENT_FIELDS))
        insert = f"INSERT INTO {_q(AuditEvent._meta.db_table)} ({columns}) VALUES ({placeholders}) RETURNING id"
        head = f"UPDATE {_q(owner._meta.db_table)} SET audit_seq = %s, audit_head = %s WHERE id = %s AND audit_seq = %s"
        sql = _SQL[key] = (insert, head)
    return sql


def _insert(event: AuditEvent, owner: type[AuditedRecord], owner_pk: int, old_seq: int) -> int:
    """Insert the event and move its record's head from `old_seq` to it; one statement on
    PostgreSQL (a data-modifying CTE), two elsewhere. Returns the event's id."""
    insert, head = _insert_sql(owner)
    params: list[Any] = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in _EVENT_FIELDS]
    head_params: list[Any] = [event.seq, event.hash, owner_pk, old_seq]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH ev AS ({insert}), hd AS ({head} RETURNING 1) "
                f"SELECT (SELECT id FROM ev), (SELECT count(*) FROM hd)",
                params + head_params,
            )
            event_id, moved = cursor.fetchone()
        else:
            cursor.execute(insert, params)
            event_id = cursor.fetchone()[0]
            cursor.execute(head, head_params)
            moved = cursor.rowcount
    if moved != 1:
        raise AuditHeadConflict(f"the head of {event.stream} moved past seq {old_seq} (or its record is gone)")
    return int(event_id)


def _sealed(
    key: Any,
    *,
    stream: str,
    seq: int,
    prev_head: str,
    organisation_id: int | None,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int,
    at: datetime,
    source_ip: str | None,
    success: bool,
    changes: dict[str, Any] | None,
) -> AuditEvent:
    """The event at `seq` of `stream`, chained to `prev_head` and sealed with its HMAC under
    `key` (unsaved)."""
    event = AuditEvent(
        stream=stream,
        seq=seq,
        organisation_id=organisation_id,
        actor=actor,
        action=str(action),
        target_type=str(target_type),
        target_id=target_id,
        occurred_at=at,
        source_ip=_clean_ip(source_ip),
        success=success,
        # Round-trip through JSON so the digest is of exactly what is read back.
        changes=json.loads(json.dumps(changes or {}, ensure_ascii=False, default=str)),
        algorithm=ALGORITHM,
        key_id=key.id,
        prev_hash=prev_head if seq > 1 else GENESIS,
    )
    event.hash = mac(
        key,
        ALGORITHM,
        event_message(
            key_id=key.id,
            stream=stream,
            seq=seq,
            organisation_id=organisation_id,
            actor_id=event.actor_id,
            action=event.action,
            target_type=event.target_type,
            target_id=target_id,
            at_us=micros(at),
            source_ip=event.source_ip,
            success=success,
            changes=event.changes,
            prev_hash=event.prev_hash,
        ),
    )
    return event


def audit_record(
    *,
    stream: str,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int,
    organisation_id: int | None,
    changes: dict[str, Any] | None = None,
    source_ip: str | None = None,
    success: bool = True,
    new_stream: bool = False,
    at: datetime | None = None,
    record: AuditedRecord | None = None,
) -> AuditEvent:
    """Append one event to `stream`. Must run inside the transaction of the change it records.

    `new_stream` says the stream's record was created in this transaction (a new case), which
    saves reading its head. `record` is the stream's record when the caller holds its row lock
    and read it under that lock (a transition): its head is taken from it, which saves the read,
    and is updated on it. Otherwise the head is read from the record's row, locked."""
    assert connection.in_atomic_block, "audit events are written in the transaction of their change"
    at = at or timezone.now()
    if stream == SYSTEM_STREAM:
        stream = system_stream(organisation_id, timezone.localdate(at))
    owner, owner_pk = stream_owner(stream)
    if owner is AuditStream:
        owner_pk, old_seq, old_head = _stream_record_head(stream, organisation_id, at)
    elif new_stream:
        assert owner_pk is not None
        old_seq, old_head = 0, ""
    elif record is not None:
        assert record.pk == owner_pk and isinstance(record, owner), f"{record!r} does not own {stream}"
        old_seq, old_head = record.audit_seq, record.audit_head
    else:
        assert owner_pk is not None
        old_seq, old_head = _record_head(owner, owner_pk)
    # The key is chosen while the stream is locked (above), so across a rotation a stream's
    # events never go back to an older key (verification checks that).
    event = _sealed(
        keyring().current,
        stream=stream,
        seq=old_seq + 1,
        prev_head=old_head,
        organisation_id=organisation_id,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        at=at,
        source_ip=source_ip,
        success=success,
        changes=changes,
    )
    assert owner_pk is not None
    event.pk = _insert(event, owner, owner_pk, old_seq)
    event._state.adding = False
    event._state.db = connection.alias
    if record is not None:
        record.audit_seq, record.audit_head = event.seq, event.hash
    return event


def audit_account_event(
    *, action: str, user: User | None, username: str, source_ip: str | None, success: bool
) -> AuditEvent:
    """Sign-ins and sign-outs (等保: every user action, success or failure, with its source),
    on the organisation's system stream of the day, in a transaction of their own."""
    with transaction.atomic():
        return audit_record(
            stream=SYSTEM_STREAM,
            actor=user,
            action=action,
            target_type="user",
            target_id=user.pk if user is not None else 0,
            organisation_id=user.organisation_id if user is not None else None,
            changes={"username": username[:150]},
            source_ip=source_ip,
            success=success,
        )


# Checkpoints ------------------------------------------------------------------------------------


def _old_writer_running(seconds: int) -> bool:
    """Whether another transaction that has written has been open longer than `seconds`: an event
    it wrote may carry an id below ones already committed, so the resume point must not pass it."""
    if connection.vendor != "postgresql":
        return False  # SQLite has one writer at a time: ids commit in order
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL "
            "AND xact_start < now() - make_interval(secs => %s))",
            [seconds],
        )
        return bool(cursor.fetchone()[0])


def audit_checkpoint(*, settle_seconds: int | None = None) -> AuditCheckpoint | None:
    """Record the head of every stream that moved since the last checkpoint, chain it, and anchor
    it outside the database after commit. Costs in proportion to the events since the last
    checkpoint's resume point. Safe to run twice at once: the second waits for the first's lock,
    or (on an empty chain) fails on the unique seq and rolls back.

    Every event visible now is taken, so a committed event is recorded by the first checkpoint
    that starts after its commit. The resume point for the next one (`resume_after`) is the last
    id below the first event younger than `settle_seconds`: ids are handed out before commit, so
    a younger event may have a lower-id neighbour still uncommitted, which the next checkpoint
    must still see. On PostgreSQL a writing transaction open longer than that holds the resume
    point where it was."""
    if settle_seconds is None:
        settle_seconds = settings.AUDIT_CHECKPOINT_SETTLE_SECONDS
    ring = keyring()
    with transaction.atomic():
        last = AuditCheckpoint.objects.select_for_update().order_by("-seq").first()
        previous = last if last is not None and last.key_id else None  # None: the keyed chain starts
        since = previous.resume_after if previous else 0
        signer_id = (previous.next_key_id or previous.key_id) if previous else ring.current.id
        signer = ring.get(signer_id)
        if signer is None:
            raise AuditKeyError(f"the checkpoint chain is signed with key {signer_id}, which the keyring lacks")
        announce = ring.current.id if ring.current.rank > signer.rank else ""

        now = timezone.now()
        young = now - timedelta(seconds=settle_seconds)
        heads: dict[str, tuple[int, str]] = {}
        upto, first_young = since, None
        rows = (
            AuditEvent.objects.filter(id__gt=since)
            .order_by("id")
            .values_list("id", "stream", "seq", "hash", "occurred_at")
        )
        for event_id, stream, seq, digest, at in rows.iterator(chunk_size=5000):
            have = heads.get(stream)
            if have is None or have[0] < seq:
                heads[stream] = (seq, digest)
            upto = event_id
            if first_young is None and at > young:
                first_young = event_id
        resume = upto if first_young is None else first_young - 1
        if _old_writer_running(settle_seconds):
            resume = since
        resume = max(resume, since)
        if previous is not None:
            # The resume point lags, so the last checkpoint saw some of these: skip what it recorded.
            names = list(heads)
            recorded: dict[str, tuple[int, str]] = {}
            for i in range(0, len(names), 1000):
                recorded.update(
                    (stream, (seq, digest))
                    for stream, seq, digest in AuditCheckpointHead.objects.filter(
                        checkpoint=previous, stream__in=names[i : i + 1000]
                    ).values_list("stream", "seq", "digest")
                )
            heads = {stream: head for stream, head in heads.items() if recorded.get(stream) != head}
        if not heads and not announce:
            return None

        rows_out = sorted((stream, seq, digest) for stream, (seq, digest) in heads.items())
        seq = last.seq + 1 if last is not None else 1
        prev = previous.hash if previous else GENESIS
        checkpoint = AuditCheckpoint(
            seq=seq,
            created_at=now,
            last_event_id=upto,
            resume_after=resume,
            heads=None,
            n_heads=len(rows_out),
            algorithm=ALGORITHM,
            key_id=signer.id,
            next_key_id=announce,
            prev_hash=prev,
        )
        checkpoint.hash = mac(
            signer,
            ALGORITHM,
            checkpoint_message(
                key_id=signer.id,
                seq=seq,
                prev_hash=prev,
                created_us=micros(now),
                last_event_id=upto,
                resume_after=resume,
                next_key_id=announce,
                n_heads=len(rows_out),
                heads=heads_digest(ALGORITHM, rows_out),
            ),
        )
        checkpoint.save(force_insert=True)
        AuditCheckpointHead.objects.bulk_create(
            [AuditCheckpointHead(checkpoint=checkpoint, stream=s, seq=q, digest=d) for s, q, d in rows_out],
            batch_size=5000,
        )
        # After commit: no I/O inside the transaction. A process that dies before the append
        # leaves it to the next checkpoint run, which appends every checkpoint the file lacks.
        transaction.on_commit(lambda: anchor_checkpoint(checkpoint))
    if announce:
        log.warning("审计检查点 #%s 起改用密钥 %s 签名 (checkpoints now signed with key %s)", seq, announce, announce)
    return checkpoint


def run_checkpoint() -> AuditCheckpoint | None:
    """What beat and the command run: a checkpoint, or, when nothing moved, the repair of any
    anchor a process that died after its commit left unwritten."""
    checkpoint = audit_checkpoint()
    if checkpoint is None:
        repair_anchors()
    return checkpoint


# Alerts -----------------------------------------------------------------------------------------


def audit_alert(*, mode: str, breaks: list[Break]) -> AuditEvent | None:
    """Record a failed verification as an event auditors see (api: /api/v1/audit/alerts/). The
    same first break as the last alert's is not recorded again."""
    first = breaks[0]
    summary = {
        "mode": mode,
        "breaks": len(breaks),
        "first": {
            "kind": first.kind,
            "stream": first.stream,
            "seq": first.seq,
            "event": first.event_id,
            "detail": first.detail,
        },
    }
    with transaction.atomic():
        last = alerts(limit=1)
        if last and last[0].changes.get("first") == summary["first"] and last[0].changes.get("breaks") == len(breaks):
            return None
        return audit_record(
            stream=SYSTEM_STREAM,
            actor=None,
            action=ALERT_ACTION,
            target_type="audit",
            target_id=0,
            organisation_id=None,
            changes=summary,
        )


def alerts(*, limit: int = 50) -> list[AuditEvent]:
    """The latest verification alerts, newest first (they are on the no-organisation streams)."""
    latest = AuditEvent.objects.filter(stream__startswith=f"system:{NO_ORGANISATION}:", action=ALERT_ACTION)
    return list(latest.order_by("-id")[:limit])


# What each kind of break means, for the people who read alerts.
BREAK_LABELS = {
    "hash": gettext_lazy("事件内容被改动"),
    "gap": gettext_lazy("事件缺失或被插入"),
    "link": gettext_lazy("事件链接断裂"),
    "key": gettext_lazy("签名密钥不符"),
    "head": gettext_lazy("记录上的链头与事件不符"),
    "tail": gettext_lazy("检查点记录过的事件缺失或被替换"),
    "checkpoint": gettext_lazy("检查点链被改动"),
    "anchor": gettext_lazy("检查点与外部锚点不符"),
    "unsealed": gettext_lazy("未经封存的无密钥事件"),
}


def verify_chain() -> list[Break]:
    """Verify everything (verify_audit --full) and return the breaks, first one first."""
    from casework.services.audit_verify import verify_full

    return verify_full().breaks


def audit_case(
    case: Any,
    actor: User | None,
    action: str,
    changes: dict[str, Any],
    source_ip: str | None,
    *,
    new_stream: bool = False,
) -> AuditEvent:
    """Append an event to a case's stream, in the transaction of the change it records. The case
    is the one the transition holds locked (`casework.services.locks`), read under that lock, so
    its stream's head is taken from it without reading it again."""
    return audit_record(
        stream=case_stream(case.pk),
        actor=actor,
        action=action,
        target_type="case",
        target_id=case.pk,
        organisation_id=case.organisation_id,
        changes=changes,
        source_ip=source_ip,
        new_stream=new_stream,
        record=case,
    )


def audit_output(
    output: Any,
    actor: User | None,
    action: str,
    changes: dict[str, Any],
    source_ip: str | None,
    *,
    new_stream: bool = False,
) -> AuditEvent:
    """Append an event to an output's stream, in the transaction of the change it records (the
    output held locked and read under the lock, like a case)."""
    return audit_record(
        stream=output_stream(output.pk),
        actor=actor,
        action=action,
        target_type="output",
        target_id=output.pk,
        organisation_id=output.organisation_id,
        changes=changes,
        source_ip=source_ip,
        new_stream=new_stream,
        record=output,
    )


def audit_cases(
    entries: Sequence[tuple[Case, str, dict[str, Any]]],
    actor: User | None,
    source_ip: str | None,
    *,
    heads_from_records: bool = False,
    at: datetime | None = None,
    fields: Mapping[str, Any] | None = None,
    fields_on: Collection[int] = (),
) -> list[AuditEvent]:
    """Append events to many case streams at once, each chained as `audit_case` chains one, in
    a constant number of statements whatever their number: the heads of all the cases read and
    locked in one SELECT (or, with `heads_from_records`, taken from the cases, which the caller
    read under their row locks), the HMACs computed here as for one event, every event inserted
    by one multi-row INSERT (batched only past what one statement may carry), and every head
    moved by one UPDATE. `entries` are (case, action, changes); several for one case are chained
    in the order given. The cases' in-memory heads are moved too. `fields`: columns of the
    change the events record, written on the cases `fields_on` by that same UPDATE (a row the
    change and its events both write is written once). Must run inside the
    transaction of the change the events record. A head read stale fails as for one event (its
    next seq is taken: IntegrityError), a head not on the record as read raises
    AuditHeadConflict; either way the transaction must roll back."""
    assert connection.in_atomic_block, "audit events are written in the transaction of their change"
    if not entries:
        return []
    at = at or timezone.now()
    records: dict[int, Case] = {}
    for case, _action, _changes in entries:
        records.setdefault(case.pk, case)
    if heads_from_records:
        heads = {pk: (case.audit_seq, case.audit_head) for pk, case in records.items()}
    else:
        rows = Case.objects.select_for_update().filter(pk__in=sorted(records)).order_by("id")
        heads = {pk: (seq, head) for pk, seq, head in rows.values_list("id", "audit_seq", "audit_head")}
        missing = set(records) - set(heads)
        if missing:
            raise AuditHeadConflict(f"cases {sorted(missing)} do not exist: they cannot own audit streams")
    old = dict(heads)
    key = keyring().current  # chosen with every stream locked, as for one event
    events: list[AuditEvent] = []
    for case, action, changes in entries:
        seq, head = heads[case.pk]
        event = _sealed(
            key,
            stream=case_stream(case.pk),
            seq=seq + 1,
            prev_head=head,
            organisation_id=case.organisation_id,
            actor=actor,
            action=action,
            target_type="case",
            target_id=case.pk,
            at=at,
            source_ip=source_ip,
            success=True,
            changes=changes,
        )
        heads[case.pk] = (event.seq, event.hash)
        events.append(event)
    inserted = bulk.insert(AuditEvent, events, returning=("stream", "seq", "id"))
    ids = {(stream, seq): int(event_id) for stream, seq, event_id in inserted}
    _move_heads(Case, {pk: (old[pk][0], *heads[pk]) for pk in heads}, fields or {}, set(fields_on))
    for event in events:
        event.pk = ids[(event.stream, event.seq)]
        event._state.adding = False
        event._state.db = connection.alias
    for pk, case in records.items():
        case.audit_seq, case.audit_head = heads[pk]
    return events


def _move_heads(
    owner: type[AuditedRecord],
    moves: dict[int, tuple[int, int, str]],
    fields: Mapping[str, Any] | None = None,
    fields_on: Collection[int] = (),
) -> None:
    """Move the heads of many of `owner`'s rows in one statement: {id: (old seq, new seq, new
    head)}. On PostgreSQL an UPDATE ... FROM the rows given as one JSON document (a VALUES list
    in one parameter, see `bulk.insert`); elsewhere (SQLite) a CASE expression,
    batched only past the parameters one statement may carry. Each row moves only from the seq
    it was read at, else AuditHeadConflict. `fields` (column values) are set on the rows
    `fields_on` in the same statement."""
    table = _q(owner._meta.db_table)
    items = sorted(moves.items())
    assigned = [(owner._meta.get_field(name), value) for name, value in (fields or {}).items()]
    values = [f.get_db_prep_save(value, connection) for f, value in assigned]
    moved = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            rows = [
                {"id": pk, "old": old, "seq": seq, "head": head, "set": pk in fields_on}
                for pk, (old, seq, head) in items
            ]
            also = "".join(
                f", {_q(f.column)} = CASE WHEN v.set THEN %s ELSE t.{_q(f.column)} END" for f, _v in assigned
            )
            cursor.execute(
                f"UPDATE {table} AS t SET audit_seq = v.seq, audit_head = v.head{also} "
                f"FROM json_to_recordset(%s::json) AS v(id bigint, old integer, seq integer, head text, set boolean) "
                f"WHERE t.id = v.id AND t.audit_seq = v.old",
                [*values, bulk.rows_json(rows)],
            )
            moved = cursor.rowcount
        else:
            for batch in bulk.batches(items, 7 + len(assigned)):
                whens = " ".join(["WHEN %s THEN %s"] * len(batch))
                seqs = [x for pk, (_old, seq, _head) in batch for x in (pk, seq)]
                hashes = [x for pk, (_old, _seq, head) in batch for x in (pk, head)]
                olds = [x for pk, (old_seq, _seq, _head) in batch for x in (pk, old_seq)]
                ids = ", ".join(["%s"] * len(batch))
                chosen = [pk for pk, _m in batch if pk in fields_on] or [0]  # ids start at 1
                among = ", ".join(["%s"] * len(chosen))
                also = "".join(
                    f", {_q(f.column)} = CASE WHEN id IN ({among}) THEN %s ELSE {_q(f.column)} END"
                    for f, _v in assigned
                )
                also_params = [x for value in values for x in (*chosen, value)]
                cursor.execute(
                    f"UPDATE {table} SET audit_seq = CASE id {whens} END, audit_head = CASE id {whens} END{also} "
                    f"WHERE id IN ({ids}) AND audit_seq = CASE id {whens} END",
                    [*seqs, *hashes, *also_params, *[pk for pk, _m in batch], *olds],
                )
                moved += cursor.rowcount
    if moved != len(items):
        raise AuditHeadConflict(f"{len(items) - moved} of {len(items)} {owner._meta.label} heads moved meanwhile")
