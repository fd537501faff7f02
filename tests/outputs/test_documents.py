"""Each output type as a Word document in the government document layout, read back with
python-docx: the page, the margins and the fonts; each type's fields (number, title, signers,
text, the departments' replies with their class, the bulletin issue, adoptions, instructions);
no constituent's name; each export audited, and nothing exported or audited for anyone who may
not see the output."""

from __future__ import annotations

import hashlib
from datetime import date
from io import BytesIO
from urllib.parse import quote

import pytest
from django.test import Client
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from casework.choices import AuditAction, InstructionRank, SpeechForm, SpeechSelection
from casework.documents import DOCX
from casework.models import Adoption, AuditEvent, Case, Contact, Instruction, Organisation, Output, Sector
from tests.factories import login_verified
from tests.outputs.proposal_world import make_proposal_world
from tests.outputs.test_proposal_api import post

pytestmark = pytest.mark.django_db


def export(client, output: Output, expect: int = 200):
    response = client.get(f"/api/v1/outputs/{output.pk}/docx/")
    assert response.status_code == expect, response.content[:300]
    return response


def read(response) -> tuple[object, str]:
    """The document, and its text (body paragraphs, one a line)."""
    document = Document(BytesIO(response.content))
    return document, "\n".join(p.text for p in document.paragraphs)


def paragraph(document, text: str):
    return next(p for p in document.paragraphs if p.text == text)


def mm(*lengths) -> tuple[float, ...]:
    """Lengths in millimetres to a tenth (Word keeps them in twips)."""
    return tuple(round(length.mm, 1) for length in lengths)


def east_asia(run) -> str:
    return run.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia"))


def exports_of(output: Output) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(stream=f"output:{output.pk}", action=AuditAction.OUTPUT_EXPORTED))


def no_constituent_in(text: str, output: Output) -> None:
    for contact in Contact.objects.filter(organisation_id=output.organisation_id):
        assert contact.name not in text
    for case in Case.objects.filter(organisation_id=output.organisation_id):
        assert case.title not in text


def replied_proposal(pw, client_for) -> Output:
    """The world's proposal signed, submitted, filed as a key proposal, assigned to a lead and a
    co-handler, and replied by the lead with a B."""
    w, output = pw.world, pw.output
    for signer in output.signers.all():
        post(client_for(signer.user), f"signatures/{signer.pk}/transitions/confirm/")
    staff, office = client_for(w.staff), client_for(pw.office)
    post(
        staff,
        f"outputs/{output.pk}/transitions/edit/",
        analysis="上下学高峰时段校门口车辆无序停放。\n学生横穿马路，险情频发。",
        suggestion="一是增设护学岗。\n二是划定临时停车区。",
    )
    post(staff, f"outputs/{output.pk}/transitions/submit/")
    post(office, f"outputs/{output.pk}/transitions/file/", key=True, supervisor=w.leader.pk)
    body = post(
        office, f"outputs/{output.pk}/transitions/assign/", handling="joint", lead=pw.lead.pk, co_handlers=[pw.co.pk]
    )
    lead_id = next(a["id"] for a in body["assignments"] if a["department"]["id"] == pw.lead.pk)
    co_id = next(a["id"] for a in body["assignments"] if a["department"]["id"] == pw.co.pk)
    post(client_for(pw.lead_liaison), f"assignments/{lead_id}/transitions/accept/")
    post(client_for(pw.co_liaison), f"assignments/{co_id}/transitions/send_view/", view="同意增设护学岗")
    post(
        client_for(pw.lead_liaison), f"assignments/{lead_id}/transitions/reply/", reply_class="B", text="已列入明年计划"
    )
    output.refresh_from_db()
    return output


