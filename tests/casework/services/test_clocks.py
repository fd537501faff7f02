"""The clock arithmetic and the clock lifecycle, on their own: deadlines end at 24:00 of their
last (working) day, a pause keeps the time already used, an undone stage gets no verdict."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from casework.choices import ClockState, Stage
from casework.models import CaseClock
from casework.services import clocks
from casework.services.clocks import TaskRef, add_days, add_working_days
from tests.workflows.test_case_flow import file_case

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        ("2026-11-27 10:00", 5, "2026-12-05 00:00"),  # Friday + 5 working days: the end of Friday 4 Dec
        ("2026-11-28 23:59", 1, "2026-12-01 00:00"),  # filed on a Saturday: Monday is the first day
        ("2026-11-30 00:00", 0, "2026-12-01 00:00"),  # zero days: the end of the start day
    ],
)
def test_working_days_skip_weekends_and_end_at_midnight(start, days, due):
    assert add_working_days(at(start), days) == at(due)


def test_a_day_count_that_ends_on_a_weekend_rolls_to_monday():
    assert add_days(at("2026-11-20 09:00"), 15) == at("2026-12-08 00:00")  # 5 Dec is a Saturday
    assert add_days(at("2026-11-20 09:00"), 14) == at("2026-12-05 00:00")  # 4 Dec is a Friday


def test_the_start_day_is_read_in_shanghai_time():
    utc_evening = datetime(2026, 11, 26, 17, 30, tzinfo=ZoneInfo("UTC"))  # Friday 01:30 in Shanghai
    assert add_working_days(utc_evening, 1) == at("2026-12-01 00:00")


def _now(moment: datetime):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_a_pause_keeps_the_time_used_and_moves_the_deadline_by_the_pause(world):
    with _now(at("2026-11-23 09:00")):
        case = file_case(world)
    review = CaseClock.objects.get(case=case)
    due = review.due_at

    with _now(at("2026-11-24 09:00")):
        clocks.follow(case, left="review", opened=TaskRef(1001, Stage.NEEDS_INFO, world.member.user.pk))
    review.refresh_from_db()
    assert (review.state, review.task_id, review.paused_at) == (ClockState.PAUSED, None, at("2026-11-24 09:00"))
    asked = CaseClock.objects.get(case=case, stage=Stage.NEEDS_INFO)
    assert (asked.state, asked.queue_id, asked.assignee_id) == (ClockState.RUNNING, None, world.member.user.pk)

    with _now(at("2026-11-26 09:00")):
        clocks.follow(case, left="needs_info", opened=TaskRef(1002, Stage.REVIEW, None))
    review.refresh_from_db()
    asked.refresh_from_db()
    assert (review.state, review.task_id, review.queue_id) == (ClockState.RUNNING, 1002, world.committee.pk)
    assert review.paused_seconds == 2 * 86400 and review.due_at == due + timedelta(days=2)
    assert (asked.state, asked.is_met) == (ClockState.STOPPED, True)
    assert CaseClock.objects.filter(case=case, stage=Stage.REVIEW).count() == 1


def test_a_decision_judges_the_clock_and_an_undo_does_not(world):
    with _now(at("2026-11-23 09:00")):
        case = file_case(world)
    review = CaseClock.objects.get(case=case)
    with _now(at("2026-12-10 09:00")):  # after the due time
        clocks.follow(case, left="review", opened=TaskRef(2001, Stage.CONVERSION, None))
    review.refresh_from_db()
    assert (review.state, review.is_met) == (ClockState.STOPPED, False)

    conversion = CaseClock.objects.get(case=case, stage=Stage.CONVERSION)
    with _now(at("2026-12-10 10:00")):
        clocks.follow(case, left="conversion", opened=TaskRef(2002, Stage.REVIEW, None), undone=True)
    conversion.refresh_from_db()
    assert (conversion.state, conversion.is_met) == (ClockState.STOPPED, None)
    fresh = CaseClock.objects.get(case=case, stage=Stage.REVIEW, state=ClockState.RUNNING)
    assert fresh.pk != review.pk and fresh.started_at == at("2026-12-10 10:00")


def test_a_stage_without_a_target_has_no_clock(world):
    case = file_case(world)
    clocks.follow(case, left="review", opened=TaskRef(3001, Stage.OUTCOME, None))
    assert not CaseClock.objects.filter(case=case, stage=Stage.OUTCOME).exists()


def test_an_organisations_own_target_wins(world):
    world.org.sla_targets = {"review": {"working_days": 2}}
    world.org.save()
    with _now(at("2026-11-27 10:00")):
        case = file_case(world)
    assert CaseClock.objects.get(case=case).due_at == at("2026-12-02 00:00")


def test_hold_and_release_set_the_holder(world):
    case = file_case(world)
    with _now(at("2026-11-24 09:30")):
        clocks.hold(case, Stage.REVIEW, world.staff.pk)
    clock = CaseClock.objects.get(case=case)
    assert (clock.assignee_id, clock.claimed_at) == (world.staff.pk, at("2026-11-24 09:30"))
    clocks.hold(case, Stage.REVIEW, None)
    clock.refresh_from_db()
    assert (clock.assignee_id, clock.claimed_at) == (None, None)
