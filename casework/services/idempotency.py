"""Remembered answers to retried requests (`casework.models.IdempotencyKey`).

A request with a key takes it by inserting its row as the first statement of the change's
transaction and writes its answer into that row as the last: the unique index on user and key
makes a second request with the same key wait for the first to end (on PostgreSQL; SQLite has one
writer at a time anyway) and then fail to insert, so it never does the work a second time, and a
committed row always holds its answer. Keys are forgotten after `IDEMPOTENCY_KEY_SECONDS`: an
older row is deleted when its key is next looked up, and the periodic purge deletes the rest."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from casework.models import IdempotencyKey

PURGE_BATCH = 5000


def _oldest_kept(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(seconds=settings.IDEMPOTENCY_KEY_SECONDS)


def find(user_id: int, key: str) -> IdempotencyKey | None:
    """The live record of `key` for this user, or None. An expired record is deleted here, so the
    key can be used afresh before the purge gets to it."""
    row = IdempotencyKey.objects.filter(user_id=user_id, key=key).first()
    if row is not None and row.created_at < _oldest_kept():
        IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).delete()
        return None
    return row


def take(*, user_id: int, key: str, method: str, path: str, body_hash: str) -> int:
    """Insert the key's row, answer still empty; its id. Raises IntegrityError when the key is
    taken (after waiting for a request still holding it to commit or roll back)."""
    row = IdempotencyKey.objects.create(user_id=user_id, key=key, method=method, path=path, body_hash=body_hash)
    return row.pk


def answer(row_id: int, *, status: int, body: str, headers: dict[str, str]) -> None:
    """Write the answer into the key's row, in the transaction that took it."""
    IdempotencyKey.objects.filter(pk=row_id).update(status=status, body=body, headers=headers)


def purge(now: datetime | None = None) -> int:
    """Delete every expired record, a batch at a time (short transactions, no long lock on the
    table); returns how many. Deleting what is already gone deletes nothing, so it can run twice
    or in two workers at once."""
    cutoff = _oldest_kept(now)
    total = 0
    while True:
        ids = list(IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
        if not ids:
            return total
        deleted, _ = IdempotencyKey.objects.filter(pk__in=ids, created_at__lt=cutoff).delete()
        total += deleted