def test_a_proposal_in_the_government_layout_with_its_signers_text_and_replies(world, client_for):
    pw = make_proposal_world(world)
    output = replied_proposal(pw, client_for)
    staff = client_for(world.staff)
    response = export(staff, output)

    assert response["Content-Type"] == DOCX
    assert "no-store" in response["Cache-Control"]
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert f"filename*=UTF-8''{quote(output.number + ' ' + output.title)}.docx" in disposition

    document, text = read(response)
    section = document.sections[0]
    assert mm(section.page_width, section.page_height) == (210, 297)
    assert mm(section.top_margin, section.bottom_margin, section.left_margin, section.right_margin) == (37, 35, 28, 26)
    # The number, then the title in 小标宋 二号, centred.
    assert output.number in text and output.number.endswith("第0001号")
    title = paragraph(document, output.title)
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert (east_asia(title.runs[0]), title.runs[0].font.size) == ("方正小标宋简体", Pt(22))
    # The signers by role, plenary or interim, the key proposal's supervisor, the departments.
    assert "提案人：王委员" in text
    assert "联名人：李委员、孙委员" in text
    assert "类别：平时提案" in text
    assert "重点提案：是" in text and "督办领导：周主席" in text
    assert "承办单位：主办：区教育局；会办：区公安分局" in text
    # The text under 黑体 headings, each line a paragraph in 仿宋 三号 indented two characters.
    assert "一、情况分析" in text and "二、具体建议" in text and "三、办理答复" in text
    heading = paragraph(document, "一、情况分析")
    assert east_asia(heading.runs[0]) == "黑体"
    line = paragraph(document, "学生横穿马路，险情频发。")
    assert (east_asia(line.runs[0]), line.runs[0].font.size) == ("仿宋_GB2312", Pt(16))
    assert line.paragraph_format.first_line_indent == Pt(32)
    assert "二是划定临时停车区。" in text.splitlines()
    # The lead's reply with its class; the co-handler did not reply.
    assert "（一）区教育局（主办）" in text
    assert "答复类别：B类：部分解决或列入计划" in text
    assert "已列入明年计划" in text
    assert "区公安分局（会办）" not in text
    # Page numbers: a PAGE field in the odd and the even footers.
    assert document.settings.odd_and_even_pages_header_footer
    for footer in (section.footer, section.even_page_footer):
        assert "PAGE" in footer.paragraphs[0]._p.xml and footer.paragraphs[0].text.startswith("— ")
    no_constituent_in(text, output)

    # Audited on the output's stream, with the user and the digest of what was sent.
    [event] = exports_of(output)
    assert staff.get(f"/api/v1/outputs/{output.pk}/docx/", HTTP_ACCEPT=DOCX).status_code == 200
    assert len(exports_of(output)) == 2
    assert event.actor_id == world.staff.pk
    assert event.changes["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert event.changes["format"] == "docx"


def test_a_signer_and_a_department_may_export_and_each_export_is_audited(world, client_for):
    pw = make_proposal_world(world)
    output = replied_proposal(pw, client_for)
    for user in (world.member.user, pw.lead_liaison, world.leader):
        read(export(client_for(user), output))
    assert [e.actor_id for e in exports_of(output)] == [world.member.user.pk, pw.lead_liaison.pk, world.leader.pk]


def test_anyone_who_may_not_see_the_output_gets_404_and_no_audit_event(world, client_for):
    pw = make_proposal_world(world)
    output = pw.output
    events = AuditEvent.objects.count()
    for user in (world.outsider, world.other_staff):
        response = export(client_for(user), output, 404)
        assert response["Content-Type"].startswith("application/json")
    export(client_for(world.staff), Output(pk=987654321), 404)
    assert client_for(world.outsider).get(f"/api/v1/outputs/{output.pk}/docx/").status_code == 404
    assert AuditEvent.objects.count() == events
    page = Client()
    login_verified(page, world.outsider)  # a sign-in is audited itself
    events = AuditEvent.objects.count()
    assert page.get(f"/outputs/{output.pk}/docx/").status_code == 404
    assert AuditEvent.objects.count() == events
    assert Client().get(f"/outputs/{output.pk}/docx/").status_code == 302
    assert AuditEvent.objects.count() == events


def test_the_page_links_the_document_and_its_route_exports_and_audits(world):
    pw = make_proposal_world(world)
    page = Client()
    login_verified(page, world.staff)
    html = page.get(f"/outputs/{pw.output.pk}/").content.decode()
    assert f'href="/outputs/{pw.output.pk}/docx/"' in html
    Output.objects.filter(pk=pw.output.pk).update(sector=Sector.objects.get(organisation=world.org, name="医药卫生界"))
    response = page.get(f"/outputs/{pw.output.pk}/docx/")
    assert response.status_code == 200 and response["Content-Type"] == DOCX
    assert response["Content-Disposition"].startswith("attachment;")
    _document, text = read(response)
    assert pw.output.title in text and "（尚未编号）" in text
    assert "以界别名义：医药卫生界" in text and "类别：" not in text  # a draft is neither plenary nor interim
    [event] = exports_of(pw.output)
    assert event.actor_id == world.staff.pk


def test_an_info_report_with_its_bulletin_issue_committee_adoptions_and_instructions(world, client_for):
    pw = make_proposal_world(world, "info_report")
    output = pw.output
    Output.objects.filter(pk=output.pk).update(
        situation="城区多所学校门口上下学时段拥堵。",
        analysis="停车位不足，疏导力量薄弱。",
        suggestion="建议错峰放学。",
        bulletin_year=2026,
        bulletin_issue=12,
    )
    city = Organisation.objects.get(pk=world.org.parent_id)
    Adoption.objects.create(
        output=output, organisation=world.org, adopted=True, level="district", decided_by=world.staff
    )
    Adoption.objects.create(
        output=output, organisation=city, adopted=True, level="city", note="编入专报", decided_by=world.outsider
    )
    Instruction.objects.create(
        output=output,
        leader="吴书记",
        rank=InstructionRank.CITY,
        text="请教育局会同公安局研究落实。",
        given_on=date(2026, 11, 20),
        recorded_by=world.staff,
    )
    output.refresh_from_db()
    document, text = read(export(client_for(world.staff), output))
    assert "社情民意 2026年第12期" in text.splitlines()
    assert paragraph(document, output.title).alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert f"报送单位：{world.org.name}社会和法制委员会" in text
    assert "一、基本情况" in text and "城区多所学校门口上下学时段拥堵。" in text
    assert "二、分析" in text and "三、建议" in text and "建议错峰放学。" in text
    assert "四、采用情况" in text
    assert f"{world.org.name}：采用（区县政协）" in text and f"{city.name}：采用（市政协）" in text
    assert "编入专报" in text
    assert "五、领导批示" in text
    assert "（一）吴书记（市厅级领导），2026年11月20日批示" in text
    assert "请教育局会同公安局研究落实。" in text
    no_constituent_in(text, output)
    assert len(exports_of(output)) == 1


def test_a_speech_with_its_form_signers_and_selection(world, client_for):
    pw = make_proposal_world(world, "speech")
    output = pw.output
    Output.objects.filter(pk=output.pk).update(
        title="关于守护学生上学路的发言",
        speech_form=SpeechForm.JOINT,
        selection=SpeechSelection.ORAL,
        minutes=8,
        body="各位委员：\n上下学安全关系千家万户。",
    )
    output.refresh_from_db()
    document, text = read(export(client_for(world.staff), output))
    assert paragraph(document, "关于守护学生上学路的发言").alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert "发言形式：联名发言" in text
    assert "发言人：王委员" in text and "联名人：李委员、孙委员" in text
    assert "采用情况：口头发言（8分钟）" in text
    assert "上下学安全关系千家万户。" in text.splitlines()
    assert paragraph(document, "各位委员：").paragraph_format.first_line_indent == Pt(32)
    no_constituent_in(text, output)


def test_a_research_report_with_its_committee_and_text(world, client_for):
    pw = make_proposal_world(world, "research_report")
    output = pw.output
    Output.objects.filter(pk=output.pk).update(
        title="关于全区校园周边交通安全的调研报告", body="调研组走访了十二所学校。\n形成以下建议。"
    )
    output.refresh_from_db()
    document, text = read(export(client_for(world.staff), output))
    section = document.sections[0]
    assert mm(section.page_width, section.top_margin, section.left_margin) == (210, 37, 28)
    assert "关于全区校园周边交通安全的调研报告" in text
    assert f"调研单位：{world.org.name}社会和法制委员会" in text
    assert "调研组走访了十二所学校。" in text.splitlines()
    no_constituent_in(text, output)


def test_text_with_control_characters_still_makes_a_document(world, client_for):
    pw = make_proposal_world(world, "research_report")
    Output.objects.filter(pk=pw.output.pk).update(body="第一段\x0b含控制字符\x01。")
    _document, text = read(export(client_for(world.staff), Output.objects.get(pk=pw.output.pk)))
    assert "第一段含控制字符。" in text
