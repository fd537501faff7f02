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


def test_an_account_made_in_the_admin_gets_a_password_and_it_can_be_reset(world, client):
    """The user form left the password out: an account made in the admin had none to sign in
    with, and nobody could set one from the admin."""
    from django.test import Client

    from casework.models import User

    world.staff.is_staff = world.staff.is_superuser = True
    world.staff.save()
    client.force_login(world.staff)
    form = client.get("/admin/casework/user/add/").content.decode()
    assert 'name="password1"' in form and 'name="password2"' in form
    new = {"username": "liu_ganshi", "display_name": "刘干事", "organisation": world.org.pk, "usable_password": "true"}
    weak = client.post("/admin/casework/user/add/", {**new, "password1": "12345678", "password2": "12345678"})
    assert weak.status_code == 200 and not User.objects.filter(username="liu_ganshi").exists()
    made = client.post(
        "/admin/casework/user/add/", {**new, "password1": "Qiu-Feng-2026!", "password2": "Qiu-Feng-2026!"}
    )
    assert made.status_code == 302, made.content.decode()[:3000]
    user = User.objects.get(username="liu_ganshi")
    assert (user.display_name, user.organisation_id) == ("刘干事", world.org.pk)
    assert user.check_password("Qiu-Feng-2026!")
    assert Client().login(username="liu_ganshi", password="Qiu-Feng-2026!")

    page = client.get(f"/admin/casework/user/{user.pk}/change/").content.decode()
    assert "../password/" in page and user.password not in page  # a link to reset it, not the hash
    reset = client.post(
        f"/admin/casework/user/{user.pk}/password/",
        {"usable_password": "true", "password1": "Chun-Yu-2027!", "password2": "Chun-Yu-2027!"},
    )
    assert reset.status_code == 302, reset.content.decode()[:3000]
    user.refresh_from_db()
    assert user.check_password("Chun-Yu-2027!") and not user.check_password("Qiu-Feng-2026!")

    hidden = client.post(
        "/admin/casework/user/add/",
        {
            **new,
            "username": "x2",
            "display_name": "刘\u202e干事",
            "password1": "Qiu-Feng-2026!",
            "password2": "Qiu-Feng-2026!",
        },
    )
    assert hidden.status_code == 200 and "U+202E" in hidden.content.decode()
    assert not User.objects.filter(username="x2").exists()
