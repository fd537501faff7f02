"""A research report (调研报告) through the API: the committee's staff submit it, the
organisation's leadership return it with a reason or approve it, the staff edit and submit a
returned one again, and the approved report is transmitted and numbered; each step is on every
gathered case's timeline, the transmission moves them, and the refused paths change nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from casework.choices import AuditAction, CaseStatus, OutputStatus, Role
from casework.models import AuditEvent, Output
from tests.factories import make_user
from tests.helpers import file
from tests.outputs.proposal_world import convert, make_proposal_world
from tests.outputs.test_proposal_api import case_events, detail, nothing_changed, post

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


@pytest.fixture
def pw(world):
    return make_proposal_world(world, output_type="research_report")


def path(output, name):
    return f"outputs/{output.pk}/transitions/{name}/"


def test_returned_edited_resubmitted_approved_and_transmitted(pw, client_for):
    w = pw.world
    staff, leader, member = client_for(w.staff), client_for(w.leader), client_for(w.member.user)
    output = pw.output

    # Only the committee's staff submit it.
    before = AuditEvent.objects.count()
    assert post(member, path(output, "submit"), 403)["error"]["code"] == "not_committee_staff"
    nothing_changed(before, output)
    post(staff, path(output, "edit"), body="一、基本情况……二、存在问题……三、对策建议……")
    assert post(staff, path(output, "submit"))["status"] == "submitted"

    # Only the organisation's leadership approve or return it; staff, members and the parent
    # organisation's leadership may not.
    parent_leader = make_user(output.organisation.parent, Role.LEADERSHIP, "市政协领导")
    before = AuditEvent.objects.count()
    assert post(staff, path(output, "approve"), 403)["error"]["code"] == "not_leadership"
    assert post(member, path(output, "return"), 403, reason="x")["error"]["code"] == "not_leadership"
    assert client_for(parent_leader).post(f"/api/v1/{path(output, 'approve')}", {}, format="json").status_code == 404
    # A return needs its reason.
    assert post(leader, path(output, "return"), 400)["error"]["details"]["field"] == "reason"
    assert nothing_changed(before, output).status == OutputStatus.SUBMITTED
    assert [t["name"] for t in detail(leader, output)["available_transitions"]] == ["approve", "return"]

    body = post(leader, path(output, "return"), reason="对策建议须更具体，补充数据。")
    assert (body["status"], body["decision_note"]) == ("returned", "对策建议须更具体，补充数据。")
    for case in pw.cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.OUTCOME  # a return is told, and the cases wait on

    # The staff edit the returned report and submit it again; it cannot be transmitted unapproved.
    assert post(staff, path(output, "transmit"), 409)["error"]["code"] == "transition_not_allowed"
    post(staff, path(output, "edit"), body="一、基本情况……二、存在问题（附数据）……三、五条具体建议……")
    assert post(staff, path(output, "submit"))["status"] == "submitted"
    before = AuditEvent.objects.count()
    assert post(staff, path(output, "edit"), 409, title="改题")["error"]["code"] == "transition_not_allowed"
    nothing_changed(before, output)
    assert post(leader, path(output, "approve"), note="同意报送")["status"] == "approved"

    # Leadership approve; the staff transmit.
    assert post(leader, path(output, "transmit"), 403)["error"]["code"] == "not_committee_staff"
    body = post(staff, path(output, "transmit"), note="报送区委、区政府")
    assert (body["status"], body["number"]) == ("transmitted", f"调研报告 {YEAR}年第1号")
    assert body["available_transitions"] == []
    for case in pw.cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK
        assert f"调研报告 {YEAR}年第1号" in case.outcome and "报送区委、区政府" in case.outcome
        told = [c.get("event") for a, c in case_events(case) if a == AuditAction.CASE_OUTPUT_EVENT]
        assert told == [
            AuditAction.OUTPUT_SUBMITTED,
            AuditAction.RESEARCH_RETURNED,
            AuditAction.OUTPUT_SUBMITTED,
            AuditAction.RESEARCH_APPROVED,
        ], told
        summaries = [c.get("summary", "") for a, c in case_events(case)]
        assert any("对策建议须更具体" in text for text in summaries)


def test_transmitted_reports_are_numbered_per_organisation_and_year(pw, client_for):
    w = pw.world
    staff, leader = client_for(w.staff), client_for(w.leader)
    case = file(
        w.member.user,
        title="第二份调研",
        description="关于社区养老服务的调研。",
        category=w.category.pk,
        contacts=w.contact_ids()[:1],
    )
    second = Output.objects.get(pk=convert(w, case, output_type="research_report").output_id)
    numbers = []
    for output in (second, pw.output):
        post(staff, path(output, "submit"))
        post(leader, path(output, "approve"))
        numbers.append(post(staff, path(output, "transmit"))["number"])
    assert numbers == [f"调研报告 {YEAR}年第1号", f"调研报告 {YEAR}年第2号"]
