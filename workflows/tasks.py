"""Periodic work that needs the workflow layer. Tasks take no state but the database's and can
run twice, or in two workers at once: Celery delivers at least once."""

from __future__ import annotations

import logging

from celery import shared_task

from casework.services.reply_sweep import sweep_replies
from casework.services.sweep import sweep

from .engine import fire_due_timers

log = logging.getLogger("minqing.sla")


@shared_task(name="workflows.sla_sweep", time_limit=600, soft_time_limit=540, ignore_result=True)
def sla_sweep_task() -> dict[str, int]:
    """Mark the clocks that came due (warning, breach, escalation) and queue their notifications;
    then the proposal replies nearly due or overdue (`reply_sweep`); then fire viewflow's due
    timers. Each mark is set once, in the transaction that queues its notifications, so a run
    killed half-way is finished by the next and nothing is told twice."""
    report = sweep()
    replies = sweep_replies()
    fired = fire_due_timers()
    figures = {**report.as_dict(), **replies, "timers": fired}
    if report.batches or fired or replies["replies_overdue"] or replies["replies_warned"]:
        log.info("时限巡检 (SLA sweep): %s", figures)
    return figures
