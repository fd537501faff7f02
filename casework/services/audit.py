"""Appending to and verifying the hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from casework.models import AuditCheckpoint, AuditEvent, User

GENESIS = "0" * 64
# SM3 is the national standard (GM/T 0004); OpenSSL 3 builds usually offer it. Recorded per event,
# so a chain stays verifiable when a deployment moves to a build without it.
ALGORITHM = "sm3" if "sm3" in hashlib.algorithms_available else "sha256"

SYSTEM_STREAM = "system"


def case_stream(case_id: int) -> str:
    return f"case:{case_id}"


def output_stream(output_id: int) -> str:
    return f"output:{output_id}"


def _digest(algorithm: str, payload: dict[str, Any]) -> str:
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.new(algorithm, data.encode("utf-8")).hexdigest()


def _event_payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "stream": event.stream,
        "seq": event.seq,
        "organisation": event.organisation_id,
        "actor": event.actor_id,
        "action": event.action,
        "target": [event.target_type, event.target_id],
        "at": event.occurred_at.astimezone(UTC).isoformat(),
        "ip": event.source_ip,
        "success": event.success,
        "changes": event.changes,
        "prev": event.prev_hash,
    }


def _lock_shared_stream(stream: str) -> None:
    """Case and output streams are serialised by the row lock their transition holds; the shared
    system stream needs its own. SQLite serialises every writer already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [stream])


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
) -> AuditEvent:
    """Append one event to `stream`. Must run inside the transaction of the change it records.

    `new_stream` says the stream was created in this transaction (a new case), which saves the
    look-up of its head on the intake path."""
    assert connection.in_atomic_block, "audit events are written in the transaction of their change"
    if new_stream:
        seq, prev_hash = 1, GENESIS
    else:
        if stream == SYSTEM_STREAM:
            _lock_shared_stream(stream)
        head = AuditEvent.objects.filter(stream=stream).order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
    event = AuditEvent(
        stream=stream,
        seq=seq,
        organisation_id=organisation_id,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        occurred_at=at or timezone.now(),
        source_ip=source_ip,
        success=success,
        changes=changes or {},
        algorithm=ALGORITHM,
        prev_hash=prev_hash,
    )
    # Round-trip the JSON through the encoder the database will use so the hash we store is the
    # hash of what is read back.
    event.changes = json.loads(json.dumps(event.changes, ensure_ascii=False, default=str))
    event.hash = _digest(ALGORITHM, _event_payload(event))
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class Break:
    kind: str
    event_id: int | None
    stream: str
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"event id={self.event_id} " if self.event_id is not None else ""
        return f"{where}stream={self.stream} seq={self.seq}: {self.detail}"


def _iter_events(batch: int = 5000) -> Iterator[AuditEvent]:
    qs = AuditEvent.objects.order_by("stream", "seq")
    yield from qs.iterator(chunk_size=batch)


def verify_chain() -> list[Break]:
    """Walk every stream and the checkpoint chain; return the breaks, first one first."""
    breaks: list[Break] = []
    heads: dict[str, tuple[int, str]] = {}
    current_stream: str | None = None
    expected_prev = GENESIS
    expected_seq = 1
    for event in _iter_events():
        if event.stream != current_stream:
            current_stream, expected_prev, expected_seq = event.stream, GENESIS, 1
        if event.seq != expected_seq:
            breaks.append(
                Break("gap", event.id, event.stream, event.seq, f"expected seq {expected_seq}: events missing")
            )
        elif event.prev_hash != expected_prev:
            breaks.append(Break("link", event.id, event.stream, event.seq, "prev_hash does not match the event before"))
        if _digest(event.algorithm, _event_payload(event)) != event.hash:
            breaks.append(Break("hash", event.id, event.stream, event.seq, "content does not match its hash"))
        expected_prev, expected_seq = event.hash, event.seq + 1
        heads[event.stream] = (event.seq, event.hash)

    prev = GENESIS
    for checkpoint in AuditCheckpoint.objects.order_by("seq").iterator():
        payload = {"seq": checkpoint.seq, "last": checkpoint.last_event_id, "heads": checkpoint.heads, "prev": prev}
        if checkpoint.prev_hash != prev or _digest(checkpoint.algorithm, payload) != checkpoint.hash:
            breaks.append(Break("checkpoint", None, "checkpoint", checkpoint.seq, "checkpoint chain is broken"))
        for stream, (seq, digest) in checkpoint.heads.items():
            have = heads.get(stream)
            if have is None or have[0] < seq:
                breaks.append(Break("tail", None, stream, seq, "events recorded at a checkpoint are missing"))
            elif have[0] == seq and have[1] != digest:
                breaks.append(Break("tail", None, stream, seq, "head differs from the one checkpointed"))
        prev = checkpoint.hash
    # Checkpointed heads that are not the current head are checked through the chain itself:
    # a stream's later events link back to them.
    return breaks


def audit_checkpoint(*, settle_seconds: int | None = None) -> AuditCheckpoint | None:
    """Chain the heads of every stream that moved since the last checkpoint. Safe to run twice
    at once: the unique seq makes the second one fail and roll back.

    Only events older than `settle_seconds` are taken: ids are handed out before commit, so a
    younger event may still have a lower-id neighbour in a transaction not yet committed, which
    the next checkpoint (starting after this one's last id) would never see."""
    if settle_seconds is None:
        settle_seconds = settings.AUDIT_CHECKPOINT_SETTLE_SECONDS
    settled = timezone.now() - timedelta(seconds=settle_seconds)
    with transaction.atomic():
        last = AuditCheckpoint.objects.select_for_update().order_by("-seq").first()
        since = last.last_event_id if last else 0
        upto = AuditEvent.objects.filter(id__gt=since, occurred_at__lte=settled).aggregate(m=Max("id"))["m"]
        if upto is None:
            return None
        # One pass over the events since the last checkpoint: the newest of each stream that moved.
        heads: dict[str, list[Any]] = {}
        moved = AuditEvent.objects.filter(id__gt=since, id__lte=upto).values_list("stream", "seq", "hash")
        for stream, seq, digest in moved.iterator(chunk_size=5000):
            if stream not in heads or heads[stream][0] < seq:
                heads[stream] = [seq, digest]
        seq = (last.seq + 1) if last else 1
        prev = last.hash if last else GENESIS
        payload = {"seq": seq, "last": upto, "heads": heads, "prev": prev}
        return AuditCheckpoint.objects.create(
            seq=seq,
            created_at=timezone.now(),
            last_event_id=upto,
            heads=heads,
            algorithm=ALGORITHM,
            prev_hash=prev,
            hash=_digest(ALGORITHM, payload),
        )


def audit_account_event(
    *, action: str, user: User | None, username: str, source_ip: str | None, success: bool
) -> AuditEvent:
    """Sign-ins and sign-outs (等保: every user action, success or failure, with its source),
    on the shared system stream, in a transaction of their own."""
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


def audit_case(
    case: Any,
    actor: User | None,
    action: str,
    changes: dict[str, Any],
    source_ip: str | None,
    *,
    new_stream: bool = False,
) -> AuditEvent:
    """Append an event to a case's stream, in the transaction of the change it records."""
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
    """Append an event to an output's stream, in the transaction of the change it records."""
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
    )
