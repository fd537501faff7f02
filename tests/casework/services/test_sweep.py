"""The clock sweep: each warning, breach and escalation is marked once and told once, to the
right people, whatever order sweeps run in; a clock that cannot be reckoned is skipped and the
others go on; a sweep that dies half-way loses nothing and repeats nothing."""

from __future__ import annotations

import threading
from datetime import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from casework.choices import ClockState, ClockUnit, NotificationKind, Role, Stage
from casework.models import CalendarYear, CaseClock, ClockPolicy, Notification
from casework.services import notifications
from casework.services import sweep as sweep_module
from casework.services.deadlines import WorkCalendar
from casework.services.policies import Policy
from casework.services.sweep import sweep
from tests.factories import make_user, make_world
from tests.workflows.test_case_flow import file_case
from workflows import actions

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def _now(moment: datetime):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def filed(world, when: str = "2026-11-23 10:00", **kwargs):
    with _now(at(when)):
        return file_case(world, **kwargs)


def told(kind: NotificationKind) -> list[tuple[int, str]]:
    return sorted(Notification.objects.filter(kind=kind).values_list("recipient_id", "title"))


@pytest.fixture
def head(world):
    head = make_user(world.org, Role.COMMITTEE_HEAD, "刘主任")
    world.committee.head = head
    world.committee.save()
    return head


def test_a_review_clock_warns_breaches_and_escalates_once_each(world, head):
    # Filed Monday 23 Nov 2026: 5 working days end Monday 30 Nov at 24:00. The warning comes at
    # the earlier of 80 % (end of the 4th day, Fri 27) and 2 working days before (end of Thu 26).
    case = filed(world)
    clock = CaseClock.objects.get(case=case)
    assert (clock.due_at, clock.warn_at) == (at("2026-12-01 00:00"), at("2026-11-27 00:00"))

    assert sweep(at("2026-11-26 23:59")).as_dict()["warned"] == 0
    assert sweep(at("2026-11-27 00:01")).warned == 1
    title = f"即将超期：#{case.pk} {case.title}"
    assert told(NotificationKind.CLOCK_WARNING) == sorted([(world.staff.pk, title), (world.staff2.pk, title)])
    assert sweep(at("2026-11-30 12:00")).as_dict() == {
        "breached": 0,
        "warned": 0,
        "escalated": 0,
        "notifications": 0,
        "batches": 0,
    }

    # Past the deadline: breached, and (after 0 working days) escalated to the committee head.
    report = sweep(at("2026-12-01 00:00:01"))
    assert (report.breached, report.warned, report.escalated) == (1, 0, 1)
    assert [r for r, _ in told(NotificationKind.CLOCK_BREACH)] == sorted([world.staff.pk, world.staff2.pk])
    assert told(NotificationKind.ESCALATION_HEAD) == [(head.pk, f"超期提级：#{case.pk} {case.title}")]
    assert told(NotificationKind.ESCALATION_LEADERSHIP) == []
    clock.refresh_from_db()
    # Leadership 5 working days after the deadline's last day (Mon 30 Nov): Mon 7 Dec, 24:00.
    assert (clock.escalation_level, clock.next_escalation_at) == (1, at("2026-12-08 00:00"))

    assert sweep(at("2026-12-07 23:59")).escalated == 0
    assert sweep(at("2026-12-08 00:00:01")).escalated == 1
    assert [r for r, _ in told(NotificationKind.ESCALATION_LEADERSHIP)] == [world.leader.pk]
    # The chain has ended: nothing more, however often the sweep runs.
    assert sweep(at("2027-03-01 00:00")).batches == 0
    assert Notification.objects.count() == 2 + 2 + 1 + 1


def test_a_clock_found_already_overdue_is_told_it_is_overdue_not_nearly_due(world, head):
    filed(world)
    report = sweep(at("2026-12-02 09:00"))
    assert (report.breached, report.warned) == (1, 0)
    assert told(NotificationKind.CLOCK_WARNING) == []


