"""Feedback records the day the member told the constituent: required, never ahead of today, never
before the case's outcome reached the member; a refused day changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from casework.choices import CaseStatus
from casework.errors import InvalidInput
from casework.models import AuditEvent
from casework.services import cases as case_effects
from casework.services.audit import case_stream
from tests.helpers import answer_output, do, snapshot, today
from tests.workflows.test_case_flow import file_case
from workflows.management.demo.clock import SimulatedNow


def _days_ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def _resolved(world, *, at: datetime | None = None):
    case = file_case(world)
    if at is None:
        do("resolve", case.pk, world.staff, note="已协调交警设置护学岗")
    else:
        with SimulatedNow(at):
            do("resolve", case.pk, world.staff, note="已协调交警设置护学岗")
    case.refresh_from_db()
    return case


def _refused(world, case, code: str, **data) -> InvalidInput:
    before = snapshot(case)
    with pytest.raises(InvalidInput) as refused:
        do("feedback", case.pk, world.member.user, method="phone", satisfaction="satisfied", **data)
    assert refused.value.code == code
    assert refused.value.details["field"] == "told_on"
    assert snapshot(case) == before
    return refused.value


def test_the_day_told_is_required(world):
    case = _resolved(world)
    error = _refused(world, case, "required")
    assert "告知日期" in error.message


@pytest.mark.parametrize("raw", ["2026-02-30", "明天", "20260101", 20260101])
def test_a_day_that_is_no_date_is_refused(world, raw):
    case = _resolved(world)
    _refused(world, case, "invalid_date", told_on=raw)


def test_a_day_in_the_future_is_refused(world):
    case = _resolved(world)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    error = _refused(world, case, "told_on_in_future", told_on=tomorrow)
    assert "不能晚于今天" in error.message and timezone.localdate().isoformat() in error.message


def test_a_day_before_the_outcome_arrived_is_refused(world):
    case = _resolved(world, at=_days_ago(4))
    arrived = case_effects.outcome_arrived_on(case)
    assert arrived == timezone.localdate(_days_ago(4))
    error = _refused(world, case, "told_on_before_outcome", told_on=(arrived - timedelta(days=1)).isoformat())
    assert "不能早于收到办理结果的日期" in error.message and arrived.isoformat() in error.message


def test_told_on_the_day_the_outcome_arrived_or_after_closes_the_case(world):
    case = _resolved(world, at=_days_ago(4))
    told = timezone.localdate(_days_ago(2))

    do("feedback", case.pk, world.member.user, told_on=told.isoformat(), method="visit", satisfaction="basically")

    case.refresh_from_db()
    assert (case.status, case.feedback_told_on, case.feedback_method) == (CaseStatus.CLOSED, told, "visit")
    event = AuditEvent.objects.filter(stream=case_stream(case.pk)).order_by("-seq").first()
    assert event is not None and event.action == "case.closed"
    assert event.changes["told_on"] == told.isoformat()


def test_an_outputs_outcome_counts_from_the_day_it_came_back(world):
    case = file_case(world)
    do("accept", case.pk, world.staff)
    with SimulatedNow(_days_ago(10)):
        do("convert", case.pk, world.staff, output_type="info_report", title="关于校门口拥堵的社情民意")
    case.refresh_from_db()
    with SimulatedNow(_days_ago(3)):
        answer_output(case.output_id, world.staff, "已增设护学岗")
    arrived = timezone.localdate(_days_ago(3))

    _refused(world, case, "told_on_before_outcome", told_on=(arrived - timedelta(days=1)).isoformat())
    do("feedback", case.pk, world.member.user, told_on=arrived.isoformat(), method="phone", satisfaction="satisfied")
    case.refresh_from_db()
    assert (case.status, case.feedback_told_on) == (CaseStatus.CLOSED, arrived)


def test_a_decision_sent_back_and_taken_again_counts_from_the_new_one(world):
    case = _resolved(world, at=_days_ago(6))
    with SimulatedNow(_days_ago(5)):
        do("send_back", case.pk, world.staff, reason="误操作")
    do("redirect", case.pk, world.staff, channel="petition")

    assert case_effects.outcome_arrived_on(case) == timezone.localdate()
    _refused(world, case, "told_on_before_outcome", told_on=timezone.localdate(_days_ago(5)).isoformat())
    do("feedback", case.pk, world.member.user, told_on=today(), method="message", satisfaction="satisfied")
