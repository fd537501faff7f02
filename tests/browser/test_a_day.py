"""A day on the pages, in a real Chromium: a member files a concern from a phone, committee staff
work their queue most urgent first and decide, the member answers the committee's question, the
filing form works from the keyboard alone, and the pages switch to English."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casework.choices import CaseStatus, Stage
from casework.models import Case, CaseClock
from tests.helpers import do, events, file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# From static/css/minqing.css: the page background, the overdue red and the nearly-due amber.
BACKGROUND, RED, AMBER = "rgb(245, 246, 248)", "rgb(185, 28, 28)", "rgb(180, 83, 9)"


def file_case(world, title: str) -> Case:
    return file(
        world.member.user,
        title=title,
        description="放学时段车辆排队",
        category=world.category.pk,
        township=world.township.pk,
        contacts=world.contact_ids(),
    )


def test_a_member_on_a_phone_files_a_concern_and_sees_it_on_their_home(browse, world):
    member = browse(world.member.user, "phone", "member")
    page = member.page
    # The stylesheet is served and applies (static files through the live server).
    assert member.style("body", "backgroundColor") == BACKGROUND
    assert member.fits()

    member.click(page.locator("main a.button", has_text="反映民情"))
    assert member.path() == "/cases/new/"
    assert member.fits(), "the filing form scrolls sideways on a 360 px phone"
    page.get_by_label("标题").fill("学校门口早晚高峰拥堵")
    page.get_by_label("问题描述").fill("上学放学时段接送车辆占道，学生过马路危险。")
    page.get_by_label("类别").select_option(label=world.category.name)
    page.get_by_label("乡镇街道").select_option(label=world.township.name)
    page.get_by_role("group", name="紧急程度").get_by_label("紧急", exact=True).check()
    contact = world.member.roster.select_related("contact").first().contact
    page.get_by_label(contact.name).check()
    page.get_by_label("群众同意提供姓名").check()
    assert member.fits()
    member.click(page.get_by_role("button", name="提交"))

    case = Case.objects.get(title="学校门口早晚高峰拥堵")
    assert member.path() == f"/cases/{case.pk}/"
    assert page.get_by_role("status").inner_text() == "已提交，案件进入委办审核。"
    assert (case.status, case.urgency, case.consent_to_share) == (CaseStatus.REVIEW, "urgent", True)
    assert list(case.contacts.all()) == [contact] and case.township == world.township
    assert member.fits()

    member.click(page.get_by_role("link", name="返回首页"))
    mine = page.locator("section.card", has=page.get_by_role("heading", name="我的民情"))
    row = mine.locator(".case-row", has_text="学校门口早晚高峰拥堵")
    assert row.count() == 1 and "委办审核" in row.locator(".badge").inner_text()
    assert member.fits()


def test_staff_open_their_queue_claim_the_most_urgent_case_and_decide(browse, world):
    calm, soon, late = (file_case(world, t) for t in ("路灯不亮", "井盖松动", "积水严重"))
    now = timezone.now()
    clocks = CaseClock.objects.filter(stage=Stage.REVIEW)
    clocks.filter(case=calm).update(due_at=now + timedelta(days=20), warn_at=now + timedelta(days=15))
    clocks.filter(case=soon).update(due_at=now + timedelta(days=8), warn_at=now - timedelta(hours=1))
    clocks.filter(case=late).update(due_at=now - timedelta(days=3), warn_at=now - timedelta(days=5))
    staff = browse(world.staff, "desk", "staff")
    page = staff.page

    staff.click(page.get_by_role("link", name=world.committee.name))
    assert staff.path() == f"/queues/{world.committee.pk}/"
    rows = page.locator(".case-row")
    assert rows.locator(".case-title").all_inner_texts() == ["积水严重", "井盖松动", "路灯不亮"]
    overdue, nearly, later = rows.all()
    assert "已超期" in overdue.locator(".due").inner_text() and "剩余" in later.locator(".due").inner_text()
    assert staff.style(".case-row.clock-overdue .due", "color") == RED
    assert staff.style(".case-row.clock-soon .due", "color") == AMBER
    assert staff.style(".case-row.clock-ok .due", "color") not in (RED, AMBER)

    # Narrow the queue with its filter form: by time limit, then by a search of the texts.
    sla = page.get_by_label("时限", exact=True)
    sla.select_option("warning")
    staff.click(page.get_by_role("button", name="筛选"))
    assert rows.locator(".case-title").all_inner_texts() == ["井盖松动"]
    sla.select_option("breached")
    staff.click(page.get_by_role("button", name="筛选"))
    assert rows.locator(".case-title").all_inner_texts() == ["积水严重"]
    staff.click(page.get_by_role("link", name="清除筛选"))
    assert rows.count() == 3
    page.get_by_label("查找标题或描述").fill("积水")
    staff.click(page.get_by_role("button", name="筛选"))
    assert rows.locator(".case-title").all_inner_texts() == ["积水严重"]

    # Tick the overdue one and claim it; then open it from the tasks they hold.
    page.get_by_label("选择「积水严重」").check()
    staff.click(page.get_by_role("button", name="认领所选"))
    assert page.get_by_role("status").inner_text() == "已认领 1 件，可在“我已认领”中查看。"
    assert staff.path() == f"/queues/{world.committee.pk}/" and rows.count() == 0
    assert ("case.claimed", world.staff.pk) in events(late)
    staff.click(page.get_by_role("link", name="我已认领的任务"))
    assert staff.path() == "/tasks/"
    staff.click(page.locator(".case-row a", has_text="积水严重"))
    assert staff.path() == f"/cases/{late.pk}/"
    page.get_by_label("审核意见").fill("积水点位明确，转社情民意信息。")
    staff.click(page.get_by_role("button", name="受理，转入成果转化"))
    late.refresh_from_db()
    assert late.status == CaseStatus.CONVERSION and late.decision_note == "积水点位明确，转社情民意信息。"
    assert page.get_by_role("status").inner_text() == "已受理，案件进入成果转化。"

    # Accepted, it waits in the same queue for its conversion, due later than the next one.
    staff.goto(f"/queues/{world.committee.pk}/")
    assert rows.locator(".case-title").first.inner_text() == "井盖松动"
    staff.click(page.get_by_role("button", name="认领最紧急的一件"))
    assert staff.path() == f"/cases/{soon.pk}/"
    page.locator("details.action-request_info > summary").click()
    page.get_by_label("需补充的内容").fill("请补充松动井盖的具体位置。")
    staff.click(page.get_by_role("button", name="发给委员补充"))
    soon.refresh_from_db()
    assert (soon.status, soon.info_request) == (CaseStatus.NEEDS_INFO, "请补充松动井盖的具体位置。")

    # A case opened from its row is decided without claiming it first (deciding claims it).
    staff.goto(f"/queues/{world.committee.pk}/")
    staff.click(page.get_by_role("link", name="路灯不亮"))
    assert staff.path() == f"/cases/{calm.pk}/"
    page.locator("details.action-resolve > summary").click()
    page.get_by_label("解决情况").fill("已联系供电所当天修复路灯。")
    staff.click(page.get_by_role("button", name="登记为直接解决"))
    calm.refresh_from_db()
    assert (calm.status, calm.decision) == (CaseStatus.FEEDBACK, "resolved")
    assert ("case.resolved", world.staff.pk) in events(calm)

    staff.goto(f"/queues/{world.committee.pk}/")
    assert rows.locator(".case-title").all_inner_texts() == ["积水严重"]  # its conversion

    # On a 360 px phone the queue, its filters and the tasks page do not scroll sideways.
    phone = browse(world.staff, "phone", "staff-phone")
    phone.goto(f"/queues/{world.committee.pk}/")
    assert phone.fits(), "the queue page scrolls sideways on a 360 px phone"
    phone.goto("/tasks/")
    assert phone.fits(), "the tasks page scrolls sideways on a 360 px phone"


def test_the_member_answers_the_committees_question_from_their_phone(browse, world):
    case = file_case(world, "路灯不亮")
    do("request_info", case.pk, world.staff, question="请补充不亮路灯的具体位置。")
    member = browse(world.member.user, "phone", "member")
    page = member.page

    waiting = page.locator("section.waiting")
    assert waiting.get_by_role("heading").inner_text() == "等您处理"
    assert "委办请您补充材料" in waiting.locator(".case-row").inner_text()
    member.click(waiting.get_by_role("link", name="路灯不亮"))
    assert page.locator("blockquote.quote").inner_text() == "请补充不亮路灯的具体位置。"
    assert member.fits()
    page.get_by_label("补充的材料").fill("南城街道学府路 12 号至 20 号之间的三盏路灯。")
    member.click(page.get_by_role("button", name="提交补充材料"))

    case.refresh_from_db()
    assert (case.status, case.info_answer) == (CaseStatus.REVIEW, "南城街道学府路 12 号至 20 号之间的三盏路灯。")
    assert page.get_by_role("status").inner_text() == "补充材料已提交，案件回到委办审核。"
    member.click(page.get_by_role("link", name="返回首页"))
    assert page.locator("section.waiting").count() == 0


# Every control a person fills in, with the text a screen reader announces for it.
LABELS = """() => [...document.querySelectorAll("main input, main select, main textarea")]
    .filter(el => el.type !== "hidden")
    .map(el => ({
        id: el.id,
        label: (el.getAttribute("aria-label") || [...el.labels].map(l => l.textContent).join(" ")).trim(),
    }))"""


def test_the_filing_form_is_done_with_the_keyboard_alone_and_every_field_has_a_label(browse, world):
    member = browse(world.member.user, "desk", "member")
    page = member.goto("/cases/new/")
    controls = page.evaluate(LABELS)
    assert controls and all(c["label"] for c in controls), [c for c in controls if not c["label"]]
    assert all(c["id"] for c in controls)
    # The radio group is named as a whole too (a fieldset's legend).
    assert page.get_by_role("group", name="紧急程度").count() == 1

    form = "main form.stack"
    # The page opens with the cursor in the title (autofocus): typing starts straight away.
    assert page.evaluate("document.activeElement.id") == "id_title"
    page.keyboard.type("楼道灯坏了")
    reached: list[str] = ["id_title"]
    for _ in range(60):  # from the title to the submit button, by Tab alone
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "f => { const el = document.activeElement; return el.closest(f) ? (el.id || el.type) : null }", form
        )
        if focused is None:
            continue
        reached.append(focused)
        if focused == "submit":
            break
        kind = page.evaluate("() => document.activeElement.tagName + ':' + document.activeElement.type")
        if focused == "id_title":
            page.keyboard.type("楼道灯坏了")
        elif focused == "id_description":
            page.keyboard.type("三单元楼道灯坏了一个月。")
        elif kind == "SELECT:select-one":
            page.keyboard.press("ArrowDown")  # the first real choice, after 请选择 / 未指定
        elif focused == "id_urgency_0":
            page.keyboard.press("ArrowRight")  # 一般 → 紧急; the group is one Tab stop
            reached.append(page.evaluate("document.activeElement.id"))
        elif kind == "INPUT:checkbox" and focused in ("id_contacts_0", "id_consent_to_share"):
            page.keyboard.press("Space")
    else:
        pytest.fail(f"Tab never reached the submit button: {reached}")

    # Every field is reached by Tab, in the order they are shown (a radio group is one stop,
    # its options are chosen by the arrows), and the submit button last.
    in_order = [c["id"] for c in controls if not c["id"].startswith("id_urgency_")]
    assert [i for i in reached if i in in_order] == in_order, reached
    assert "id_urgency_0" in reached and "id_urgency_1" in reached and reached[-1] == "submit"
    member.submit("Enter")

    case = Case.objects.get(title="楼道灯坏了")
    assert member.path() == f"/cases/{case.pk}/"
    assert (case.description, case.category, case.township) == (
        "三单元楼道灯坏了一个月。",
        world.category,
        world.township,
    )
    assert case.urgency == "urgent" and case.consent_to_share is True and case.contacts.count() == 1


def test_the_staffs_decision_forms_have_labels(browse, world):
    case = file_case(world, "积水严重")
    staff = browse(world.staff, "desk", "staff")
    page = staff.goto(f"/cases/{case.pk}/")
    controls = page.evaluate(LABELS)
    assert len(controls) > 5
    assert all(c["label"] for c in controls), [c for c in controls if not c["label"]]


def test_switching_to_english_shows_the_english_page_and_back(browse, world):
    member = browse(world.member.user, "phone", "member")
    page = member.page
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    member.click(page.get_by_role("button", name="English"))
    assert member.path() == "/"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="My concerns").count() == 1
    assert page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Home").count() == 1
    assert member.fits(), "the English page scrolls sideways on a 360 px phone"

    # It stays English from page to page, and switches back.
    member.click(page.locator("main a.button", has_text="Report a concern"))
    assert page.get_by_label("Title").count() == 1
    member.click(page.get_by_role("button", name="简体中文"))
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("heading", name="反映民情").count() == 1
