"""Remembered answers to retried requests (`casework.models.IdempotencyKey`).

A key is found by one indexed read (the unique index on user and key), recorded by one insert in
the transaction of the change it answers, and forgotten after `IDEMPOTENCY_KEY_SECONDS`: a key
older than that is treated as never seen (and deleted on the way), and the periodic purge deletes
the rest in batches."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

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


def record(*, user_id: int, key: str, method: str, path: str, body_hash: str, status: int, body: Any) -> IdempotencyKey:
    """Insert the answer. Meant to run inside the transaction of the change it answers; a second
    request with the same key that got this far raises IntegrityError (on PostgreSQL, after waiting
    for the first to commit), which rolls its own change back."""
    return IdempotencyKey.objects.create(
        user_id=user_id, key=key, method=method, path=path, body_hash=body_hash, status=status, body=body
    )


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
