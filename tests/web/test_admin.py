"""The admin edits reference data; a case moves only through the workflow actions."""

from __future__ import annotations

from casework.models import AuditEvent
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
