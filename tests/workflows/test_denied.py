"""Denied and failing transitions: a clear error, and nothing changed, nothing queued."""

from __future__ import annotations

import pytest

from casework.choices import CaseStatus
from casework.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from casework.models import AuditEvent, Case
from casework.services import clocks
from tests.helpers import answer_output, do, file, snapshot, today
from tests.workflows.test_case_flow import file_case


def test_a_claimed_task_cannot_be_claimed_or_decided_by_another(world):
    case = file_case(world)
    do("claim", case.pk, world.staff)
    before = snapshot(case)
    with pytest.raises(Conflict) as err:
        do("claim", case.pk, world.staff2)
    assert err.value.code == "claimed_by_other" and "张干事" in str(err.value.message)
    with pytest.raises(Conflict):
        do("accept", case.pk, world.staff2)
    assert snapshot(case) == before


def test_a_member_cannot_decide_and_another_committee_cannot_see(world):
    case = file_case(world)
    before = snapshot(case)
    with pytest.raises(PermissionDenied):
        do("accept", case.pk, world.member.user)
    with pytest.raises(NotFound):
        do("accept", case.pk, world.other_staff)
    with pytest.raises(NotFound):
        do("accept", case.pk, world.outsider)
    with pytest.raises(NotFound):
        do("edit", case.pk, world.other_member.user, **{"title": "改"})
    assert snapshot(case) == before


def test_transition_in_the_wrong_status_is_refused(world):
    case = file_case(world)
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowed) as err:
        do("convert", case.pk, world.staff, output_type="proposal")
    assert "委办审核" in str(err.value.message)
    with pytest.raises(TransitionNotAllowed):
        do("feedback", case.pk, world.member.user, told_on=today(), method="visit", satisfaction="satisfied")
    with pytest.raises(TransitionNotAllowed):
        do("submit", case.pk, world.member.user)
    with pytest.raises(TransitionNotAllowed):
        do("send_back", case.pk, world.staff, reason="x")
    assert snapshot(case) == before


def test_send_back_after_an_outcome_is_refused(world):
    case = file_case(world)
    do("accept", case.pk, world.staff)
    do("convert", case.pk, world.staff, output_type="info_report")
    case.refresh_from_db()
    answer_output(case.output_id, world.staff, "已作口头发言")
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowed):
        do("send_back", case.pk, world.staff, reason="x")
    assert snapshot(case) == before


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda w, c: do("reject", c.pk, w.staff, reason=999999), "invalid_reason"),
        (lambda w, c: do("redirect", c.pk, w.staff, channel="nowhere"), "invalid_choice"),
        (lambda w, c: do("resolve", c.pk, w.staff, note="  "), "required"),
        (lambda w, c: do("request_info", c.pk, w.staff, question=""), "required"),
        (lambda w, c: do("merge", c.pk, w.staff, into=c.pk), "merge_into_self"),
    ],
)
def test_bad_input_changes_nothing(world, call, code):
    case = file_case(world)
    before = snapshot(case)
    with pytest.raises(InvalidInput) as err:
        call(world, case)
    assert err.value.code == code
    # The implicit claim that came before the bad input was rolled back with it.
    assert snapshot(case) == before


def test_bad_intake_creates_nothing(world):
    cases, events = Case.objects.count(), AuditEvent.objects.count()
    other_contacts = world.contact_ids(world.other_member)
    with pytest.raises(InvalidInput) as err:
        file(
            world.member.user,
            title="t",
            description="d",
            category=world.category.pk,
            contacts=other_contacts,
        )
    assert err.value.code == "invalid_contacts"
    with pytest.raises(InvalidInput):
        file(world.member.user, title="", description="d", category=world.category.pk)
    with pytest.raises(PermissionDenied):
        file(world.staff, title="t", description="d", category=world.category.pk)
    assert (Case.objects.count(), AuditEvent.objects.count()) == (cases, events)


def test_a_transition_that_fails_half_way_leaves_no_change_and_no_event(world, monkeypatch):
    case = file_case(world)
    before = snapshot(case)

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    # The decision is written and the flow has moved on, then keeping the clocks fails.
    monkeypatch.setattr(clocks, "follow", explode)
    with pytest.raises(RuntimeError):
        do("accept", case.pk, world.staff)
    assert snapshot(case) == before
    case.refresh_from_db()
    assert case.status == CaseStatus.REVIEW
