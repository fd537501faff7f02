"""The pages' forms are as safe to send twice, and as safe to send late, as the API's requests:
a concern sent twice is filed once; a decision drawn from a case or an output that has changed
since is refused and changes nothing.

Before: two identical posts of the filing form made two cases, and a form drawn before a
colleague's edit overwrote it."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.test import Client

from casework.models import AuditEvent, Case
from tests.helpers import do, do_output
from tests.web.test_pages import file_case, intake, logged_in, page


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden {name}"
    return found.group(1)


def test_the_filing_form_sent_twice_files_one_concern(world):
    member = logged_in(world.member.user)
    once = _hidden(page(member.get("/cases/new/")), "once")
    first = member.post("/cases/new/", intake(world) | {"once": once})
    again = member.post("/cases/new/", intake(world) | {"once": once})
    case = Case.objects.get(title="小区路灯不亮")  # exactly one
    assert first["Location"] == again["Location"] == f"/cases/{case.pk}/"
    assert "已经提交过" in page(member.get(again["Location"]))
    # Each drawing of the form is a new key: filing the same words again on purpose is allowed.
    other = _hidden(page(member.get("/cases/new/")), "once")
    assert other != once
    member.post("/cases/new/", intake(world) | {"once": other})
    assert Case.objects.filter(title="小区路灯不亮").count() == 2


def test_a_refused_filing_keeps_its_key_so_the_corrected_form_files_once(world):
    member = logged_in(world.member.user)
    once = _hidden(page(member.get("/cases/new/")), "once")
    refused = member.post("/cases/new/", intake(world) | {"once": once, "title": ""})
    assert refused.status_code == 200 and _hidden(page(refused), "once") == once
    member.post("/cases/new/", intake(world) | {"once": once})
    member.post("/cases/new/", intake(world) | {"once": once})
    assert Case.objects.filter(title="小区路灯不亮").count() == 1


def test_another_users_key_is_theirs(world):
    once = "0" * 32
    logged_in(world.member.user).post("/cases/new/", intake(world) | {"once": once})
    logged_in(world.other_member.user).post("/cases/new/", intake(world) | {"once": once} | {"contacts": []})
    assert Case.objects.filter(title="小区路灯不亮").count() == 2


def test_a_decision_drawn_before_the_case_changed_is_refused_and_changes_nothing(world):
    case = file_case(world)
    staff = logged_in(world.staff)
    seen = _hidden(page(staff.get(f"/cases/{case.pk}/")), "seen")
    do("claim", case.pk, world.staff2)  # a colleague claims it meanwhile
    do("release", case.pk, world.staff2)  # and lets it go: the status is as it was
    events = AuditEvent.objects.filter(stream=f"case:{case.pk}").count()
    answer = staff.post(f"/cases/{case.pk}/do/accept/", {"seen": seen, "accept-note": "受理"})
    assert answer.status_code == 302
    assert "已有新的变动" in page(staff.get(answer["Location"]))
    case.refresh_from_db()
    assert case.status == "review" and AuditEvent.objects.filter(stream=f"case:{case.pk}").count() == events
    # Drawn afresh, it goes through.
    seen = _hidden(page(staff.get(f"/cases/{case.pk}/")), "seen")
    staff.post(f"/cases/{case.pk}/do/accept/", {"seen": seen, "accept-note": "受理"})
    case.refresh_from_db()
    assert case.status == "conversion"


def test_an_output_form_drawn_before_the_output_changed_is_refused(world):
    case = file_case(world)
    do("accept", case.pk, world.staff)
    do("convert", case.pk, world.staff, output_type="info_report", title="关于路灯的社情民意")
    case.refresh_from_db()
    url = f"/outputs/{case.output_id}/"
    staff = logged_in(world.staff)
    seen = _hidden(page(staff.get(url)), "seen")
    do_output("edit", case.output_id, world.staff2, analysis="同事写的分析", suggestion="建议")
    staff.post(f"{url}do/edit/", {"seen": seen, "edit-analysis": "我的旧稿"})
    from casework.models import Output

    assert Output.objects.get(pk=case.output_id).analysis == "同事写的分析"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_filing_form_sent_at_once_from_six_connections_files_one_concern(world):
    once = "a" * 32
    answers: list[int] = []

    def send() -> None:
        try:
            client = Client()
            client.force_login(world.member.user)
            answers.append(client.post("/cases/new/", intake(world) | {"once": once}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [302] * 6
    assert Case.objects.filter(title="小区路灯不亮").count() == 1