def test_a_claimed_task_tells_its_holder_only(world):
    case = filed(world)
    with _now(at("2026-11-23 11:00")):
        actions.perform("claim", case_id=case.pk, actor=world.staff)
    sweep(at("2026-11-27 00:01"))
    assert [r for r, _ in told(NotificationKind.CLOCK_WARNING)] == [world.staff.pk]


def test_a_committee_without_a_head_escalates_to_leadership(world):
    filed(world)
    sweep(at("2026-12-01 00:01"))
    assert told(NotificationKind.ESCALATION_HEAD) == []
    assert [r for r, _ in told(NotificationKind.ESCALATION_LEADERSHIP)] == [world.leader.pk]


def test_several_cases_come_as_one_digest_per_person(world):
    for title in ("路灯不亮", "公交站台破损", "学校门口拥堵"):
        filed(world, title=title)
    sweep(at("2026-11-27 00:01"))
    mine = Notification.objects.get(recipient=world.staff, kind=NotificationKind.CLOCK_WARNING)
    assert mine.title == "3 件案件即将超期" and mine.case_id is None
    lines = mine.body.splitlines()
    assert [line.split(" ", 1)[1].split("（")[0] for line in lines] == ["路灯不亮", "公交站台破损", "学校门口拥堵"]
    assert lines[0].endswith("（审核，2026-11-30 24:00 到期）")


def test_a_paused_clock_is_not_swept_and_a_clock_without_a_due_time_is_skipped(world):
    paused = filed(world, title="需补充材料")
    with _now(at("2026-11-23 11:00")):
        actions.perform("claim", case_id=paused.pk, actor=world.staff)
        actions.perform("request_info", case_id=paused.pk, actor=world.staff, data={"question": "请补充照片"})
    broken = filed(world, title="无法计算")
    CaseClock.objects.filter(case=broken).update(due_at=None, warn_at=None, due_error="calendar_missing:2027")
    ok = filed(world, title="正常")
    report = sweep(at("2026-12-01 00:01"))
    # The normal case's review and the member's 5 working days to answer; not the paused review.
    assert report.breached == 2
    assert CaseClock.objects.get(case=ok).breached_at is not None
    assert CaseClock.objects.get(case=broken).breached_at is None
    review = CaseClock.objects.get(case=paused, stage=Stage.REVIEW)
    assert review.state == ClockState.PAUSED and review.breached_at is None
    assert CaseClock.objects.get(case=paused, stage=Stage.NEEDS_INFO).breached_at is not None
    assert Notification.objects.filter(recipient=world.member.user, kind=NotificationKind.CLOCK_BREACH).exists()


def test_an_escalation_that_reaches_an_unpublished_year_escalates_at_once(world):
    # Due at the end of 2026; leadership 5 working days later would be in 2027, unpublished here.
    case = filed(world, when="2026-12-24 10:00")
    clock = CaseClock.objects.get(case=case)
    assert clock.due_at == at("2027-01-01 00:00")
    CalendarYear.objects.filter(year=2027).delete()
    sweep(at("2027-01-01 00:00:01"))  # breach; no head: leadership at level 1
    clock.refresh_from_db()
    assert clock.escalation_level == 1
    # Level 2 cannot be reckoned (2027 unknown): it is due at once rather than never.
    assert clock.next_escalation_at == at("2027-01-01 00:00:01")
    assert sweep(at("2027-01-01 00:00:02")).escalated == 1


