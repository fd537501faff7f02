"""Any list as a spreadsheet: the home page's case list with its filters, the office's desk, a
department's desk and the referrals. Each export holds what its viewer sees on the page and no
more (another member's or organisation's case never), never a constituent's name, says when it
was cut short, and is audited."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.test import Client
from openpyxl import load_workbook

from casework.choices import AuditAction
from casework.models import Assignment, AuditEvent, Contact
from tests.factories import make_world
from tests.helpers import do, file
from tests.web.test_output_pages import act, assigned, signed_and_submitted
from tests.web.test_referrals_page import sent_up
from web import list_exports

pytestmark = pytest.mark.django_db

CASE_HEADERS = ["案件编号", "标题", "状态", "当前环节时限", "期限至", "类别", "乡镇街道"]
CASE_HEADERS += ["受理委办", "反映委员", "紧急程度", "提交时间"]


@pytest.fixture
def pw(world, settings, tmp_path):
    from tests.outputs.proposal_world import make_proposal_world

    settings.MEDIA_ROOT = tmp_path
    return make_proposal_world(world)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sheet(response) -> tuple[str, list[str], list[list]]:
    """The workbook's title line, its headers and its rows."""
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response["Content-Disposition"]
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    return rows[0][0], [str(h) for h in rows[1]], [list(r) for r in rows[2:]]


def file_for(world, member, title: str, **data):
    return file(
        member.user,
        title=title,
        description="放学时段车辆排队",
        category=world.category.pk,
        township=world.township.pk,
        contacts=world.contact_ids(member),
        **data,
    )


def every_cell(rows: list[list]) -> str:
    return " ".join(str(v) for r in rows for v in r if v is not None)


def test_a_members_export_is_their_own_cases_with_chinese_headers_and_no_constituent(world):
    mine = file_for(world, world.member, "校门口拥堵")
    file_for(world, world.other_member, "别人的案件")
    elsewhere = make_world("政协外县委员会")
    file_for(elsewhere, elsewhere.member, "外单位的案件")

    title, headers, rows = sheet(logged_in(world.member.user).get("/cases/export.xlsx"))

    assert title == "民情案件（全部）"
    assert headers == CASE_HEADERS
    assert [r[0] for r in rows] == [mine.pk]
    assert rows[0][1] == "校门口拥堵" and rows[0][2] == "委办审核" and rows[0][5] == "交通出行"
    assert rows[0][3].startswith("审核：")  # the running clock, in words
    names = list(Contact.objects.values_list("name", flat=True))
    assert names and not any(name in every_cell(rows) for name in names)


def test_the_export_keeps_the_pages_filters(world):
    asked = file_for(world, world.member, "需补充的案件")
    file_for(world, world.member, "审核中的案件")
    do("request_info", asked.pk, world.staff, question="请补充照片")
    client = logged_in(world.leader)

    title, _h, rows = sheet(client.get("/cases/export.xlsx", {"status": "needs_info"}))
    assert [r[1] for r in rows] == ["需补充的案件"] and "状态：待补充材料" in title
    title, _h, rows = sheet(client.get("/cases/export.xlsx", {"q": "审核中"}))
    assert [r[1] for r in rows] == ["审核中的案件"] and "查找：审核中" in title
    _t, _h, rows = sheet(client.get("/cases/export.xlsx", {"sla": "breached"}))
    assert rows == []
    # An unknown value is ignored as on the page; a refused search text is refused, not widened.
    _t, _h, rows = sheet(client.get("/cases/export.xlsx", {"status": "bogus"}))
    assert len(rows) == 2
    assert client.get("/cases/export.xlsx", {"q": "甲\u202e"}).status_code == 400


def test_the_home_page_links_the_export_with_its_filters(world):
    file_for(world, world.member, "校门口拥堵")
    html = logged_in(world.member.user).get("/", {"status": "review", "q": "校门"}).content.decode()
    assert 'href="/cases/export.xlsx?status=review&amp;q=%E6%A0%A1%E9%97%A8"' in html
    assert "导出 XLSX" in html


def test_staff_export_their_committees_cases_and_never_another_organisations(world):
    ours = file_for(world, world.member, "本会案件")
    elsewhere = make_world("政协外县委员会")
    theirs = file_for(elsewhere, elsewhere.member, "外单位的案件")

    for user in (world.staff, world.leader):
        _t, _h, rows = sheet(logged_in(user).get("/cases/export.xlsx"))
        assert [r[0] for r in rows] == [ours.pk], user
    _t, _h, rows = sheet(logged_in(world.other_staff).get("/cases/export.xlsx"))
    assert rows == []  # another committee's staff: none of this committee's cases
    _t, _h, rows = sheet(logged_in(elsewhere.staff).get("/cases/export.xlsx"))
    assert [r[0] for r in rows] == [theirs.pk]


