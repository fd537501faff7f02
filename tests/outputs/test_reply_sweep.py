"""The reply sweep marks a department's reply nearly due and overdue once each, telling its
liaisons, the proposal office and, when overdue, a key proposal's supervising leader; an
approved extension clears the marks against the new deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.models import Assignment, Notification
from casework.services import deadlines
from casework.services.reply_sweep import sweep_replies
from tests.outputs.proposal_world import make_proposal_world
from workflows import output_actions
from workflows.tasks import sla_sweep_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(world):
    pw = make_proposal_world(world)
    output = pw.output
    for signer in output.signers.all():
        output_actions.perform("signature", "confirm", record_id=signer.pk, actor=signer.user)
    output_actions.perform("output", "edit", record_id=output.pk, actor=world.staff, data={"suggestion": "建议"})
    output_actions.perform("output", "submit", record_id=output.pk, actor=world.staff)
    output_actions.perform(
        "output", "file", record_id=output.pk, actor=pw.office, data={"key": True, "supervisor": world.leader.pk}
    )
    output_actions.perform(
        "output", "assign", record_id=output.pk, actor=pw.office, data={"handling": "joint", "lead": pw.lead.pk}
    )
    return pw, Assignment.objects.get(output=output)


def told(user):
    return list(Notification.objects.filter(recipient=user).values_list("title", flat=True))


def test_nearly_due_then_overdue_each_told_once(assigned):
    pw, a = assigned
    cal = deadlines.LenientCalendar()
    assert a.warn_at == deadlines.back_working_days(cal, a.due_at, 10)
    assert sweep_replies(a.warn_at - timedelta(seconds=1))["replies_warned"] == 0
    figures = sweep_replies(a.warn_at)
    assert figures["replies_warned"] == 1 and figures["replies_overdue"] == 0
    assert sweep_replies(a.warn_at)["replies_warned"] == 0
    assert any("即将到期" in t for t in told(pw.lead_liaison)) and any("即将到期" in t for t in told(pw.office))
    assert not any("超期" in t for t in told(pw.world.leader))

    figures = sweep_replies(a.due_at)
    assert figures["replies_overdue"] == 1
    assert sweep_replies(a.due_at + timedelta(days=3))["replies_overdue"] == 0
    for user in (pw.lead_liaison, pw.office, pw.world.leader):
        assert sum("已超期" in t for t in told(user)) == 1
    # The co-handling department, not assigned, hears nothing.
    assert told(pw.co_liaison) == []


def test_an_overdue_assignment_found_late_is_not_first_told_it_is_nearly_due(assigned):
    pw, a = assigned
    figures = sweep_replies(a.due_at + timedelta(days=1))
    assert (figures["replies_overdue"], figures["replies_warned"]) == (1, 0)
    assert not any("即将到期" in t for t in told(pw.lead_liaison))


def test_an_approved_extension_is_swept_against_its_new_deadline(assigned):
    pw, a = assigned
    sweep_replies(a.due_at)
    until = deadlines.last_day(a.due_at) + timedelta(days=20)
    output_actions.perform(
        "assignment",
        "request_extension",
        record_id=a.pk,
        actor=pw.lead_liaison,
        data={"until": until.isoformat(), "reason": "需要调研"},
    )
    output_actions.perform("assignment", "decide_extension", record_id=a.pk, actor=pw.office, data={"approve": True})
    a.refresh_from_db()
    assert (a.breached_at, a.warned_at) == (None, None) and deadlines.last_day(a.due_at) == until
    assert sweep_replies(a.due_at)["replies_overdue"] == 1


def test_a_replied_assignment_is_never_swept(assigned):
    pw, a = assigned
    output_actions.perform(
        "assignment", "reply", record_id=a.pk, actor=pw.lead_liaison, data={"reply_class": "A", "text": "已办"}
    )
    assert sweep_replies(a.due_at + timedelta(days=1)) == {
        "replies_overdue": 0,
        "replies_warned": 0,
        "notifications": 0,
    }


def test_the_beat_task_runs_the_reply_sweep(assigned):
    _pw, a = assigned
    Assignment.objects.filter(pk=a.pk).update(due_at=a.assigned_at, warn_at=a.assigned_at)
    assert sla_sweep_task()["replies_overdue"] == 1
