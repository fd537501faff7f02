"""Periodic and background work. Tasks take ids, call one service and can run twice.

Delivery is at least once (config/settings.py: late acknowledgement, a killed pool process's
message put back), so a task may run again after a worker died in it, or twice at once when
beat's next run meets a redelivered one: each task here says why that is harmless."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings

from casework.services.audit import audit_alert, run_checkpoint
from casework.services.audit_verify import verify_full, verify_incremental
from casework.services.dashboard_rollup import refresh_all as refresh_dashboard_rollup
from casework.services.idempotency import purge as purge_idempotency_keys
from casework.services.outbox import drain

log = logging.getLogger("minqing.audit")


@shared_task(name="casework.audit_checkpoint", time_limit=600, soft_time_limit=540, ignore_result=True)
def audit_checkpoint_task() -> int | None:
    """Record the heads of the streams that moved, chain them and anchor them outside the database.

    Idempotent: a run takes the chain's lock (the last checkpoint's row) and records only heads
    the last checkpoint did not, so a second run, at once or later, waits for the first and then
    finds nothing new (and only appends an anchor a dead run left unwritten); a run killed
    before its commit leaves nothing behind."""
    checkpoint = run_checkpoint()
    return checkpoint.seq if checkpoint else None


@shared_task(name="casework.audit_verify", time_limit=3 * 3600, soft_time_limit=3 * 3600 - 60, ignore_result=True)
def audit_verify_task(full: bool = False) -> bool:
    """Verify the audit trail (incremental, or everything); a break becomes an alert event that
    auditors see, and an error in the log.

    Idempotent: it reads, but for the alert, which is not recorded again when the last alert
    names the same first break; a run killed midway has written nothing (the verification state
    outside the database is replaced, by a rename, only after a complete and intact check)."""
    report = verify_full() if full else verify_incremental()
    if report.ok:
        log.info("审计链校验完好 (%s): %s events, %s checkpoints", report.mode, report.events, report.checkpoints)
        return True
    log.error(
        "审计链校验失败 (audit chain broken, %s): %s; first: %s", report.mode, len(report.breaks), report.breaks[0]
    )
    audit_alert(mode=report.mode, breaks=report.breaks)
    return False


# A drain of the outbox per call: asked for on commit by `notify` and every minute by beat as
# the backstop. Two at once are safe (each claims its own rows), so it needs no lock of its own.
# Its time limits leave room for the lease (MINQING_NOTIFY_LEASE_SECONDS) a drain works within.
@shared_task(name="casework.notifications_drain", time_limit=600, soft_time_limit=540, ignore_result=True)
def drain_outbox_task() -> dict[str, int]:
    """Send the due notification deliveries, a batch at a time while batches come back full."""
    totals = {"claimed": 0, "sent": 0, "retrying": 0, "failed": 0, "handed_back": 0}
    # Another batch only while a whole lease still fits before the soft time limit.
    give_up_at = time.monotonic() + 540 - settings.MINQING_NOTIFY_LEASE_SECONDS
    while True:
        counts = drain()
        for name in totals:
            totals[name] += getattr(counts, name)
        if counts.claimed < settings.MINQING_NOTIFY_BATCH or counts.handed_back or time.monotonic() > give_up_at:
            return totals


@shared_task(name="casework.idempotency_purge", time_limit=600, soft_time_limit=540, ignore_result=True)
def idempotency_purge_task() -> int:
    """Delete the remembered answers older than IDEMPOTENCY_KEY_SECONDS. Deleting what is gone
    deletes nothing, so two runs at once or one run twice do no harm."""
    return purge_idempotency_keys()


@shared_task(name="casework.dashboard_rollup", time_limit=1800, soft_time_limit=1740, ignore_result=True)
def dashboard_rollup_task() -> list[int]:
    """Rebuild the leadership dashboard's monthly roll-up of every organisation (README
    "Leadership dashboard"); the ids of the organisations done.

    Safe twice at once or twice in a row: each organisation's rows are replaced in one
    transaction holding its organisation row's lock, so a second run waits for the first and
    replaces them again with the same counts; a run killed midway leaves the last complete
    roll-up of the organisation it was on (its transaction rolls back)."""
    return [state.organisation_id for state in refresh_dashboard_rollup()]