def test_a_long_list_is_cut_short_and_says_so(world, monkeypatch):
    monkeypatch.setattr(list_exports, "EXPORT_MAX_ROWS", 2)
    cases = [file_for(world, world.member, f"案件{n}") for n in range(3)]

    title, _h, rows = sheet(logged_in(world.member.user).get("/cases/export.xlsx"))

    assert [r[0] for r in rows] == [cases[2].pk, cases[1].pk]  # the newest, as the page
    assert "仅含前 2 条" in title
    event = AuditEvent.objects.get(action=AuditAction.LIST_EXPORTED)
    assert event.changes == {"list": "cases", "filters": {}, "rows": 2, "truncated": True}


def test_each_export_is_audited_and_a_refused_one_is_not(world):
    file_for(world, world.member, "校门口拥堵")
    logged_in(world.staff).get("/cases/export.xlsx", {"status": "review"})

    event = AuditEvent.objects.get(action=AuditAction.LIST_EXPORTED)
    assert event.actor == world.staff and event.organisation_id == world.org.pk
    assert event.changes == {"list": "cases", "filters": {"status": "review"}, "rows": 1, "truncated": False}

    logged_in(world.staff).get("/cases/export.xlsx", {"q": "甲\u202e"})
    assert logged_in(world.member.user).get("/office/export/submitted.xlsx").status_code == 404
    assert logged_in(world.member.user).get("/desk/export.xlsx").status_code == 404
    assert logged_in(world.member.user).get("/referrals/export.xlsx").status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.LIST_EXPORTED).count() == 1


def test_the_office_exports_each_list_of_its_desk(pw):
    output = signed_and_submitted(pw)
    office = logged_in(pw.office)

    title, headers, rows = sheet(office.get("/office/export/submitted.xlsx"))
    assert title == "待审查的提案（全部）" and headers[:3] == ["提案编号", "标题", "状态"]
    assert [r[1] for r in rows] == [output.title]
    assert sheet(office.get("/office/export/filed.xlsx"))[2] == []
    assert office.get("/office/export/nothing.xlsx").status_code == 404
    assert logged_in(pw.world.staff).get("/office/export/submitted.xlsx").status_code == 404
    assert 'href="/office/export/submitted.xlsx"' in office.get("/office/").content.decode()

    act("output", "file", output, pw.office)
    act("output", "assign", output, pw.office, handling="joint", lead=pw.lead.pk, co_handlers=[pw.co.pk])
    lead_row = Assignment.objects.get(output=output, department=pw.lead)
    act("assignment", "object", lead_row, pw.lead_liaison, reason="不属本单位职责")
    _t, headers, rows = sheet(office.get("/office/export/objected.xlsx"))
    assert headers[-1] == "异议理由" and len(rows) == 1
    assert [rows[0][i] for i in (0, 1, 2, 5)] == [output.number, output.title, "区教育局", "不属本单位职责"]


def test_a_liaison_exports_their_departments_assignments_only(pw):
    output = assigned(pw)

    _t, headers, rows = sheet(logged_in(pw.lead_liaison).get("/desk/export.xlsx"))
    assert headers[:3] == ["提案编号", "标题", "状态"] and [r[1] for r in rows] == [output.title]
    assert 'href="/desk/export.xlsx"' in logged_in(pw.lead_liaison).get("/desk/").content.decode()
    assert logged_in(pw.office).get("/desk/export.xlsx").status_code == 404
    lead, co = (Assignment.objects.get(output=output, department=d) for d in (pw.lead, pw.co))
    assert (lead.department_id, co.department_id) == (pw.lead.pk, pw.co.pk)
    _t, _h, co_rows = sheet(logged_in(pw.co_liaison).get("/desk/export.xlsx"))
    assert [r[3] for r in co_rows] == [co.get_role_display()]  # its own assignment, not the lead's


def test_the_referrals_export_is_the_deciding_staffs_queue(world):
    output = sent_up(world)

    _t, headers, rows = sheet(logged_in(world.outsider).get("/referrals/export.xlsx"))
    assert headers == ["编号", "标题", "状态", "报送单位", "委办"]
    assert [r[1] for r in rows] == ["关于校门口拥堵的建议"] and output
    # The sending organisation's staff: their own (empty) queue; a member: no such page.
    assert sheet(logged_in(world.staff).get("/referrals/export.xlsx"))[2] == []
    assert logged_in(world.member.user).get("/referrals/export.xlsx").status_code == 404
