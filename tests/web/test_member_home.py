"""The member's home: what waits on them first in the order it holds things up, their cases with
the clock and the next step in words, and their constituents with when each was last raised
(one query, whatever the roster); the filing form starts in the title and ticks the constituent
it was opened for."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from casework import selectors
from casework.models import Case, CaseCategory, Contact, RosterEntry
from tests.factories import make_member
from tests.helpers import do, file

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def filed_for(world, contacts: list[int], title: str, *, on: datetime | None = None, submit: bool = True) -> Case:
    case = file(
        world.member.user,
        submit=submit,
        title=title,
        description="放学时段车辆排队",
        category=world.category.pk,
        contacts=contacts,
    )
    if on is not None:
        Case.objects.filter(pk=case.pk).update(submitted_at=on)
    return case


def test_last_filed_is_the_latest_submitted_case_of_the_member_per_contact(world):
    first, second, third = world.contact_ids()
    early, late = timezone.now() - timedelta(days=40), timezone.now() - timedelta(days=3)
    filed_for(world, [first, second], "早的", on=early)
    filed_for(world, [first], "晚的", on=late)
    filed_for(world, [third], "草稿", submit=False)  # a draft was not filed

    with CaptureQueriesContext(connection) as queries:
        rows = {c.pk: c.last_filed for c in selectors.my_contacts_last_filed(world.member.user)}

    assert len(queries) == 1
    assert rows == {first: late, second: early, third: None}
    assert selectors.my_contacts_last_filed(world.staff).count() == 0  # not a member: no roster


def test_another_members_case_for_the_same_constituent_does_not_count(world):
    contact = Contact.objects.get(pk=world.contact_ids()[0])
    other = make_member(world.org, world.sector, "钱委员", contacts=0)
    # The same constituent on the other member's roster of another sector (a roster allows it).
    from casework.models import Sector

    sector = Sector.objects.create(organisation=world.org, name="经济界")
    RosterEntry.objects.create(organisation=world.org, sector=sector, member=other, contact=contact)
    file(other.user, title="别人的", description="说明", category=world.category.pk, contacts=[contact.pk])

    rows = {c.pk: c.last_filed for c in selectors.my_contacts_last_filed(world.member.user)}
    assert rows[contact.pk] is None


def test_the_home_page_shows_the_roster_with_last_filed_and_a_link_to_file_for_each(world):
    first, second, _third = world.contact_ids()
    filed_for(world, [first], "校门口拥堵", on=timezone.make_aware(datetime(2026, 3, 5, 10)))

    html = logged_in(world.member.user).get("/").content.decode()

    roster = html.split("我联系的界别群众", 1)[1]
    assert "王委员-群众1" in roster and "上次反映 2026-03-05" in roster
    assert roster.count("尚未反映") == 2
    assert f'href="/cases/new/?contact={second}"' in roster


def test_the_roster_costs_one_query_whatever_its_length(world):
    def count() -> int:
        client = logged_in(world.member.user)
        client.get("/")
        with CaptureQueriesContext(connection) as queries:
            client.get("/")
        return len(queries)

    filed_for(world, world.contact_ids()[:1], "案件")
    few = count()
    for contact_id in world.contact_ids():
        filed_for(world, [contact_id], "案件")
    for n in range(2):
        contact = Contact.objects.create(organisation=world.org, sector=world.sector, name=f"新群众{n}")
        RosterEntry.objects.create(organisation=world.org, sector=world.sector, member=world.member, contact=contact)
    assert count() == few


def test_my_cases_say_the_stage_clock_and_next_step_in_words(world):
    filed_for(world, world.contact_ids()[:1], "校门口拥堵")

    html = logged_in(world.member.user).get("/").content.decode()

    mine = html.split("我的民情", 1)[1].split("我联系的界别群众", 1)[0]
    assert "等待委办审核" in mine  # the next step
    assert "审核 · 剩余" in mine and "期限至" in mine  # the clock and its deadline


def test_info_requests_come_before_feedback_and_signatures_after_both(world):
    asked = filed_for(world, [], "需补充的案件")
    do("request_info", asked.pk, world.staff, question="请补充照片")
    told = filed_for(world, [], "待反馈的案件")
    do("resolve", told.pk, world.staff, note="已协调解决")

    html = logged_in(world.member.user).get("/").content.decode()

    waiting = html.split("我的民情", 1)[0]
    assert waiting.index("需补充的案件") < waiting.index("待反馈的案件")
    assert "委办请您补充材料" in waiting and "请反馈群众并记录满意度" in waiting
    assert "补充材料 · 剩余" in waiting  # the member's own clock in words


def test_the_filing_form_starts_in_the_title_and_ticks_the_constituent_it_was_opened_for(world):
    second = world.contact_ids()[1]
    client = logged_in(world.member.user)

    html = client.get(f"/cases/new/?contact={second}").content.decode()

    title = html.split('name="title"', 1)[1].split(">", 1)[0]
    assert "autofocus" in title
    assert f'value="{second}" id="id_contacts_1" checked' in html

    def ticked(query: str) -> bool:
        page = client.get(f"/cases/new/{query}").content.decode()
        return " checked" in page.split("反映群众", 1)[1].split("群众同意提供姓名", 1)[0]

    # Someone else's constituent (or nonsense) ticks nothing.
    foreign = world.contact_ids(world.other_member)[0]
    assert not ticked(f"?contact={foreign}") and not ticked("?contact=abc")


def test_an_organisation_with_one_category_has_it_chosen_already(world):
    html = logged_in(world.member.user).get("/cases/new/").content.decode()
    assert f'<option value="{world.category.pk}" selected>' in html
    CaseCategory.objects.create(organisation=world.org, name="环境卫生")
    html = logged_in(world.member.user).get("/cases/new/").content.decode()
    assert f'<option value="{world.category.pk}" selected>' not in html
