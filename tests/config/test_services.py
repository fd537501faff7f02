"""The real parts: a Celery worker process over the Redis broker, the Redis cache, and the
import contracts that keep the layers pointing one way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from casework.models import AuditCheckpoint
from casework.services.audit_anchor import read_anchors
from casework.tasks import audit_checkpoint_task
from tests.workflows.test_case_flow import file_case

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.mark.redis
def test_redis_cache_round_trip():
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.set("minqing-test-key", {"案件": 1}, 30)
    assert cache.get("minqing-test-key") == {"案件": 1}
    cache.delete("minqing-test-key")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_runs_the_audit_checkpoint(world):
    file_case(world)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "AUDIT_CHECKPOINT_SETTLE_SECONDS": "0",
        "MINQING_AUDIT_KEY_FILE": settings.AUDIT_KEY_FILE,
        "MINQING_AUDIT_ANCHOR_FILE": settings.AUDIT_ANCHOR_FILE,
    }
    celery = str(Path(sys.executable).parent / "celery")
    worker = subprocess.Popen(
        [
            celery,
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            "minqing-test",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        audit_checkpoint_task.apply_async(queue="minqing-test")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not AuditCheckpoint.objects.exists():
            assert worker.poll() is None, worker.stdout.read()
            time.sleep(0.5)
        checkpoint = AuditCheckpoint.objects.get()
        assert list(checkpoint.head_rows.values_list("stream", flat=True)) == [f"case:{world.member.cases.get().pk}"]
        # The worker appended the checkpoint's anchor after its commit.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and checkpoint.seq not in read_anchors().anchored:
            time.sleep(0.2)
        assert read_anchors().anchored == {checkpoint.seq: checkpoint.hash}
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        connection.close()
