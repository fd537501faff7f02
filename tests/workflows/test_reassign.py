"""A committee head hands an open task to a member of their team (改派): who may, what it
changes (the task's owner and the clock's assignee, nothing of the case), its audit event and
notice, and the bad targets refused with nothing changed."""

from __future__ import annotations

import pytest

from casework.choices import AuditAction, CaseStatus, ClockState, NotificationKind, Role, Stage
from casework.errors import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from casework.models import AuditEvent, CaseClock, Notification
from tests.factories import make_user
from tests.helpers import do, open_task, snapshot
from tests.workflows.test_case_flow import file_case
from workflows import actions


@pytest.fixture
def head(world):
    user = make_user(world.org, Role.COMMITTEE_HEAD, "刘主任")
    world.committee.head = user
    world.committee.save(update_fields=["head"])
    return user


def _clock(case) -> CaseClock:
    return CaseClock.objects.get(case=case, state=ClockState.RUNNING)


def _last_event(case) -> AuditEvent:
    return AuditEvent.objects.filter(stream=f"case:{case.pk}").order_by("-seq").first()


def test_the_head_gives_a_claimed_task_to_another_staff_member(world, head):
    case = file_case(world)
    do("claim", case.pk, world.staff)
    claimed_at = _clock(case).claimed_at
    do("reassign", case.pk, head, to=world.staff2.pk, note="张干事休假")

    assert open_task(case)["owner"] == world.staff2.pk
    clock = _clock(case)
    assert clock.assignee_id == world.staff2.pk
    assert clock.claimed_at == claimed_at  # time-to-claim measures the queue, not the handing on
    case.refresh_from_db()
    assert case.status == CaseStatus.REVIEW
    event = _last_event(case)
    assert event.action == AuditAction.CASE_REASSIGNED and event.actor_id == head.pk
    assert event.changes == {"stage": Stage.REVIEW, "from": world.staff.pk, "to": world.staff2.pk, "note": "张干事休假"}
    told = Notification.objects.get(recipient=world.staff2, kind=NotificationKind.CASE_ASSIGNED)
    assert told.case_id == case.pk and case.title in told.title and told.body == "张干事休假"
    assert not Notification.objects.filter(recipient=world.staff, kind=NotificationKind.CASE_ASSIGNED).exists()
    # The new holder may now decide it; the old one may not.
    assert "accept" in {t.name for t in actions.available(world.staff2, case)}
    assert "accept" not in {t.name for t in actions.available(world.staff, case)}


def test_an_unclaimed_task_leaves_the_queue_for_its_new_holder(world, head):
    case = file_case(world)
    do("reassign", case.pk, head, to=world.staff.pk)
    assert open_task(case)["owner"] == world.staff.pk
    clock = _clock(case)
    assert clock.assignee_id == world.staff.pk and clock.claimed_at is not None
    assert _last_event(case).changes["from"] is None
    # Out of the queue: claim-next finds nothing, and the holder decides it.
    assert actions.claim_next(committee_id=world.committee.pk, actor=world.staff2) is None
    do("accept", case.pk, world.staff)
    case.refresh_from_db()
    assert case.status == CaseStatus.CONVERSION


def test_a_conversion_task_may_be_reassigned_and_the_head_may_take_it(world, head):
    case = file_case(world)
    do("accept", case.pk, world.staff)
    assert open_task(case)["stage"] == Stage.CONVERSION
    do("reassign", case.pk, head, to=head.pk)
    assert open_task(case)["owner"] == head.pk
    assert _clock(case).assignee_id == head.pk
    # Nobody is told of what they did themselves.
    assert not Notification.objects.filter(kind=NotificationKind.CASE_ASSIGNED).exists()


def test_only_the_head_of_the_cases_committee_may_reassign(world, head):
    case = file_case(world)
    do("claim", case.pk, world.staff)
    before = snapshot(case)
    with pytest.raises(PermissionDenied) as staff_err:
        do("reassign", case.pk, world.staff, to=world.staff2.pk)
    assert staff_err.value.code == "not_committee_head"
    with pytest.raises(PermissionDenied):
        do("reassign", case.pk, world.member.user, to=world.staff2.pk)
    other_head = make_user(world.org, Role.COMMITTEE_HEAD, "钱主任")
    world.other_committee.head = other_head
    world.other_committee.save(update_fields=["head"])
    with pytest.raises(NotFound):
        do("reassign", case.pk, other_head, to=world.staff2.pk)
    with pytest.raises(NotFound):
        do("reassign", case.pk, world.outsider, to=world.staff2.pk)
    assert snapshot(case) == before
    assert "reassign" in {t.name for t in actions.available(head, case)}
    assert "reassign" not in {t.name for t in actions.available(world.staff, case)}


@pytest.mark.parametrize("target", ["holder", "other_committee", "member", "inactive", "missing"])
def test_a_bad_target_is_refused_and_nothing_changes(world, head, target):
    case = file_case(world)
    do("claim", case.pk, world.staff)
    quitter = make_user(world.org, Role.COMMITTEE_STAFF, "孙干事")
    world.committee.staff.add(quitter)
    quitter.is_active = False
    quitter.save(update_fields=["is_active"])
    to = {
        "holder": world.staff.pk,
        "other_committee": world.other_staff.pk,
        "member": world.member.user.pk,
        "inactive": quitter.pk,
        "missing": 987654321,
    }[target]
    before = snapshot(case)
    with pytest.raises(InvalidInput) as err:
        do("reassign", case.pk, head, to=to)
    assert err.value.code == ("same_holder" if target == "holder" else "invalid_team_member")
    assert err.value.details == {"field": "to"}
    if target == "holder":
        assert "张干事" in str(err.value.message)
    assert snapshot(case) == before
    assert not Notification.objects.filter(kind=NotificationKind.CASE_ASSIGNED).exists()


def test_not_in_a_stage_of_the_committees_queue(world, head):
    case = file_case(world)
    do("request_info", case.pk, world.staff, question="请补充路段")
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowed):
        do("reassign", case.pk, head, to=world.staff2.pk)
    assert snapshot(case) == before


def test_the_to_field_is_required(world, head):
    case = file_case(world)
    with pytest.raises(InvalidInput):
        do("reassign", case.pk, head)
