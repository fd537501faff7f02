"""The clock lifecycle on its own: deadlines on the working-day calendar end at 24:00 of their last
day, a pause keeps the working days left, an undone stage gets no verdict, a year with no
published calendar leaves the clock without a due time and says why. (The arithmetic itself:
test_deadlines.py.)"""

from __future__ import annotations

from datetime import datetime
from unittest import mock
from zoneinfo import ZoneInfo

from casework.choices import ClockState, ClockUnit, Stage
from casework.models import CalendarYear, CaseClock, ClockPolicy
from casework.services import clocks
from casework.services.clocks import TaskRef
from tests.workflows.test_case_flow import file_case

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def _now(moment: datetime):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_a_pause_over_the_spring_festival_resumes_with_the_working_days_it_had_left(world):
    with _now(at("2026-02-09 09:00")):  # a Monday; 5 working days: 10–13 Feb and Saturday 14 (worked)
        case = file_case(world)
    review = CaseClock.objects.get(case=case)
    assert review.due_at == at("2026-02-15 00:00")

    with _now(at("2026-02-11 09:00")):  # asked for information on Wednesday: 12, 13 and 14 Feb left
        clocks.follow(case, left="review", opened=TaskRef(1001, Stage.NEEDS_INFO, world.member.user.pk))
    review.refresh_from_db()
    assert (review.state, review.task_id, review.days_left_at_pause) == (ClockState.PAUSED, None, 3)
    asked = CaseClock.objects.get(case=case, stage=Stage.NEEDS_INFO)
    assert (asked.state, asked.queue_id, asked.assignee_id) == (ClockState.RUNNING, None, world.member.user.pk)

    with _now(at("2026-02-25 09:00")):  # answered after the holiday week (15–23 Feb off)
        clocks.follow(case, left="needs_info", opened=TaskRef(1002, Stage.REVIEW, None))
    review.refresh_from_db()
    asked.refresh_from_db()
    assert (review.state, review.task_id, review.queue_id) == (ClockState.RUNNING, 1002, world.committee.pk)
    # The same three working days: 26, 27 and Saturday 28 Feb (worked), to 24:00.
    assert review.due_at == at("2026-03-01 00:00") and review.days_left_at_pause is None
    assert review.paused_seconds == 14 * 86400
    assert asked.state == ClockState.STOPPED
    assert CaseClock.objects.filter(case=case, stage=Stage.REVIEW).count() == 1


def test_a_year_with_no_calendar_leaves_the_clock_without_a_due_time_and_says_why(world):
    CalendarYear.objects.get_or_create(year=2097, defaults={"source": "测试：只有周末"})
    with _now(at("2097-12-28 10:00")):  # 5 working days reach into 2098, which has no notice
        case = file_case(world)
    clock = CaseClock.objects.get(case=case)
    assert (clock.state, clock.due_at, clock.due_error) == (ClockState.RUNNING, None, "calendar_missing:2098")

    from casework import selectors

    described = selectors.case_clocks(case, at("2097-12-29 10:00"))[0]
    assert (described.tone, described.words) == ("error", "到期时间无法计算：2098 年节假日安排尚未录入")
    with _now(at("2097-12-30 10:00")):  # decided without a deadline: no verdict either way
        clocks.follow(case, left="review", opened=TaskRef(3002, Stage.CONVERSION, None))
    clock.refresh_from_db()
    assert (clock.state, clock.is_met) == (ClockState.STOPPED, None)


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
    ClockPolicy.objects.create(organisation=world.org, stage=Stage.REVIEW, amount=2, unit=ClockUnit.WORKING_DAYS)
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
