"""The audit checkpoint with real Celery processes: beat runs it on schedule in a real worker, and a
worker killed in the middle of it leaves the task to run again, to completion, once.

How a test kills a worker *while* a task runs, without a test-only slow task in the code: the task
is `casework.audit_checkpoint`, whose first statement takes the checkpoint chain's lock (the last
checkpoint's row, `select_for_update`). The test takes that lock first, in a transaction of its
own, sends the task, and waits until PostgreSQL shows a session of the worker waiting for the
lock: from then on the task is known to be running, and stays there until the test lets go. The
kill lands at that exact point every time, and the task's own code is what runs."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from django.db import transaction

from casework.models import AuditCheckpoint
from casework.services.audit import audit_checkpoint
from casework.services.audit_anchor import read_anchors
from casework.services.audit_verify import verify_full
from tests.workflows.test_case_flow import file_case

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TASK = "casework.audit_checkpoint"


def heads(checkpoint: AuditCheckpoint) -> list[str]:
    return list(checkpoint.head_rows.order_by("stream").values_list("stream", flat=True))


def test_beat_and_a_worker_checkpoint_the_audit_trail_on_schedule(celery_processes, world):
    """Beat (its own process, one-second schedule) sends the checkpoint, a worker runs it: the
    case filed before they started is checkpointed and anchored, and so is one filed while they
    run, with nobody sending anything, signed with the key the web processes use."""
    first_case = file_case(world)
    assert not AuditCheckpoint.objects.exists()
    celery_processes.start_worker()
    beat = celery_processes.start_beat(AUDIT_CHECKPOINT_SECONDS="1")

    first = celery_processes.wait_for(lambda: AuditCheckpoint.objects.filter(seq=1).first(), "beat's checkpoint")
    assert heads(first) == [f"case:{first_case.pk}"]

    second_case = file_case(world, title="菜市场占道经营")
    second = celery_processes.wait_for(
        lambda: AuditCheckpoint.objects.filter(seq=2).first(), "the next scheduled checkpoint"
    )
    assert heads(second) == [f"case:{second_case.pk}"]
    celery_processes.wait_for(lambda: len(read_anchors().anchored) == 2, "the worker's anchors")
    assert read_anchors().anchored == {1: first.hash, 2: second.hash}
    assert "Sending due task audit-checkpoint (casework.audit_checkpoint)" in beat.log()
    report = verify_full(save_state=False)  # the worker signed with the test's own key
    assert report.ok, report.breaks


def _a_chain_with_news(world):
    """One checkpoint (whose row is the chain's lock), and a case filed after it: the next
    checkpoint has that case's stream to record."""
    file_case(world)
    first = audit_checkpoint()
    assert first is not None and first.seq == 1
    return first, file_case(world, title="菜市场占道经营")


def _hold_the_chain():
    """The chain's lock, as a checkpoint takes it; released when the transaction ends."""
    AuditCheckpoint.objects.select_for_update().order_by("-seq").first()


def test_a_pool_process_killed_mid_checkpoint_has_its_task_run_again_by_the_worker(celery_processes, world):
    """SIGKILL of the pool process running the task (an out-of-memory kill, say): the worker
    sees it lost and, with late acknowledgement and reject-on-worker-lost, puts the message back
    instead of acknowledging it as failed; a fresh pool process takes it again, and the
    checkpoint is recorded once."""
    _, news = _a_chain_with_news(world)
    worker = celery_processes.start_worker()
    [pool] = celery_processes.pool_pids(worker)
    with transaction.atomic():
        _hold_the_chain()
        task_id = celery_processes.send(TASK)
        blocked = celery_processes.wait_for(celery_processes.backends_waiting_for_a_lock, "the task to start")
        os.kill(pool, signal.SIGKILL)
        # The killed process's session still waits (PostgreSQL finds its client gone once it
        # has the lock); the message came back and a new pool process is running it.
        celery_processes.wait_for(
            lambda: set(celery_processes.backends_waiting_for_a_lock()) - set(blocked), "the task to run again"
        )
        assert pool not in celery_processes.pool_pids(worker)
    celery_processes.wait_for(lambda: f"{TASK}[{task_id}] succeeded" in worker.log(), "the task to finish")

    assert worker.log().count(f"{TASK}[{task_id}] received") == 2
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True).order_by("seq")) == [1, 2]
    assert heads(AuditCheckpoint.objects.get(seq=2)) == [f"case:{news.pk}"]
    assert verify_full(save_state=False).ok


def test_a_worker_killed_mid_checkpoint_leaves_the_task_to_a_fresh_worker(celery_processes, world):
    """SIGKILL of the whole worker (main and pool processes: a machine lost, say), so nothing is
    left to put the message back: it was never acknowledged (late acknowledgement), and Redis
    hands it to the next worker once its visibility timeout has passed (2 s here; hours in
    production, longer than any task may run). The fresh worker records the checkpoint once, and
    the same task sent again records nothing more: it is idempotent."""
    celery_processes.visibility_timeout = 2
    first, news = _a_chain_with_news(world)
    worker = celery_processes.start_worker()
    with transaction.atomic():
        _hold_the_chain()
        sent = time.monotonic()
        task_id = celery_processes.send(TASK)
        celery_processes.wait_for(celery_processes.backends_waiting_for_a_lock, "the task to start")
        celery_processes.kill(worker)
    assert f"{TASK}[{task_id}] received" in worker.log()
    assert f"{TASK}[{task_id}] succeeded" not in worker.log()

    # A worker restores the messages left unacknowledged past the timeout when it starts.
    time.sleep(max(0.0, sent + celery_processes.visibility_timeout + 0.5 - time.monotonic()))
    fresh = celery_processes.start_worker()
    celery_processes.wait_for(lambda: f"{TASK}[{task_id}] succeeded" in fresh.log(), "the redelivered task")
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True).order_by("seq")) == [1, 2]
    second = AuditCheckpoint.objects.get(seq=2)
    assert heads(second) == [f"case:{news.pk}"]
    celery_processes.wait_for(lambda: len(read_anchors().anchored) == 2, "the anchor")
    assert read_anchors().anchored == {1: first.hash, 2: second.hash}

    again = celery_processes.send(TASK, task_id=str(uuid.uuid4()))
    celery_processes.wait_for(lambda: f"{TASK}[{again}] succeeded" in fresh.log(), "the task sent again")
    assert AuditCheckpoint.objects.count() == 2
    assert fresh.log().count(f"{TASK}[{task_id}] succeeded") == 1
    assert verify_full(save_state=False).ok
