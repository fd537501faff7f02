"""The `celery_processes` fixture: real Celery processes for one test (celery_harness.py)."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.integration.celery_harness import CeleryProcesses


@pytest.fixture
def celery_processes(request, transactional_db, tmp_path):
    """Celery processes over the run's Redis (REDIS_URL: a database number of the run's own, e.g.
    redis://127.0.0.1:6379/6) and its PostgreSQL test database; all of them killed when the test
    ends, however it ends. The test's own process publishes to the same broker."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not (marker.kwargs.get("transaction") and marker.kwargs.get("serialized_rollback")):
        # The processes see only committed rows; the flush after the test needs the seeded rows back.
        pytest.fail(
            "a test with Celery processes needs @pytest.mark.django_db(transaction=True, serialized_rollback=True)"
        )
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis"):
        pytest.fail(f"the Celery harness needs a Redis broker (REDIS_URL), not {broker!r}")
    processes = CeleryProcesses(root=tmp_path, broker_url=broker)
    try:
        yield processes
    finally:
        processes.stop()
