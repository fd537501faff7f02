"""Periodic and background work. Tasks take ids, call one service and can run twice."""

from __future__ import annotations

from celery import shared_task

from casework.services.audit import audit_checkpoint


@shared_task(name="casework.audit_checkpoint", time_limit=600, soft_time_limit=540, ignore_result=True)
def audit_checkpoint_task() -> int | None:
    """Chain the heads of the streams that moved into the global checkpoint chain."""
    checkpoint = audit_checkpoint()
    return checkpoint.seq if checkpoint else None
