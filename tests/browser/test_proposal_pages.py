"""A proposal's life on the pages, in a real Chromium, each step by its own role's login: committee
staff accept two members' cases and convert both into one proposal, each member confirms their
signature, staff write the suggestion and submit, the proposal office files and assigns it from
its desk, the department's liaison accepts, uploads the signed reply letter and replies from
theirs, and each member rates the handling; the proposal is closed and each case waits for its
member's feedback to the constituents, with the reply as its outcome."""

from __future__ import annotations

import pytest

from casework.choices import AssignmentStatus, CaseStatus, OutputStatus, Role
from casework.models import Assignment, Case, Department, Output, OutputFile, OutputRating
from tests.factories import make_user
from tests.helpers import file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PDF = b"%PDF-1.4\n% the department's signed reply letter\n%%EOF\n"


def file_case(member, world, title: str) -> Case:
    return file(
        member.user,
        title=title,
        description="上下学时段校门口车辆乱停，学生过街危险。",
        category=world.category.pk,
        township=world.township.pk,
        contacts=list(member.roster.values_list("contact_id", flat=True)[:1]),
    )


def status_message(page) -> str:
    return page.get_by_role("status").inner_text()


def test_a_proposal_from_two_members_cases_to_a_reply_and_both_ratings(browse, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    office_user = make_user(world.org, Role.PROPOSAL_OFFICE, "提案委员会干事")
    department = Department.objects.create(organisation=world.org, name="区教育局")
    liaison_user = make_user(world.org, Role.DEPARTMENT_LIAISON, "教育局联络员")
    liaison_user.department = department
    liaison_user.save()
    first = file_case(world.member, world, "南城实小门口上下学拥堵")
    second = file_case(world.other_member, world, "南城实小门口缺少过街设施")

    # Committee staff accept each case and convert both into one proposal, on the case pages.
    staff = browse(world.staff, "desk", "staff")
    page = staff.page
    for case in (first, second):
        staff.goto(f"/cases/{case.pk}/")
        staff.click(page.get_by_role("button", name="受理，转入成果转化"))
        assert status_message(page) == "已受理，案件进入成果转化。"
        page.get_by_role("group", name="成果类型").get_by_label("提案", exact=True).check()
        if case is first:
            page.get_by_label("新成果标题").fill("关于改善南城实小周边交通的提案")
        else:
            page.get_by_label("并入已有成果").select_option(label="提案：关于改善南城实小周边交通的提案")
        staff.click(page.get_by_role("button", name="成果转化", exact=True))
        assert status_message(page) == "已转化为成果，待跟踪办理结果。"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.output_id == second.output_id is not None
    output = Output.objects.get(pk=first.output_id)
    assert (output.output_type, output.status, output.cases.count()) == ("proposal", OutputStatus.DRAFT, 2)
    staff.click(page.get_by_role("link", name="提案：关于改善南城实小周边交通的提案（草稿）"))
    assert staff.path() == f"/outputs/{output.pk}/"
    # Staff cannot submit before the signers confirm: no submit button is offered.
    assert page.get_by_role("button", name="提交提案").count() == 0

    # Each member confirms their own signature, from their home page's list.
    members = {}
    for member in (world.member, world.other_member):
        visitor = browse(member.user, "phone", f"member{member.pk}")
        members[member.pk] = visitor
        mine = visitor.page.locator("section.signatures-waiting")
        assert "请确认署名" in mine.inner_text()
        visitor.click(mine.get_by_role("link", name="关于改善南城实小周边交通的提案"))
        assert visitor.path() == f"/outputs/{output.pk}/"
        signatures = visitor.page.locator("li.signature")
        assert signatures.count() == 2
        # One confirm button: their own signature's.
        assert visitor.page.get_by_role("button", name="确认署名").count() == 1
        assert visitor.fits()
        visitor.click(visitor.page.get_by_role("button", name="确认署名"))
        assert status_message(visitor.page) == "已确认署名。"
    assert output.signers.filter(confirmed_at__isnull=True).count() == 0

    # Staff write the suggestion and submit; the proposal is numbered.
    staff.goto(f"/outputs/{output.pk}/")
    page.locator("details.action-edit > summary").click()
    page.get_by_label("建议", exact=True).fill("在校门口增设护学岗和人行横道信号灯。")
    staff.click(page.get_by_role("button", name="修改成果"))
    assert status_message(page) == "已保存修改。"
    staff.click(page.get_by_role("button", name="提交提案"))
    assert status_message(page) == "提案已提交并编号，进入提案审查。"
    output.refresh_from_db()
    assert output.status == OutputStatus.SUBMITTED and output.number
    assert output.suggestion == "在校门口增设护学岗和人行横道信号灯。"

    # The proposal office files it as a key proposal and assigns it, from its desk.
    office = browse(office_user, "desk", "office")
    page = office.page
    office.click(page.get_by_role("navigation", name="主导航").get_by_role("link", name="提案工作台"))
    assert office.path() == "/office/"
    office.click(page.locator("section.desk-submitted").get_by_role("link", name="关于改善南城实小周边交通的提案"))
    assert output.number in page.locator(".output-number").inner_text()
    page.get_by_label("重点提案").check()
    page.get_by_label("督办领导").select_option(label=str(world.leader))
    office.click(page.get_by_role("button", name="立案", exact=True))
    assert status_message(page) == "已立案，请交办承办单位。"
    office.goto("/office/")
    office.click(page.locator("section.desk-filed").get_by_role("link", name="关于改善南城实小周边交通的提案"))
    page.get_by_label("主办单位").select_option(label="区教育局")
    office.click(page.get_by_role("button", name="交办", exact=True))
    assert status_message(page) == "已交办，承办单位将收到通知。"
    output.refresh_from_db()
    assert (output.status, output.is_key, output.supervisor) == (OutputStatus.ASSIGNED, True, world.leader)
    assignment = Assignment.objects.get(output=output)
    assert (assignment.department, assignment.status) == (department, AssignmentStatus.ASSIGNED)

    # The liaison accepts, uploads the signed reply letter and replies, from their desk.
    liaison = browse(liaison_user, "desk", "liaison")
    page = liaison.page
    liaison.click(page.get_by_role("navigation", name="主导航").get_by_role("link", name="承办工作台"))
    assert liaison.path() == "/desk/"
    row = page.locator(".desk-assignments .case-row").first
    assert "待签收" in row.inner_text() and "异议期至" in row.inner_text() and "答复期限" in row.inner_text()
    liaison.click(row.get_by_role("link"))
    assert liaison.path() == f"/outputs/{output.pk}/"
    liaison.click(page.get_by_role("button", name="签收", exact=True))
    assert status_message(page) == "已签收，请在答复期限前办理。"
    page.locator("details.action-upload > summary").click()
    page.get_by_label("附件").set_input_files({"name": "答复函.pdf", "mimeType": "application/pdf", "buffer": PDF})
    liaison.click(page.get_by_role("button", name="上传", exact=True))
    assert status_message(page) == "已上传附件「答复函.pdf」。"
    assert page.get_by_role("link", name="答复函.pdf").count() == 1
    page.get_by_role("group", name="答复类别").get_by_label("A类：已解决或基本解决").check()
    page.get_by_label("答复内容").fill("已在校门口设置护学岗，信号灯下月安装。")
    liaison.click(page.get_by_role("button", name="答复", exact=True))
    assert status_message(page) == "已答复。"
    output.refresh_from_db()
    assert output.status == OutputStatus.REPLIED
    stored = OutputFile.objects.get(assignment=assignment)
    assert stored.file.read() == PDF

    # Each member rates the handling on the output page, and may download the reply letter.
    for member in (world.member, world.other_member):
        visitor = members[member.pk]
        page = visitor.page
        visitor.goto("/")
        mine = page.locator("section.signatures-waiting")
        assert "请评价办理情况" in mine.inner_text()
        visitor.click(mine.get_by_role("link", name="关于改善南城实小周边交通的提案"))
        assert "已在校门口设置护学岗" in page.locator(".reply-text").inner_text()
        with page.expect_download() as download:
            page.get_by_role("link", name="答复函.pdf").click()
        assert download.value.suggested_filename == "答复函.pdf"
        assert open(download.value.path(), "rb").read() == PDF
        page.get_by_role("group", name="对办理过程").get_by_label("满意", exact=True).check()
        page.get_by_role("group", name="对办理结果").get_by_label("满意", exact=True).check()
        visitor.click(page.get_by_role("button", name="评价办理"))
        assert status_message(page) == "已提交评价，谢谢。"
        assert visitor.fits()

    output.refresh_from_db()
    assert output.status == OutputStatus.CLOSED
    assert OutputRating.objects.filter(output=output).count() == 2
    assert "已办结" in page.locator(".output-status").inner_text()
    # Each case, on its own page to its member: back with the member, the reply as its outcome.
    for member, case in ((world.member, first), (world.other_member, second)):
        visitor = members[member.pk]
        visitor.goto(f"/cases/{case.pk}/")
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK
        assert visitor.page.locator(".case-head .badge").first.inner_text() == "反馈群众"
        assert "已在校门口设置护学岗" in case.outcome
