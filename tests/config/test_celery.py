"""Celery's delivery settings: at least once, and no redelivery of a task that is still running."""

from __future__ import annotations

from django.conf import settings

from config.celery import app


def test_delivery_is_at_least_once():
    # Acknowledged after the task, put back when its pool process dies, one message reserved per
    # process: a worker that dies mid-task leaves its message to run again (tests/integration).
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_redis_hands_a_message_out_again_only_after_every_task_could_have_finished():
    """Redis redelivers a message left unacknowledged for `visibility_timeout` seconds; a task
    still running then would run twice at once. Each task's hard time limit (its own, else the
    app's) must end before that."""
    app.loader.import_default_modules()
    visibility = settings.REDIS_VISIBILITY_TIMEOUT
    ours = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert {"casework.audit_checkpoint", "casework.audit_verify"} <= set(ours)
    limits = {name: task.time_limit or app.conf.task_time_limit for name, task in ours.items()}
    assert all(limits.values()), limits  # a task without a limit could outlive any timeout
    assert max(limits.values()) < visibility, (limits, visibility)


def test_the_visibility_timeout_goes_to_redis_only():
    # The embedded SQLite broker passes its transport options to SQLAlchemy's create_engine,
    # which refuses an argument it does not know: the worker would not start.
    if settings.CELERY_BROKER_URL.startswith("redis"):
        assert app.conf.broker_transport_options == {"visibility_timeout": settings.REDIS_VISIBILITY_TIMEOUT}
    else:
        assert settings.CELERY_BROKER_URL.startswith("sqla+sqlite")
        assert app.conf.broker_transport_options == {}
