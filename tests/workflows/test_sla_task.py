"""The beat task that runs the sweep: it sweeps, fires viewflow's due timers, and reports."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.utils import timezone

from casework.models import CaseClock, Notification
from tests.workflows.test_case_flow import file_case
from workflows.tasks import sla_sweep_task


def test_the_task_sweeps_what_is_due_and_fires_no_timer_when_none_is_set(world):
    case = file_case(world)
    CaseClock.objects.filter(case=case).update(due_at=timezone.now() - timedelta(minutes=1))
    figures = sla_sweep_task()
    assert figures["breached"] == 1 and figures["timers"] == 0
    assert Notification.objects.filter(recipient=world.staff).exists()
    assert sla_sweep_task()["breached"] == 0


def test_the_task_fires_viewflows_due_timers(db):
    with mock.patch("viewflow.workflow.timers.fire_due_timers", return_value=2) as fire:
        assert sla_sweep_task()["timers"] == 2
    fire.assert_called_once()