def test_a_sweep_that_dies_half_way_is_finished_by_the_next_and_repeats_nothing(world, head):
    for title in ("一", "二", "三"):
        filed(world, title=title)
    real = notifications.notify_all
    calls = []

    def dies_on_the_second_batch(messages):
        calls.append(len(messages))
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(messages)

    with mock.patch.object(sweep_module, "notify_all", dies_on_the_second_batch):
        with pytest.raises(RuntimeError):
            sweep(at("2026-11-27 00:01"), batch=1)
    # The first batch committed (its mark and its notifications); the second rolled back whole.
    assert CaseClock.objects.filter(warned_at__isnull=False).count() == 1
    assert Notification.objects.count() == 2
    assert sweep(at("2026-11-27 00:02"), batch=1).warned == 2
    assert CaseClock.objects.filter(warned_at__isnull=False).count() == 3
    # Each staff member was told of each case once (one batch, one case, one message each).
    assert Notification.objects.filter(recipient=world.staff).count() == 3
    assert Notification.objects.filter(recipient=world.staff2).count() == 3


def test_a_sweep_with_nothing_due_reads_three_index_ranges(world):
    for _ in range(3):
        filed(world)
    with CaptureQueriesContext(connection) as queries:
        sweep(at("2026-11-24 10:00"))
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 3 and all("UPDATE" in sql for sql in statements)


def test_an_organisations_policy_sets_its_warning_and_chain(world, head):
    ClockPolicy.objects.create(
        organisation=world.org,
        stage=Stage.REVIEW,
        amount=3,
        unit=ClockUnit.WORKING_DAYS,
        warn_percent=None,
        warn_days_before=1,
        escalate_head_after=1,
        escalate_leadership_after=None,
    )
    case = filed(world)  # Mon 23 Nov: due end of Thu 26; warn end of Wed 25
    clock = CaseClock.objects.get(case=case)
    assert (clock.due_at, clock.warn_at) == (at("2026-11-27 00:00"), at("2026-11-26 00:00"))
    sweep(at("2026-11-27 00:01"))
    clock.refresh_from_db()
    assert clock.escalation_level == 0 and clock.next_escalation_at == at("2026-11-28 00:00")  # Fri 27, 24:00
    assert sweep(at("2026-11-28 00:01")).escalated == 1
    assert sweep(at("2026-12-31 00:01")).escalated == 0  # no leadership step in this chain


def test_warning_times_by_unit():
    cal = WorkCalendar.of({2026: {}})
    start = at("2026-03-02 10:00")  # a Monday
    months = Policy(amount=3, unit=ClockUnit.MONTHS, warn_percent=80, warn_days_before=2)
    due = months.due(cal, start)
    assert due == at("2026-06-03 00:00")
    assert months.warn_at(cal, start, due) == start + (due - start) * 0.8
    assert (
        Policy(amount=3, unit=ClockUnit.MONTHS, warn_percent=None, warn_days_before=None).warn_at(cal, start, due)
        is None
    )
    one_day = Policy(amount=1, unit=ClockUnit.WORKING_DAYS)
    assert one_day.warn_at(cal, start, one_day.due(cal, start)) == start  # shorter than its warning


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_mark_and_tell_each_clock_once():
    world = make_world("政协并发巡检")
    head = make_user(world.org, Role.COMMITTEE_HEAD, "并发主任")
    world.committee.head = head
    world.committee.save()
    for i in range(40):
        filed(world, title=f"并发{i}")
    barrier = threading.Barrier(2)
    reports = []

    def run():
        try:
            barrier.wait()
            reports.append(sweep(at("2026-12-01 00:01"), batch=7))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.breached for r in reports) == 40
    assert sum(r.escalated for r in reports) == 40
    assert CaseClock.objects.filter(breached_at__isnull=False, escalation_level=1).count() == 40
    cases_told = [
        line
        for body in Notification.objects.filter(recipient=head).values_list("body", flat=True)
        for line in body.splitlines()
    ]
    assert len(cases_told) == 40 == len(set(cases_told))
    staff_lines = [
        line
        for body in Notification.objects.filter(recipient=world.staff, kind=NotificationKind.CLOCK_BREACH).values_list(
            "body", flat=True
        )
        for line in body.splitlines()
    ]
    assert len(staff_lines) == 40 == len(set(staff_lines))
