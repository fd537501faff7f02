"""The pages of the proposal lifecycle: the output page with its signatures and assignments, the
proposal office's desk, a department liaison's desk, the member's signatures waiting on the home
page, the file upload and download. Each shows what its viewer may see, offers each form only to
whom it is for, and a refused post says why and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from casework.choices import AssignmentStatus, OutputStatus, Role
from casework.models import Assignment, AuditEvent, Department, Output, OutputFile, OutputSigner
from tests.factories import make_user
from tests.outputs.proposal_world import make_proposal_world
from workflows import output_actions

pytestmark = pytest.mark.django_db


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def act(kind, name, record, actor, **data):
    return output_actions.perform(kind, name, record_id=record.pk, actor=actor, data=data)


def signed_and_submitted(pw):
    output = pw.output
    for signer in output.signers.all():
        act("signature", "confirm", signer, signer.user)
    act("output", "edit", output, pw.world.staff, suggestion="增设护学岗。")
    act("output", "submit", output, pw.world.staff)
    return Output.objects.get(pk=output.pk)


def assigned(pw):
    output = signed_and_submitted(pw)
    act("output", "file", output, pw.office)
    act("output", "assign", output, pw.office, handling="joint", lead=pw.lead.pk, co_handlers=[pw.co.pk])
    return Output.objects.get(pk=output.pk)


@pytest.fixture
def pw(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return make_proposal_world(world)


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_output_page_shows_the_proposal_and_each_signer_their_own_confirm_form(pw):
    w, output = pw.world, pw.output
    signers = list(output.signers.order_by("id"))
    staff_page = text(page_client(w.staff).get(f"/outputs/{output.pk}/"))
    assert output.title in staff_page and "提交后编号" in staff_page
    for signer in signers:
        assert str(signer.user) in staff_page
        assert f'action="/signatures/{signer.pk}/do/confirm/"' not in staff_page  # staff confirm nobody's
    assert f'action="/outputs/{output.pk}/do/edit/"' in staff_page
    for case in pw.cases:
        assert f'href="/cases/{case.pk}/"' in staff_page

    first = text(page_client(w.member.user).get(f"/outputs/{output.pk}/"))
    assert f'action="/signatures/{signers[0].pk}/do/confirm/"' in first
    assert f'action="/signatures/{signers[1].pk}/do/confirm/"' not in first
    assert f'action="/outputs/{output.pk}/do/edit/"' not in first
    # A member sees their own case among the gathered ones, not the others'.
    assert f'href="/cases/{pw.cases[0].pk}/"' in first and f'href="/cases/{pw.cases[1].pk}/"' not in first


def test_a_signer_confirms_on_the_page_and_another_signers_post_is_refused(pw):
    w = pw.world
    mine, theirs = OutputSigner.objects.filter(output=pw.output).order_by("id")[:2]
    member = page_client(w.member.user)
    before = AuditEvent.objects.count()
    refused = member.post(f"/signatures/{theirs.pk}/do/confirm/", follow=True)
    assert refused.status_code == 200 and "您无权执行此操作。" in refused.content.decode()
    theirs.refresh_from_db()
    assert theirs.confirmed_at is None and AuditEvent.objects.count() == before

    done = member.post(f"/signatures/{mine.pk}/do/confirm/")
    assert done.status_code == 302 and done["Location"] == f"/outputs/{pw.output.pk}/"
    mine.refresh_from_db()
    assert mine.confirmed_at is not None


def test_a_refused_post_shows_the_error_on_the_form_and_changes_nothing(pw):
    """Submitting before every signer has confirmed: the reason is said, nothing moves."""
    staff = page_client(pw.world.staff)
    before = AuditEvent.objects.count()
    response = staff.post(f"/outputs/{pw.output.pk}/do/submit/", follow=True)
    body = text(response)
    assert "尚有署名人未确认" in body
    assert Output.objects.get(pk=pw.output.pk).status == OutputStatus.DRAFT
    assert AuditEvent.objects.count() == before

    # Bad input comes back onto the form, with what was typed.
    output = signed_and_submitted(pw)
    office = page_client(pw.office)
    before = AuditEvent.objects.count()
    body = text(office.post(f"/outputs/{output.pk}/do/not_file/", {"note": "理由另述"}))
    assert 'class="field field-reason has-error"' in body and "理由另述" in body
    assert Output.objects.get(pk=output.pk).status == OutputStatus.SUBMITTED
    assert AuditEvent.objects.count() == before


def test_another_departments_liaison_gets_404_and_each_department_sees_only_its_forms(pw):
    output = assigned(pw)
    lead_row = Assignment.objects.get(output=output, department=pw.lead)
    co_row = Assignment.objects.get(output=output, department=pw.co)
    third = Department.objects.create(organisation=pw.world.org, name="区交通运输局")
    stranger = make_user(pw.world.org, Role.DEPARTMENT_LIAISON, "交通局联络员")
    stranger.department = third
    stranger.save()
    outsider = page_client(stranger)
    assert outsider.get(f"/outputs/{output.pk}/").status_code == 404
    before = AuditEvent.objects.count()
    assert outsider.post(f"/assignments/{lead_row.pk}/do/accept/").status_code == 404
    assert AuditEvent.objects.count() == before

    lead_client = page_client(pw.lead_liaison)
    lead = text(lead_client.get(f"/outputs/{output.pk}/"))
    assert f'action="/assignments/{lead_row.pk}/do/accept/"' in lead
    assert f'action="/assignments/{lead_row.pk}/files/"' in lead
    assert f"/assignments/{co_row.pk}/do/" not in lead and f'action="/assignments/{co_row.pk}/files/"' not in lead
    co = text(page_client(pw.co_liaison).get(f"/outputs/{output.pk}/"))
    assert f'action="/assignments/{co_row.pk}/do/send_view/"' in co
    assert f"/assignments/{lead_row.pk}/do/" not in co

    # The lead's post on the co-handler's assignment is refused and changes nothing.
    before = AuditEvent.objects.count()
    response = lead_client.post(f"/assignments/{co_row.pk}/do/accept/", follow=True)
    assert response.status_code == 200 and "您无权执行此操作。" in response.content.decode()
    assert Assignment.objects.get(pk=co_row.pk).status == AssignmentStatus.ASSIGNED
    assert AuditEvent.objects.count() == before


def test_the_department_uploads_a_file_and_whoever_sees_the_output_downloads_it(pw):
    output = assigned(pw)
    lead_row = Assignment.objects.get(output=output, department=pw.lead)
    lead = page_client(pw.lead_liaison)
    content = b"%PDF-1.4 reply letter"
    done = lead.post(
        f"/assignments/{lead_row.pk}/files/", {"file": SimpleUploadedFile("答复函.pdf", content, "application/pdf")}
    )
    assert done.status_code == 302
    row = OutputFile.objects.get(assignment=lead_row)
    assert row.name == "答复函.pdf"
    page = text(page_client(pw.world.member.user).get(f"/outputs/{output.pk}/"))
    assert f'href="/files/{row.pk}/"' in page

    download = page_client(pw.world.member.user).get(f"/files/{row.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == content
    assert download["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E7%AD%94%E5%A4%8D%E5%87%BD.pdf" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff" and "no-store" in download["Cache-Control"]
    assert page_client(pw.world.other_staff).get(f"/files/{row.pk}/").status_code == 404
    assert page_client(pw.world.outsider).get(f"/files/{row.pk}/").status_code == 404

    # A refused upload (a kind offices do not send) says why on the form and stores nothing.
    before = (AuditEvent.objects.count(), OutputFile.objects.count())
    body = text(lead.post(f"/assignments/{lead_row.pk}/files/", {"file": SimpleUploadedFile("x.exe", b"MZ")}))
    assert "只能上传以下类型的文件" in body
    assert (AuditEvent.objects.count(), OutputFile.objects.count()) == before
    # The co-handler may not upload onto the lead's assignment.
    refused = page_client(pw.co_liaison).post(
        f"/assignments/{lead_row.pk}/files/", {"file": SimpleUploadedFile("y.pdf", b"%PDF")}
    )
    assert refused.status_code == 302 and OutputFile.objects.count() == before[1]


def test_the_office_desk_lists_what_waits_on_the_office(pw):
    office = page_client(pw.office)
    output = signed_and_submitted(pw)
    desk = text(office.get("/office/"))
    assert f'href="/outputs/{output.pk}/"' in desk
    assert desk.index("待审查的提案") < desk.index(output.title) < desk.index("已立案待交办")
    assert page_client(pw.world.staff).get("/office/").status_code == 404
    assert page_client(pw.lead_liaison).get("/office/").status_code == 404

    act("output", "file", output, pw.office)
    desk = text(office.get("/office/"))
    assert desk.index("已立案待交办") < desk.index(output.title) < desk.index("承办单位提出异议")
    act("output", "assign", output, pw.office, handling="joint", lead=pw.lead.pk, co_handlers=[pw.co.pk])
    lead_row = Assignment.objects.get(output=output, department=pw.lead)
    act("assignment", "object", lead_row, pw.lead_liaison, reason="不属本单位职责")
    desk = text(office.get("/office/"))
    assert f'href="/outputs/{output.pk}/#assignment-{lead_row.pk}"' in desk and "不属本单位职责" in desk
    assert desk.index("承办单位提出异议") < desk.index("不属本单位职责") < desk.index("待审批的延期申请")


def test_the_liaison_desk_lists_open_assignments_first_soonest_due_first(pw):
    output = assigned(pw)
    lead_row = Assignment.objects.get(output=output, department=pw.lead)
    lead_row.due_at = timezone.now() - timedelta(days=1)
    lead_row.save(update_fields=["due_at"])
    desk = text(page_client(pw.lead_liaison).get("/desk/"))
    assert pw.lead.name in desk and f'href="/outputs/{output.pk}/#assignment-{lead_row.pk}"' in desk
    assert "已超期" in desk and "异议期至" in desk
    assert page_client(pw.office).get("/desk/").status_code == 404
    assert page_client(pw.world.member.user).get("/desk/").status_code == 404
    # The header links each role to its desk.
    assert 'href="/desk/"' in desk and 'href="/office/"' not in desk
    assert 'href="/office/"' in text(page_client(pw.office).get("/"))


def test_the_home_page_lists_signatures_waiting_on_the_member(pw):
    member = page_client(pw.world.member.user)
    signer = OutputSigner.objects.get(output=pw.output, user=pw.world.member.user)
    home = text(member.get("/"))
    assert "待我确认/评价" in home and f'href="/outputs/{pw.output.pk}/#signature-{signer.pk}"' in home
    assert "请确认署名" in home
    act("signature", "confirm", signer, signer.user)
    assert "待我确认/评价" not in text(member.get("/"))


def test_the_office_searches_the_proposal_to_merge_into(pw):
    from tests.web.test_parity_with_api import _proposal

    output = signed_and_submitted(pw)
    other = _proposal(pw.world, "另一件")
    for signer in other.signers.all():
        act("signature", "confirm", signer, signer.user)
    act("output", "edit", other, pw.world.staff, title="关于增设路灯的提案", suggestion="增设路灯。")
    act("output", "submit", other, pw.world.staff)
    other.refresh_from_db()
    office = page_client(pw.office)
    key = f"output{output.pk}-merge-q"
    found = text(office.get(f"/outputs/{output.pk}/", {key: "路灯"}))
    assert f'<option value="{other.pk}">' in found and 'value="路灯"' in found
    missed = text(office.get(f"/outputs/{output.pk}/", {key: "没有这样的提案"}))
    assert f'<option value="{other.pk}">' not in missed
    by_number = text(office.get(f"/outputs/{output.pk}/", {key: other.number}))
    assert f'<option value="{other.pk}">' in by_number
