"""The member's pages on a 360 px phone, in a real Chromium: the home page, a case and the filing
form never scroll sideways, what waits on the member comes first, and a case prints to A4 with
its forms, buttons and navigation left out."""

from __future__ import annotations

import pytest

from casework.models import Case
from tests.browser.support import SCREENSHOTS
from tests.helpers import do, file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE_WIDTH = 360


def file_case(world, title: str) -> Case:
    return file(
        world.member.user,
        title=title,
        description="上学放学时段接送车辆占道，学生过马路危险。" * 3,
        category=world.category.pk,
        township=world.township.pk,
        contacts=world.contact_ids()[:2],
        consent_to_share=True,
    )


def scroll_width(page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_the_members_pages_fit_a_360_px_phone(browse, world):
    asked = file_case(world, "学府路至城南大道交叉口的三盏路灯长期不亮，夜间行人通行存在安全隐患")
    do("request_info", asked.pk, world.staff, question="请补充不亮路灯的具体位置。")
    file_case(world, "校门口早晚高峰拥堵")
    member = browse(world.member.user, "phone", "member")
    page = member.page

    member.goto("/")
    assert scroll_width(page) <= PHONE_WIDTH, "the home page scrolls sideways on a 360 px phone"
    headings = page.locator("main section.card h1, main section.card h2").all_inner_texts()
    # What waits on the member first, then their cases, then their constituents.
    assert headings.index("等您处理") < headings.index("我的民情") < headings.index("我联系的界别群众")
    waiting = page.locator("section.waiting").first
    assert "委办请您补充材料" in waiting.inner_text() and "期限至" in waiting.inner_text()
    mine = page.locator("section.my-cases")
    assert "等待委办审核" in mine.inner_text()
    assert mine.get_by_role("link", name="导出 XLSX").count() == 1
    # The filters are usable at this size: the two choices share a row, the search is full width.
    status, sla = (page.locator(s).bounding_box() for s in ("#filter-status", "#filter-sla"))
    assert status is not None and sla is not None and status["y"] == sla["y"]
    search = page.locator("#filter-q").bounding_box()
    assert search is not None and search["width"] > PHONE_WIDTH * 0.7

    member.goto(f"/cases/{asked.pk}/")
    assert scroll_width(page) <= PHONE_WIDTH, "the case page scrolls sideways on a 360 px phone"

    contact = world.contact_ids()[1]
    member.goto(f"/cases/new/?contact={contact}")
    assert scroll_width(page) <= PHONE_WIDTH, "the filing form scrolls sideways on a 360 px phone"
    assert page.evaluate("document.activeElement.name") == "title"  # typing starts straight away
    assert page.locator(f'input[name="contacts"][value="{contact}"]').is_checked()


def test_a_case_prints_to_a4_without_its_forms(browse, world):
    case = file_case(world, "路灯不亮")
    do("request_info", case.pk, world.staff, question="请补充不亮路灯的具体位置。")
    member = browse(world.member.user, "desk", "member")
    page = member.page
    member.goto(f"/cases/{case.pk}/")
    assert page.locator("main form").count() > 0 and page.locator("main form").first.is_visible()

    page.emulate_media(media="print")
    member.snap()
    hidden = page.evaluate(
        "[...document.querySelectorAll('form, nav, .topbar, .actions-card, button')].every(el => !el.checkVisibility())"
    )
    assert hidden, "a form, a button or the navigation would print"
    assert page.locator("h1", has_text="路灯不亮").is_visible()
    assert page.locator("ol.timeline li").first.is_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert page.evaluate("getComputedStyle(document.querySelector('ol.timeline li')).breakInside") == "avoid"

    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    (SCREENSHOTS / "test_a_case_prints_to_a4_without_its_forms.pdf").write_bytes(pdf)
