"""A committee head's team page: who holds which tasks and how they stand, the unclaimed ones,
a reassign form on each, and the committee's figures for a range of days. Only the head finds it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from casework import selectors
from casework.choices import ClockState, Role, Stage
from casework.errors import NotFound
from casework.models import CaseClock
from tests.factories import make_user
from tests.helpers import do, open_task, snapshot
from tests.workflows.test_case_flow import file_case


@pytest.fixture
def head(world):
    user = make_user(world.org, Role.COMMITTEE_HEAD, "刘主任")
    world.committee.head = user
    world.committee.save(update_fields=["head"])
    return user


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _running(case) -> CaseClock:
    return CaseClock.objects.get(case=case, state=ClockState.RUNNING)


def _overdue(case) -> None:
    now = timezone.now()
    CaseClock.objects.filter(case=case, state=ClockState.RUNNING).update(
        due_at=now - timedelta(hours=1), warn_at=now - timedelta(days=1)
    )


def _nearly_due(case) -> None:
    now = timezone.now()
    CaseClock.objects.filter(case=case, state=ClockState.RUNNING).update(
        due_at=now + timedelta(days=1), warn_at=now - timedelta(hours=1)
    )


@pytest.fixture
def load(world, head):
    """张干事 holds three (one overdue, one nearly due, one in conversion), 陈干事 one, two wait
    unclaimed (one overdue); the other committee has a task of its own."""
    cases = {name: file_case(world, title=name) for name in ("甲", "乙", "丙", "丁", "戊", "己")}
    for name in ("甲", "乙"):
        do("claim", cases[name].pk, world.staff)
    do("accept", cases["丙"].pk, world.staff)
    do("claim", cases["丙"].pk, world.staff)
    do("claim", cases["丁"].pk, world.staff2)
    _overdue(cases["甲"])
    _nearly_due(cases["乙"])
    _overdue(cases["戊"])
    elsewhere = file_case(world, title="庚")
    do("transfer", elsewhere.pk, world.staff, committee=world.other_committee.pk)
    return cases


def test_the_team_counts_are_per_member_and_for_the_queue(world, head, load):
    team = selectors.team_page(head, world.committee.pk)
    by_user = {m["user"].pk: m for m in team["members"]}
    assert set(by_user) == {world.staff.pk, world.staff2.pk, head.pk}
    staff = by_user[world.staff.pk]
    assert (staff["held"], staff["overdue"], staff["warning"]) == (3, 1, 1)
    assert staff["oldest_case"] == load["甲"].pk
    assert staff["oldest_started"] == _running(load["甲"]).started_at
    assert [t.case_id for t in staff["tasks"]][0] == load["甲"].pk  # most urgent first
    assert {t.stage for t in staff["tasks"]} == {Stage.REVIEW, Stage.CONVERSION}
    other = by_user[world.staff2.pk]
    assert (other["held"], other["overdue"], other["warning"], other["oldest_case"]) == (1, 0, 0, load["丁"].pk)
    mine = by_user[head.pk]
    assert (mine["held"], mine["is_head"], mine["oldest_case"], mine["tasks"]) == (0, True, None, [])
    unclaimed = team["unclaimed"]
    assert (unclaimed["count"], unclaimed["overdue"], unclaimed["warning"]) == (2, 1, 0)
    assert [t.case_id for t in unclaimed["tasks"]] == [load["戊"].pk, load["己"].pk]
    assert [u.pk for u in team["assignable"]] == [world.staff.pk, world.staff2.pk, head.pk]


def test_the_counts_are_one_group_by_whatever_the_team(world, head, load, django_assert_max_num_queries):
    for i in range(5):
        world.committee.staff.add(make_user(world.org, Role.COMMITTEE_STAFF, f"新干事{i}"))
    head = type(head).objects.get(pk=head.pk)
    with django_assert_max_num_queries(8):
        selectors.team_page(head, world.committee.pk)


def test_a_former_member_who_still_holds_a_task_is_listed_and_cannot_be_given_more(world, head, load):
    world.committee.staff.remove(world.staff2)
    team = selectors.team_page(head, world.committee.pk)
    gone = next(m for m in team["members"] if m["user"].pk == world.staff2.pk)
    assert (gone["in_team"], gone["held"]) == (False, 1)
    assert world.staff2.pk not in [u.pk for u in team["assignable"]]


def test_only_the_head_finds_the_team(world, head):
    for user in (world.staff, world.staff2, world.member.user, world.leader, world.other_staff, world.outsider):
        with pytest.raises(NotFound):
            selectors.team_page(user, world.committee.pk)
    with pytest.raises(NotFound):
        selectors.team_page(head, world.other_committee.pk)


def test_the_figures_of_a_period(world, head):
    accepted, rejected, moved, waiting, undone = (file_case(world, title=t) for t in ("一", "二", "三", "四", "五"))
    do("accept", accepted.pk, world.staff)
    do("reject", rejected.pk, world.staff, reason=world.reason.pk)
    do("transfer", moved.pk, world.staff, committee=world.other_committee.pk)
    do("resolve", undone.pk, world.staff, note="已答复")
    do("send_back", undone.pk, world.staff, reason="误操作")  # sent back: reviewed again, received once
    today = timezone.localdate()
    figures = selectors.committee_figures(head, world.committee.pk, first=today - timedelta(days=29), last=today)
    assert figures["received"] == 5
    counts = {d["decision"]: d["count"] for d in figures["decisions"]}
    assert counts == {
        "accepted": 1,
        "rejected": 1,
        "resolved": 0,
        "redirected": 0,
        "merged": 0,
        "transferred": 1,
    }
    assert figures["decided"] == 3
    assert figures["median_days"] == 0.0
    stages = {r["stage"]: (r["met"], r["late"]) for r in figures["sla"]["rows"]}
    # Accepted, rejected and resolved in time (the resolution's verdict stands though it was sent
    # back); the transferred case's clock counts with the committee it is with now (`sla_report`).
    assert stages[Stage.REVIEW] == (3, 0)
    # The other committee received the transferred case; this one's figures for last year are empty.
    year_ago = today - timedelta(days=365)
    old = selectors.committee_figures(head, world.committee.pk, first=year_ago, last=year_ago + timedelta(days=5))
    assert (old["received"], old["decided"], old["median_days"]) == (0, 0, None)
    assert waiting.pk  # still in review: neither decided nor late


def test_the_head_sees_the_page_and_the_staff_do_not(world, head, load):
    page = _page(head).get(f"/team/{world.committee.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for name in ("张干事", "陈干事", "刘主任", "甲", "戊"):
        assert name in html
    assert f'action="/cases/{load["甲"].pk}/do/reassign/"' in html
    assert f'action="/cases/{load["戊"].pk}/do/reassign/"' in html
    assert "收到案件" in html
    for user in (world.staff, world.staff2, world.member.user, world.leader):
        assert _page(user).get(f"/team/{world.committee.pk}/").status_code == 404
    assert _page(head).get(f"/team/{world.other_committee.pk}/").status_code == 404
    assert _page(head).get("/team/987654321/").status_code == 404


def test_a_bad_period_is_said_and_the_default_shown(world, head):
    page = _page(head).get(f"/team/{world.committee.pk}/?first=2026-05-01&last=2026-04-01")
    assert page.status_code == 200
    assert "起始日期不能晚于截止日期" in page.content.decode()


def test_the_home_page_links_each_team_the_user_heads(world, head):
    world.other_committee.head = head
    world.other_committee.save(update_fields=["head"])
    html = _page(head).get("/").content.decode()
    assert f'href="/team/{world.committee.pk}/"' in html and f'href="/team/{world.other_committee.pk}/"' in html
    staff_home = _page(world.staff).get("/").content.decode()
    assert "/team/" not in staff_home


def test_reassigning_from_the_team_page_comes_back_to_it(world, head, load):
    team_url = f"/team/{world.committee.pk}/"
    client = _page(head)
    done = client.post(
        f"/cases/{load['甲'].pk}/do/reassign/", {"to": world.staff2.pk, "note": "请接办", "next": team_url}
    )
    assert done.status_code == 302 and done["Location"] == team_url
    assert open_task(load["甲"])["owner"] == world.staff2.pk
    assert "已改派" in client.get(team_url).content.decode()


def test_a_refused_reassignment_from_the_team_page_says_why_there(world, head, load):
    team_url = f"/team/{world.committee.pk}/"
    client = _page(head)
    before = snapshot(load["甲"])
    done = client.post(f"/cases/{load['甲'].pk}/do/reassign/", {"to": world.staff.pk, "next": team_url})
    assert done.status_code == 302 and done["Location"] == team_url
    assert snapshot(load["甲"]) == before
    assert "无需改派" in client.get(team_url).content.decode()
    # Somewhere off the site is not followed: the case page, as usual.
    away = client.post(f"/cases/{load['甲'].pk}/do/reassign/", {"to": world.staff2.pk, "next": "https://example.com/"})
    assert away["Location"] == f"/cases/{load['甲'].pk}/"


def test_the_staff_cannot_reassign_through_the_page(world, head, load):
    client = _page(world.staff2)  # signing in is audited too: before the snapshot
    before = snapshot(load["甲"])
    done = client.post(
        f"/cases/{load['甲'].pk}/do/reassign/", {"to": world.staff2.pk, "next": f"/team/{world.committee.pk}/"}
    )
    assert done.status_code == 302
    assert snapshot(load["甲"]) == before
