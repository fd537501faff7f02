"""The queue page as a staff member clearing a queue uses it: filters, next-page links, ticking
rows and claiming them together (all or nothing), the export, and the tasks they hold."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from io import BytesIO

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from casework.choices import AuditAction, Urgency
from casework.models import AuditEvent, CaseCategory, CaseClock
from tests.helpers import do, events, file, open_task, snapshot
from tests.web.test_pages import logged_in, page
from web import views
from workflows import actions


def filed(world, title, *, category=None, urgency="normal"):
    return file(
        world.member.user,
        title=title,
        description="放学时段车辆排队",
        category=(category or world.category).pk,
        township=world.township.pk,
        urgency=urgency,
    )


def queue_url(world, query=""):
    return f"/queues/{world.committee.pk}/" + (f"?{query}" if query else "")


def listed(html):
    """The case ids of the rows of a queue page, in order."""
    return [int(n) for n in re.findall(r'<a href="/cases/(\d+)/">', html)]


def next_link(html):
    found = re.search(r'<a href="([^"]+)" rel="next">', html)
    return unescape(found.group(1)) if found else None


def test_filters_narrow_the_page_and_a_bad_search_is_reported(world):
    roads = CaseCategory.objects.create(organisation=world.org, name="市政设施", committee=world.committee)
    lamp = filed(world, "路灯不亮", category=roads)
    flood = filed(world, "积水严重", urgency=Urgency.URGENT)
    school = filed(world, "校门口接送拥堵")
    staff = logged_in(world.staff)

    html = page(staff.get(queue_url(world)))
    assert set(listed(html)) == {lamp.pk, flood.pk, school.pk}
    # Each control is labelled.
    for name in ("claimed", "stage", "category", "township", "urgency", "sla", "q"):
        assert f'<label for="queue-{name}">' in html and f'id="queue-{name}"' in html
    assert listed(page(staff.get(queue_url(world, f"category={roads.pk}")))) == [lamp.pk]
    assert listed(page(staff.get(queue_url(world, "urgency=urgent")))) == [flood.pk]
    assert listed(page(staff.get(queue_url(world, "q=接送")))) == [school.pk]
    # Unknown values are ignored: the whole queue shows.
    assert set(listed(page(staff.get(queue_url(world, "stage=nonsense&category=abc&claimed=x"))))) == {
        lamp.pk,
        flood.pk,
        school.pk,
    }
    # A search text that cannot be read searches nothing and says why.
    response = staff.get(queue_url(world, "q=" + "长" * 500))
    assert response.status_code == 200 and "查找内容过长" in page(response)
    # Claimed tasks leave the default view and show under "mine".
    do("claim", lamp.pk, world.staff)
    assert lamp.pk not in listed(page(staff.get(queue_url(world))))
    mine = page(staff.get(queue_url(world, "claimed=mine")))
    assert listed(mine) == [lamp.pk] and 'name="case"' not in mine  # nothing there to tick


def test_the_51st_and_101st_tasks_are_reached_by_following_the_links(world):
    cases = [filed(world, f"案件{i:03d}") for i in range(103)]
    now = timezone.now()
    for i, case in enumerate(cases):
        # Many share a due time (deadlines end at 24:00); two have none and come last.
        due = None if i in (7, 60) else now + timedelta(days=1 + i % 4)
        CaseClock.objects.filter(case=case).update(due_at=due)
    expected = list(
        CaseClock.objects.filter(queue=world.committee).order_by("due_at", "id").values_list("case_id", flat=True)
    )
    expected = [c for c in expected if c not in (cases[7].pk, cases[60].pk)] + [cases[7].pk, cases[60].pk]
    staff = logged_in(world.staff)

    seen, url, pages = [], queue_url(world), 0
    while url:
        response = staff.get(url)
        assert response.status_code == 200
        html = page(response)
        assert len(listed(html)) <= views.QUEUE_PAGE_ROWS
        seen += listed(html)
        url, pages = next_link(html), pages + 1
    assert pages == 3 and seen == expected
    assert seen[50] == expected[50] and seen[100] == expected[100]
    # A filter is kept across the pages.
    second = next_link(page(staff.get(queue_url(world, "q=案件"))))
    assert second is not None and "q=" in second and "after=" in second


def test_a_bulk_claim_claims_each_as_a_single_claim_does(world):
    a, b, c = (filed(world, t) for t in ("甲", "乙", "丙"))
    staff = logged_in(world.staff)
    back = queue_url(world, "q=%E7%94%B2")  # 甲
    response = staff.post(f"/queues/{world.committee.pk}/claim/", {"case": [a.pk, c.pk], "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert "已认领 2 件" in page(staff.get(back))
    for case in (a, c):
        assert open_task(case)["owner"] == world.staff.pk
        assert events(case)[-1] == (AuditAction.CASE_CLAIMED, world.staff.pk)
        assert CaseClock.objects.get(case=case, state="running").assignee_id == world.staff.pk
    assert open_task(b)["owner"] is None


def test_a_bulk_claim_is_all_or_nothing_and_says_which_and_why(world):
    a, b, c = (filed(world, t) for t in ("甲件", "乙件", "丙件"))
    do("claim", b.pk, world.staff2)
    staff = logged_in(world.staff)  # signing in is audited: before the snapshot
    before = [snapshot(case) for case in (a, b, c)]
    response = staff.post(f"/queues/{world.committee.pk}/claim/", {"case": [a.pk, b.pk, c.pk]}, follow=True)
    html = page(response)
    assert "未认领任何案件" in html and f"#{b.pk} 乙件" in html and "陈干事" in html
    assert f"#{a.pk} 甲件" not in html
    assert [snapshot(case) for case in (a, b, c)] == before

    # A case of another committee's queue is refused the same way, naming it.
    elsewhere = CaseCategory.objects.create(organisation=world.org, name="产业发展", committee=world.other_committee)
    other = filed(world, "别处", category=elsewhere)
    html = page(staff.post(f"/queues/{world.committee.pk}/claim/", {"case": [a.pk, other.pk]}, follow=True))
    assert "不在本队列中" in html and open_task(a)["owner"] is None


def test_a_bulk_claim_is_capped_and_needs_a_choice(world):
    a = filed(world, "甲")
    staff = logged_in(world.staff)
    too_many = list(range(a.pk, a.pk + actions.BULK_CLAIM_MAX + 1))
    html = page(staff.post(f"/queues/{world.committee.pk}/claim/", {"case": too_many}, follow=True))
    assert f"一次最多认领 {actions.BULK_CLAIM_MAX} 件" in html and open_task(a)["owner"] is None
    html = page(staff.post(f"/queues/{world.committee.pk}/claim/", {}, follow=True))
    assert "请先勾选要认领的案件" in html
    # Another committee's staff cannot claim through this queue.
    other = logged_in(world.other_staff)
    assert other.post(f"/queues/{world.committee.pk}/claim/", {"case": [a.pk]}).status_code == 404
    assert open_task(a)["owner"] is None


def sheet(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(response.content))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def test_the_filtered_queue_exports_and_says_when_cut_short(world, monkeypatch):
    roads = CaseCategory.objects.create(organisation=world.org, name="市政设施", committee=world.committee)
    lamp = filed(world, "路灯不亮", category=roads)
    filed(world, "校门口接送拥堵")
    filed(world, "路面破损", category=roads)
    staff = logged_in(world.staff)

    rows = sheet(staff.get(f"/queues/{world.committee.pk}/export.xlsx?category={roads.pk}"))
    assert "待认领，类别：市政设施" in rows[0][0]
    assert rows[1][:2] == ["编号", "标题"]
    assert sorted(r[1] for r in rows[2:]) == ["路灯不亮", "路面破损"]
    assert lamp.pk in [r[0] for r in rows[2:]]
    # The export is audited as every list's is: which list, its filter, how many rows.
    exported = AuditEvent.objects.filter(action="list.exported").latest("id")
    assert exported.actor_id == world.staff.pk and exported.changes["list"] == f"queue:{world.committee.pk}"
    assert exported.changes["filters"] == {"category": str(roads.pk)} and exported.changes["rows"] == 2

    monkeypatch.setattr("casework.selectors.QUEUE_EXPORT_MAX_ROWS", 1)
    rows = sheet(staff.get(f"/queues/{world.committee.pk}/export.xlsx"))
    assert len(rows) == 3 and "仅含最紧急的 1 条" in rows[0][0]
    assert logged_in(world.other_staff).get(f"/queues/{world.committee.pk}/export.xlsx").status_code == 404


def test_my_tasks_lists_orders_releases_and_exports(world):
    a, b = filed(world, "先提交"), filed(world, "后提交")
    now = timezone.now()
    CaseClock.objects.filter(case=a).update(due_at=now + timedelta(days=5))
    CaseClock.objects.filter(case=b).update(due_at=now + timedelta(days=2))
    do("claim", a.pk, world.staff)
    do("claim", b.pk, world.staff)
    do("claim", filed(world, "别人的").pk, world.staff2)
    staff = logged_in(world.staff)

    assert 'href="/tasks/"' in page(staff.get("/"))
    html = page(staff.get("/tasks/"))
    assert listed(html) == [b.pk, a.pk] and "别人的" not in html
    assert '<label for="tasks-order">' in html
    assert listed(page(staff.get("/tasks/?order=submitted"))) == [a.pk, b.pk]

    rows = sheet(staff.get("/tasks/export.xlsx"))
    assert [r[1] for r in rows[2:]] == ["后提交", "先提交"] and rows[2][-1] == "张干事"
    assert AuditEvent.objects.filter(action="list.exported").latest("id").changes["list"] == "my_tasks"

    response = staff.post(f"/tasks/{b.pk}/release/", {"next": "/tasks/?order=submitted"})
    assert response.status_code == 302 and response["Location"] == "/tasks/?order=submitted"
    assert open_task(b)["owner"] is None
    assert events(b)[-1] == (AuditAction.CASE_RELEASED, world.staff.pk)
    assert listed(page(staff.get("/tasks/"))) == [a.pk]
    # Releasing what one does not hold changes nothing and says so.
    count = AuditEvent.objects.count()
    html = page(staff.post(f"/tasks/{b.pk}/release/", follow=True))
    assert "只能放弃自己认领的任务" in html and AuditEvent.objects.count() == count
    # Not a page for those who work no queue.
    assert logged_in(world.member.user).get("/tasks/").status_code == 404


@pytest.mark.parametrize("size", [1, 2])
def test_my_tasks_pages_by_keyset(world, monkeypatch, size):
    monkeypatch.setattr(views, "MY_TASKS_PER_PAGE", size)
    cases = [filed(world, f"任务{i}") for i in range(3)]
    for case in cases:
        do("claim", case.pk, world.staff)
    staff = logged_in(world.staff)
    for order in ("due", "submitted"):
        seen, url = [], f"/tasks/?order={order}"
        while url:
            html = page(staff.get(url))
            seen += listed(html)
            url = next_link(html)
        assert sorted(seen) == sorted(c.pk for c in cases) and len(seen) == 3


def test_the_api_takes_the_same_filters(world, client_for):
    roads = CaseCategory.objects.create(organisation=world.org, name="市政设施", committee=world.committee)
    lamp = filed(world, "路灯不亮", category=roads)
    filed(world, "校门口接送拥堵")
    api = client_for(world.staff)
    url = f"/api/v1/queues/{world.committee.pk}/tasks/"
    body = api.get(url, {"category": roads.pk}).json()
    assert [r["case"]["id"] for r in body["results"]] == [lamp.pk] and body["results"][0]["owner"] is None
    assert [r["case"]["id"] for r in api.get(url, {"q": "路灯"}).json()["results"]] == [lamp.pk]
    do("claim", lamp.pk, world.staff)
    mine = api.get(url, {"claimed": "mine"}).json()["results"]
    assert [(r["case"]["id"], r["owner"]) for r in mine] == [(lamp.pk, world.staff.pk)]
    refused = api.get(url, {"stage": "feedback"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_stage"
    assert client_for(world.other_staff).get(url, {"stage": "feedback"}).status_code == 404
