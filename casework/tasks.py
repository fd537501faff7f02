"""Periodic and background work. Tasks take ids, call one service and can run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from casework.services.audit import audit_alert, run_checkpoint
from casework.services.audit_verify import verify_full, verify_incremental
from casework.services.idempotency import purge as purge_idempotency_keys

log = logging.getLogger("minqing.audit")


@shared_task(name="casework.audit_checkpoint", time_limit=600, soft_time_limit=540, ignore_result=True)
def audit_checkpoint_task() -> int | None:
    """Record the heads of the streams that moved, chain them and anchor them outside the database."""
    checkpoint = run_checkpoint()
    return checkpoint.seq if checkpoint else None


@shared_task(name="casework.audit_verify", time_limit=3 * 3600, soft_time_limit=3 * 3600 - 60, ignore_result=True)
def audit_verify_task(full: bool = False) -> bool:
    """Verify the audit trail (incremental, or everything); a break becomes an alert event that
    auditors see, and an error in the log. Read-only but for the alert, so it can run twice."""
    report = verify_full() if full else verify_incremental()
    if report.ok:
        log.info("审计链校验完好 (%s): %s events, %s checkpoints", report.mode, report.events, report.checkpoints)
        return True
    log.error(
        "审计链校验失败 (audit chain broken, %s): %s; first: %s", report.mode, len(report.breaks), report.breaks[0]
    )
    audit_alert(mode=report.mode, breaks=report.breaks)
    return False


@shared_task(name="casework.idempotency_purge", time_limit=600, soft_time_limit=540, ignore_result=True)
def idempotency_purge_task() -> int:
    """Delete the remembered answers older than IDEMPOTENCY_KEY_SECONDS. Deleting what is gone
    deletes nothing, so two runs at once or one run twice do no harm."""
    return purge_idempotency_keys()
