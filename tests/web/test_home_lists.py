"""The home page's case list: fifty a page, older pages reached by a keyset cursor (the id of the
last row shown), filtered by status, time limit and text, the filters kept from page to page."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from casework.choices import Stage
from casework.models import Case, CaseClock, User
from tests.factories import World
from tests.helpers import do, file, today
from web.views import HOME_PAGE_ROWS

ROW = 'class="case-row'


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def file_case(world: World, title: str, *, submit: bool = True) -> Case:
    return file(
        world.member.user,
        submit=submit,
        title=title,
        description="放学时段车辆排队",
        category=world.category.pk,
        township=world.township.pk,
        contacts=world.contact_ids(),
    )


def file_many(world: World, count: int, prefix: str = "案件") -> list[Case]:
    return [file_case(world, f"{prefix}{n:02d}") for n in range(1, count + 1)]


def get(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def older_link(html: str) -> str | None:
    found = re.search(r'href="(/\?[^"]*)" rel="next"', html)
    return htmllib.unescape(found.group(1)) if found else None


def test_the_51st_case_is_reachable_by_following_the_older_link(world):
    cases = file_many(world, HOME_PAGE_ROWS + 1)
    client = logged_in(world.member.user)

    first = get(client, "/")
    assert first.count(ROW) == HOME_PAGE_ROWS
    assert "案件51" in first and "案件02" in first and "案件01" not in first
    link = older_link(first)
    assert link == f"/?before={cases[1].pk}"

    second = get(client, link)
    assert second.count(ROW) == 1
    assert "案件01" in second and "案件02" not in second
    assert older_link(second) is None  # the last page says so by having no older link


def test_a_page_that_is_not_full_has_no_older_link(world):
    file_many(world, 3)

    html = get(logged_in(world.member.user), "/")

    assert html.count(ROW) == 3
    assert older_link(html) is None
    assert "更早的案件" not in html


def test_the_status_filter_selects_exactly(world):
    asked = file_case(world, "需补充的案件")
    file_case(world, "审核中的案件")
    do("request_info", asked.pk, world.staff, question="请补充照片")
    client = logged_in(world.leader)

    needs_info = get(client, "/?status=needs_info")
    review = get(client, "/?status=review")

    assert "需补充的案件" in needs_info and "审核中的案件" not in needs_info
    assert "审核中的案件" in review and "需补充的案件" not in review
    assert '<option value="review" selected>' in review  # the form shows what is applied


def test_the_sla_filter_selects_exactly(world):
    late, near, calm = file_case(world, "已超期的"), file_case(world, "快到期的"), file_case(world, "不急的")
    now = timezone.now()
    CaseClock.objects.filter(case=late, stage=Stage.REVIEW).update(
        warn_at=now - timedelta(days=2), due_at=now - timedelta(hours=1)
    )
    CaseClock.objects.filter(case=near, stage=Stage.REVIEW).update(
        warn_at=now - timedelta(hours=1), due_at=now + timedelta(days=1)
    )
    CaseClock.objects.filter(case=calm, stage=Stage.REVIEW).update(
        warn_at=now + timedelta(days=1), due_at=now + timedelta(days=2)
    )
    client = logged_in(world.staff)

    breached = get(client, "/?sla=breached")
    warning = get(client, "/?sla=warning")

    other = "本委办民情案件"
    assert [t for t in ("已超期的", "快到期的", "不急的") if t in breached.split(other, 1)[1]] == ["已超期的"]
    assert [t for t in ("已超期的", "快到期的", "不急的") if t in warning.split(other, 1)[1]] == ["快到期的"]


def test_an_unknown_filter_value_shows_the_unfiltered_list(world):
    file_case(world, "甲案")
    file_case(world, "乙案")
    client = logged_in(world.leader)

    for query in ("status=bogus", "sla=soon", "before=abc", "before=99999999999999999999999", "status=&sla="):
        html = get(client, f"/?{query}")
        assert "甲案" in html and "乙案" in html, query
        assert "没有符合条件的案件" not in html


def test_the_filter_survives_paging(world):
    cases = file_many(world, HOME_PAGE_ROWS + 1)
    asked = file_case(world, "需补充的案件")
    do("request_info", asked.pk, world.staff, question="请补充照片")
    client = logged_in(world.leader)

    first = get(client, "/?status=review")
    assert first.count(ROW) == HOME_PAGE_ROWS and "需补充的案件" not in first
    link = older_link(first)
    assert link == f"/?status=review&before={cases[1].pk}"

    second = get(client, link)
    assert second.count(ROW) == 1 and "案件01" in second and "需补充的案件" not in second
    assert '<option value="review" selected>' in second


def test_search_finds_titles_and_descriptions_whatever_the_case(world):
    file_case(world, "Street Lamp 不亮")
    file_case(world, "校门口拥堵")
    client = logged_in(world.leader)

    by_title = get(client, "/?q=street+lamp")
    by_description = get(client, "/?q=车辆排队")
    nothing = get(client, "/?q=没有这件事")

    assert "Street Lamp 不亮" in by_title and "校门口拥堵" not in by_title
    assert "Street Lamp 不亮" in by_description and "校门口拥堵" in by_description
    assert nothing.count(ROW) == 0 and "没有符合条件的案件" in nothing


def test_a_search_with_a_control_character_is_refused_and_searches_nothing(world):
    file_case(world, "甲案")
    file_case(world, "乙案")

    html = get(logged_in(world.leader), "/?q=%E7%94%B2%E2%80%AE")

    assert "不可见的字符或控制字符" in html and "U+202E" in html
    assert "甲案" in html and "乙案" in html  # unfiltered


def test_what_waits_on_the_member_stays_first_and_unfiltered(world):
    asked = file_case(world, "需补充的案件")
    do("request_info", asked.pk, world.staff, question="请补充照片")
    file_case(world, "审核中的案件")

    html = get(logged_in(world.member.user), "/?status=review&q=审核")

    waiting, rest = html.split("我的民情", 1)
    assert "等您处理" in waiting and "需补充的案件" in waiting
    assert "审核中的案件" in rest and "需补充的案件" not in rest


def test_the_queries_per_page_stay_constant(world):
    file_many(world, 3, "少")
    asked = file_case(world, "需补充的案件")
    do("request_info", asked.pk, world.staff, question="请补充照片")

    def count(user: User, url: str) -> int:
        client = logged_in(user)
        client.get(url)  # the session and caches warmed
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = {
        who: count(user, "/?status=review") for who, user in (("member", world.member.user), ("leader", world.leader))
    }
    cases = file_many(world, HOME_PAGE_ROWS + 10)
    many = {
        who: count(user, "/?status=review") for who, user in (("member", world.member.user), ("leader", world.leader))
    }
    older = {
        who: count(user, f"/?status=review&before={cases[20].pk}")
        for who, user in (("member", world.member.user), ("leader", world.leader))
    }

    assert few == many == older


def test_the_filter_and_the_older_link_speak_english(world):
    file_many(world, HOME_PAGE_ROWS + 1)
    client = logged_in(world.member.user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    html = get(client, "/?status=review")

    assert "Search titles and descriptions" in html and "All statuses" in html and "Clear filters" in html
    assert "Older cases" in html and "更早的案件" not in html


def _in_feedback(world: World, title: str) -> Case:
    case = file_case(world, title)
    do("resolve", case.pk, world.staff, note="已协调解决")
    return case


def _feedback_clock(case: Case, *, warn_at, due_at) -> None:
    CaseClock.objects.filter(case=case, stage=Stage.FEEDBACK).update(warn_at=warn_at, due_at=due_at)


def test_overdue_feedback_comes_first_on_the_members_list_and_is_marked(world):
    now = timezone.now()
    late = _in_feedback(world, "反馈已超期的")
    near = _in_feedback(world, "反馈快到期的")
    calm = _in_feedback(world, "反馈不急的")
    asked = file_case(world, "需补充的案件")
    do("request_info", asked.pk, world.staff, question="请补充照片")
    _feedback_clock(late, warn_at=now - timedelta(days=3), due_at=now - timedelta(hours=2))
    _feedback_clock(near, warn_at=now - timedelta(hours=2), due_at=now + timedelta(days=2))
    _feedback_clock(calm, warn_at=now + timedelta(days=5), due_at=now + timedelta(days=9))

    html = get(logged_in(world.member.user), "/")

    waiting = html.split("我的民情", 1)[0]
    rows = waiting.split(ROW)[1:]
    titles = [next(t for t in ("反馈已超期的", "反馈快到期的", "反馈不急的", "需补充的案件") if t in r) for r in rows]
    # The committee's question first (it holds the case up), then the feedback: the overdue
    # one first, then the nearly due, then the rest newest first.
    assert titles == ["需补充的案件", "反馈已超期的", "反馈快到期的", "反馈不急的"]
    assert rows[1].startswith(' overdue"') and "反馈已超期" in rows[1].split("case-title")[0]
    assert rows[2].startswith(' due-soon"') and "反馈即将超期" in rows[2].split("case-title")[0]
    assert all("sla-mark" not in r for r in (rows[0], rows[3]))


def test_feedback_told_closes_it_and_the_mark_goes(world):
    now = timezone.now()
    late = _in_feedback(world, "反馈已超期的")
    _feedback_clock(late, warn_at=now - timedelta(days=3), due_at=now - timedelta(hours=2))
    client = logged_in(world.member.user)
    assert "反馈已超期" in get(client, "/").split("我的民情", 1)[0]

    do("feedback", late.pk, world.member.user, told_on=today(), method="visit", satisfaction="satisfied")

    html = get(client, "/")
    assert "等您处理" not in html and "sla-mark" not in html
