"""Denied and failing transitions: a clear error, and nothing changed, nothing queued."""

from __future__ import annotations

import pytest

from casework.choices import CaseStatus
from casework.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from casework.models import AuditEvent, Case
from casework.services import clocks
from tests.helpers import snapshot
from tests.workflows.test_case_flow import file_case
from workflows import actions


def test_a_claimed_task_cannot_be_claimed_or_decided_by_another(world):
    case = file_case(world)
    actions.case_claim(case_id=case.pk, actor=world.staff)
    before = snapshot(case)
    with pytest.raises(Conflict) as err:
        actions.case_claim(case_id=case.pk, actor=world.staff2)
    assert err.value.code == "claimed_by_other" and "张干事" in str(err.value.message)
    with pytest.raises(Conflict):
        actions.case_accept(case_id=case.pk, actor=world.staff2)
    assert snapshot(case) == before


def test_a_member_cannot_decide_and_another_committee_cannot_see(world):
    case = file_case(world)
    before = snapshot(case)
    with pytest.raises(PermissionDenied):
        actions.case_accept(case_id=case.pk, actor=world.member.user)
    with pytest.raises(NotFound):
        actions.case_accept(case_id=case.pk, actor=world.other_staff)
    with pytest.raises(NotFound):
        actions.case_accept(case_id=case.pk, actor=world.outsider)
    with pytest.raises(NotFound):
        actions.case_update(case_id=case.pk, actor=world.other_member.user, changes={"title": "改"})
    assert snapshot(case) == before


def test_transition_in_the_wrong_status_is_refused(world):
    case = file_case(world)
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowed) as err:
        actions.case_convert(case_id=case.pk, actor=world.staff, output_type="proposal")
    assert "委办审核" in str(err.value.message)
    with pytest.raises(TransitionNotAllowed):
        actions.case_record_feedback(case_id=case.pk, actor=world.member.user, method="visit", satisfaction="satisfied")
    with pytest.raises(TransitionNotAllowed):
        actions.case_submit(case_id=case.pk, actor=world.member.user)
    with pytest.raises(TransitionNotAllowed):
        actions.case_send_back(case_id=case.pk, actor=world.staff, reason="x")
    assert snapshot(case) == before


def test_send_back_after_an_outcome_is_refused(world):
    case = file_case(world)
    actions.case_accept(case_id=case.pk, actor=world.staff)
    actions.case_convert(case_id=case.pk, actor=world.staff, output_type="speech")
    case.refresh_from_db()
    actions.output_record_outcome(output_id=case.output_id, actor=world.staff, outcome="已作口头发言")
    before = snapshot(case)
    with pytest.raises(TransitionNotAllowed):
        actions.case_send_back(case_id=case.pk, actor=world.staff, reason="x")
    assert snapshot(case) == before


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda w, c: actions.case_reject(case_id=c.pk, actor=w.staff, reason_id=999999), "invalid_reason"),
        (lambda w, c: actions.case_redirect(case_id=c.pk, actor=w.staff, channel="nowhere"), "invalid_channel"),
        (lambda w, c: actions.case_resolve(case_id=c.pk, actor=w.staff, note="  "), "required"),
        (lambda w, c: actions.case_request_info(case_id=c.pk, actor=w.staff, question=""), "required"),
        (lambda w, c: actions.case_merge(case_id=c.pk, actor=w.staff, into_id=c.pk), "merge_into_self"),
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
        actions.case_file(
            actor=world.member.user,
            title="t",
            description="d",
            category_id=world.category.pk,
            contact_ids=other_contacts,
        )
    assert err.value.code == "invalid_contacts"
    with pytest.raises(InvalidInput):
        actions.case_file(actor=world.member.user, title="", description="d", category_id=world.category.pk)
    with pytest.raises(PermissionDenied):
        actions.case_file(actor=world.staff, title="t", description="d", category_id=world.category.pk)
    assert (Case.objects.count(), AuditEvent.objects.count()) == (cases, events)


def test_a_transition_that_fails_half_way_leaves_no_change_and_no_event(world, monkeypatch):
    case = file_case(world)
    before = snapshot(case)

    def explode(**kwargs):
        raise RuntimeError("disk full")

    # The decision is written and audited, then opening the next stage's clock fails.
    monkeypatch.setattr(clocks, "clock_task_opened", explode)
    with pytest.raises(RuntimeError):
        actions.case_accept(case_id=case.pk, actor=world.staff)
    assert snapshot(case) == before
    case.refresh_from_db()
    assert case.status == CaseStatus.REVIEW
