"""The clock sweep with real Celery processes: beat runs it every second in a real worker, and the
warning, then the breach and the escalation to the committee head arrive, each once; a worker
killed in the middle of a sweep leaves nothing half-done, and a restarted worker completes the
work once.

How the kill lands mid-sweep: the sweep marks a batch of clocks and, in the same transaction,
writes their notifications. The test holds a SHARE lock on the notification table (which lets
readers through but no insert), sends the sweep and waits until PostgreSQL shows the worker's
session waiting for it: the marks are made, the notifications not yet. Then it kills the worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from casework.choices import NotificationKind, Role
from casework.models import CaseClock, Notification
from tests.factories import make_user
from tests.workflows.test_case_flow import file_case

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TASK = "workflows.sla_sweep"


def _with_a_head(world):
    head = make_user(world.org, Role.COMMITTEE_HEAD, "刘主任")
    world.committee.head = head
    world.committee.save()
    return head


def _set(case, **times) -> None:
    CaseClock.objects.filter(case=case, state="running").update(**times)


def _told(kind: NotificationKind) -> list[int]:
    return sorted(Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))


def test_beat_and_a_worker_warn_then_breach_and_escalate_each_once(celery_processes, world):
    head = _with_a_head(world)
    case = file_case(world)
    now = timezone.now()
    _set(case, warn_at=now - timedelta(minutes=1), due_at=now + timedelta(days=2))
    celery_processes.start_worker()
    beat = celery_processes.start_beat(MINQING_SLA_SWEEP_SECONDS="1")

    staff = sorted([world.staff.pk, world.staff2.pk])
    celery_processes.wait_for(lambda: _told(NotificationKind.CLOCK_WARNING) == staff, "the warning")
    assert _told(NotificationKind.CLOCK_BREACH) == []

    _set(case, due_at=timezone.now() - timedelta(minutes=1))
    celery_processes.wait_for(lambda: _told(NotificationKind.ESCALATION_HEAD) == [head.pk], "the escalation")
    assert _told(NotificationKind.CLOCK_BREACH) == staff

    # More sweeps come and go: nothing is told twice.
    sweeps = beat.log().count("Sending due task sla-sweep")
    celery_processes.wait_for(lambda: beat.log().count("Sending due task sla-sweep") >= sweeps + 3, "three more sweeps")
    assert _told(NotificationKind.CLOCK_WARNING) == staff
    assert _told(NotificationKind.CLOCK_BREACH) == staff
    assert _told(NotificationKind.ESCALATION_HEAD) == [head.pk]
    clock = CaseClock.objects.get(case=case, state="running")
    assert clock.warned_at and clock.breached_at and clock.escalation_level == 1


def test_a_worker_killed_mid_sweep_leaves_nothing_half_done_and_a_fresh_one_finishes_once(celery_processes, world):
    celery_processes.visibility_timeout = 2
    head = _with_a_head(world)
    cases = [file_case(world, title=t) for t in ("路灯不亮", "公交站台破损", "学校门口拥堵")]
    now = timezone.now()
    for case in cases:
        _set(case, warn_at=now - timedelta(days=2), due_at=now - timedelta(minutes=1))
    worker = celery_processes.start_worker()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Notification._meta.db_table} IN SHARE MODE")
        task_id = celery_processes.send(TASK)
        celery_processes.wait_for(celery_processes.backends_waiting_for_a_lock, "the sweep to reach its notifications")
        celery_processes.kill(worker)
    assert f"{TASK}[{task_id}] succeeded" not in worker.log()

    # The killed sweep's transaction never commits: no mark and no notification is left of it.
    celery_processes.wait_for(
        lambda: not celery_processes.backends_waiting_for_a_lock(), "the killed session to be gone"
    )
    assert not CaseClock.objects.filter(breached_at__isnull=False).exists()
    assert not Notification.objects.exists()

    time.sleep(celery_processes.visibility_timeout + 0.5)
    fresh = celery_processes.start_worker()
    celery_processes.start_beat(MINQING_SLA_SWEEP_SECONDS="1")
    celery_processes.wait_for(lambda: _told(NotificationKind.ESCALATION_HEAD) == [head.pk], "the escalation")
    celery_processes.wait_for(lambda: "sla_sweep" in fresh.log() and "succeeded" in fresh.log(), "a sweep to finish")
    time.sleep(3)  # a few more sweeps

    assert CaseClock.objects.filter(breached_at__isnull=False, escalation_level=1).count() == 3
    for user in (world.staff, world.staff2):
        told = Notification.objects.filter(recipient=user, kind=NotificationKind.CLOCK_BREACH)
        lines = [line for body in told.values_list("body", flat=True) for line in body.splitlines()]
        assert sorted(line.split(" ", 1)[1].split("（")[0] for line in lines) == sorted(c.title for c in cases)
    lines = [
        line
        for body in Notification.objects.filter(recipient=head).values_list("body", flat=True)
        for line in body.splitlines()
    ]
    assert len(lines) == 3 == len(set(lines))
    assert not Notification.objects.filter(kind=NotificationKind.CLOCK_WARNING).exists()
