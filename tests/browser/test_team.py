"""A committee head's team page, in a real Chromium: from their home page to the team, who holds
what and how it stands, and one task handed from one member of the team to another."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casework.choices import AuditAction, ClockState, NotificationKind, Role
from casework.models import AuditEvent, Case, CaseClock, Notification
from tests.factories import make_user
from tests.helpers import do, file, open_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def file_case(world, title: str) -> Case:
    return file(
        world.member.user,
        title=title,
        description="放学时段车辆排队",
        category=world.category.pk,
        township=world.township.pk,
        contacts=world.contact_ids(),
    )


@pytest.fixture
def head(world):
    user = make_user(world.org, Role.COMMITTEE_HEAD, "刘主任")
    world.committee.head = user
    world.committee.save(update_fields=["head"])
    return user


def test_the_head_opens_the_team_page_and_reassigns_a_task(browse, world, head):
    late, calm, waiting = (file_case(world, t) for t in ("积水严重", "路灯不亮", "井盖松动"))
    do("claim", late.pk, world.staff)
    do("claim", calm.pk, world.staff)
    CaseClock.objects.filter(case=late, state=ClockState.RUNNING).update(
        due_at=timezone.now() - timedelta(days=2), warn_at=timezone.now() - timedelta(days=4)
    )
    desk = browse(head, "desk", "head")
    page = desk.page

    desk.click(page.get_by_role("link", name=f"{world.committee.name} · 团队"))
    assert desk.path() == f"/team/{world.committee.pk}/"
    table = page.locator("table.team-table")
    staff_row = table.locator("tr", has=page.get_by_role("rowheader", name="张干事"))
    assert [c.inner_text() for c in staff_row.locator("td.num").all()] == ["2", "1", "0"]
    assert f"#{late.pk}" in staff_row.locator("td").last.inner_text()  # the oldest, linked
    unclaimed = table.locator("tr.unclaimed-row")
    assert unclaimed.locator("td.num").first.inner_text() == "1"
    assert page.locator("#unclaimed .case-row", has_text="井盖松动").count() == 1
    assert page.get_by_role("heading", name="本委办统计").count() == 1

    # 张干事's overdue task goes to 陈干事, with a word for them.
    section = page.locator(f"#member-{world.staff.pk}")
    row = section.locator(".case-row", has_text="积水严重")
    form = row.locator("form.reassign-form")
    options = form.locator("select option").all_inner_texts()
    assert "陈干事" in options and "刘主任" in options and "张干事" not in options  # not to whoever holds it
    form.locator("select").select_option(label="陈干事")
    form.locator("input[name=note]").fill("张干事出差，请接办")
    desk.click(form.get_by_role("button", name="改派"))

    assert desk.path() == f"/team/{world.committee.pk}/"
    assert page.get_by_role("status").inner_text() == "已改派。"
    assert page.locator(f"#member-{world.staff2.pk} .case-row", has_text="积水严重").count() == 1
    assert page.locator(f"#member-{world.staff.pk} .case-row", has_text="积水严重").count() == 0
    assert open_task(late)["owner"] == world.staff2.pk
    assert CaseClock.objects.get(case=late, state=ClockState.RUNNING).assignee_id == world.staff2.pk
    event = AuditEvent.objects.filter(stream=f"case:{late.pk}").order_by("-seq").first()
    assert (event.action, event.actor_id, event.changes["from"], event.changes["to"]) == (
        AuditAction.CASE_REASSIGNED,
        head.pk,
        world.staff.pk,
        world.staff2.pk,
    )
    assert Notification.objects.filter(recipient=world.staff2, kind=NotificationKind.CASE_ASSIGNED).count() == 1

    # The figures for another range of days, from the same page.
    page.get_by_label("起始日期").fill((timezone.localdate() - timedelta(days=6)).isoformat())
    desk.click(page.get_by_role("button", name="统计"))
    assert desk.path() == f"/team/{world.committee.pk}/"
    assert "收到案件" in page.locator("table.figures-table").inner_text()
    assert waiting.pk


def test_the_team_page_fits_a_phone(browse, world, head):
    do("claim", file_case(world, "路灯不亮").pk, world.staff)
    file_case(world, "井盖松动")
    phone = browse(head, "phone", "head")
    phone.goto(f"/team/{world.committee.pk}/")
    assert phone.fits(), "the team page scrolls sideways on a 360 px phone"
