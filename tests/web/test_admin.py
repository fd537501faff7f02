"""The admin edits reference data; a case moves only through the workflow actions."""

from __future__ import annotations

from casework.choices import Stage
from casework.models import AuditEvent, CaseClock, ClockPolicy
from casework.services import deadlines
from tests.helpers import events, open_task
from tests.workflows.test_case_flow import file_case


def test_case_admin_is_read_only_and_its_claim_action_is_the_workflow_action(world, client):
    world.staff.is_staff = True
    world.staff.is_superuser = True
    world.staff.save()
    case = file_case(world)
    client.force_login(world.staff)
    assert client.get("/admin/casework/case/").status_code == 200
    page = client.get(f"/admin/casework/case/{case.pk}/change/")
    assert page.status_code == 200 and b'name="title"' not in page.content  # no editable field
    assert client.get("/admin/casework/auditevent/").status_code == 200
    assert client.post(f"/admin/casework/auditevent/{AuditEvent.objects.first().pk}/delete/").status_code == 403

    response = client.post("/admin/casework/case/", {"action": "do_claim", "_selected_action": [case.pk]})
    assert response.status_code == 302
    assert open_task(case)["owner"] == world.staff.pk
    assert events(case)[-1] == ("case.claimed", world.staff.pk)


def test_the_calendar_is_edited_in_the_admin(world, client):
    world.staff.is_staff = world.staff.is_superuser = True
    world.staff.save()
    client.force_login(world.staff)
    days = client.get("/admin/casework/calendarday/?day__year=2026")
    assert days.status_code == 200 and "春节调休" in days.content.decode()
    assert client.get("/admin/casework/calendaryear/").status_code == 200


def test_clock_policies_are_edited_in_the_admin_and_new_clocks_follow(world, client):
    world.staff.is_staff = world.staff.is_superuser = True
    world.staff.save()
    client.force_login(world.staff)
    default = ClockPolicy.objects.get(organisation=None, stage=Stage.REVIEW)
    assert client.get("/admin/casework/clockpolicy/").status_code == 200
    answer = client.post(
        f"/admin/casework/clockpolicy/{default.pk}/change/",
        {
            "organisation": "",
            "stage": "review",
            "amount": "3",
            "unit": "working_days",
            "warn_percent": "",
            "warn_days_before": "1",
            "escalate_head_after": "0",
            "escalate_leadership_after": "2",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    case = file_case(world)
    clock = CaseClock.objects.get(case=case)
    # Three working days from the day it opened; the admin's save cleared the cached policies.
    assert deadlines.working_days_left(deadlines.WorkCalendar(), clock.started_at, clock.due_at) == 3
    # Nonsense is refused and changes nothing.
    bad = client.post(
        f"/admin/casework/clockpolicy/{default.pk}/change/",
        {"stage": "review", "amount": "0", "unit": "working_days", "escalate_head_after": "0"},
    )
    assert bad.status_code == 200 and ClockPolicy.objects.get(pk=default.pk).amount == 3


def test_viewflow_processes_and_tasks_are_read_only_in_the_admin(world, client):
    """viewflow registered its process and task tables as editable: a superuser could change a
    task's owner or status, or delete a flow, beside the workflow and with no audit event."""
    from viewflow.workflow.models import Process, Task

    world.staff.is_staff = world.staff.is_superuser = True
    world.staff.save()
    case = file_case(world)
    client.force_login(world.staff)
    task = Task.objects.filter(process__caseprocess__case=case).order_by("-id").first()
    process = task.process
    before = (task.status, task.owner_id, Process.objects.count(), Task.objects.count())
    for model, row in (("process", process), ("task", task)):
        assert client.get(f"/admin/viewflow/{model}/").status_code == 200
        assert client.get(f"/admin/viewflow/{model}/{row.pk}/change/").status_code == 200  # to read
        assert client.get(f"/admin/viewflow/{model}/add/").status_code == 403
        assert client.post(f"/admin/viewflow/{model}/add/", {"status": "NEW"}).status_code == 403
        changed = client.post(f"/admin/viewflow/{model}/{row.pk}/change/", {"status": "DONE", "owner": world.staff.pk})
        assert changed.status_code == 403
        assert client.post(f"/admin/viewflow/{model}/{row.pk}/delete/", {"post": "yes"}).status_code == 403
        bulk = client.post(
            f"/admin/viewflow/{model}/", {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
        )
        assert bulk.status_code in (200, 302, 403)
    task.refresh_from_db()
    assert (task.status, task.owner_id, Process.objects.count(), Task.objects.count()) == before
    assert events(case)[-1][0] == "case.submitted"
