"""A proposal from draft to closed through the API, each step by its own role's login, with the
numbering, the reply clocks and each gathered case's timeline; and the paths refused on the
way, each changing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casework.choices import AssignmentStatus, AuditAction, CaseStatus, OutputStatus
from casework.models import Assignment, AuditEvent, Case, Output, OutputRating
from casework.services import deadlines
from tests.outputs.proposal_world import make_proposal_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def pw(world):
    return make_proposal_world(world)


def post(client, path, expect=200, **body):
    response = client.post(f"/api/v1/{path}", body, format="json")
    assert response.status_code == expect, response.content
    return response.json() if response.content else None


def detail(client, output):
    response = client.get(f"/api/v1/outputs/{output.pk}/")
    assert response.status_code == 200, response.content
    return response.json()


def signature_of(body, user):
    return next(s for s in body["signatures"] if s["user"]["id"] == user.pk)


def assignment_of(body, department, round_=None):
    rows = [a for a in body["assignments"] if a["department"]["id"] == department.pk]
    if round_ is not None:
        rows = [a for a in rows if a["round"] == round_]
    return rows[-1]


def nothing_changed(before_events, output):
    assert AuditEvent.objects.count() == before_events
    return Output.objects.get(pk=output.pk)


def submit(staff, output):
    post(staff, f"outputs/{output.pk}/transitions/edit/", suggestion="增设护学岗。")
    return post(staff, f"outputs/{output.pk}/transitions/submit/")


def case_events(case):
    return list(AuditEvent.objects.filter(stream=f"case:{case.pk}").order_by("seq").values_list("action", "changes"))


def test_three_cases_two_sectors_replied_b_rated_dissatisfied_rehandled_and_closed(pw, client_for):
    w = pw.world
    staff, office = client_for(w.staff), client_for(pw.office)
    members = [client_for(w.member.user), client_for(w.other_member.user), client_for(pw.third_member_user)]
    users = [w.member.user, w.other_member.user, pw.third_member_user]
    lead, co = client_for(pw.lead_liaison), client_for(pw.co_liaison)
    output = pw.output

    body = detail(staff, output)
    assert body["status"] == "draft" and len(body["cases"]) == 3
    assert [s["role"] for s in body["signatures"]] == ["first", "co", "co"]
    assert {c["member"]["id"] for c in body["cases"]} == {c.member_id for c in pw.cases}

    # Nobody may submit before every signer has confirmed, from their own login.
    before = AuditEvent.objects.count()
    refused = post(staff, f"outputs/{output.pk}/transitions/submit/", 409)
    assert refused["error"]["code"] == "transition_not_allowed"
    assert nothing_changed(before, output).status == OutputStatus.DRAFT
    # A signer confirms their own signature and nobody else's.
    other_signature = signature_of(body, users[1])["id"]
    before = AuditEvent.objects.count()
    assert post(members[0], f"signatures/{other_signature}/transitions/confirm/", 403)["error"]["code"] == (
        "not_your_signature"
    )
    nothing_changed(before, output)
    for client, user in zip(members, users, strict=True):
        mine = signature_of(detail(client, output), user)
        assert [t["name"] for t in mine["available_transitions"]] == ["confirm"]
        post(client, f"signatures/{mine['id']}/transitions/confirm/")

    post(staff, f"outputs/{output.pk}/transitions/edit/", analysis="校门口无停车秩序。", suggestion="增设护学岗。")
    body = post(staff, f"outputs/{output.pk}/transitions/submit/")
    assert body["status"] == "submitted"
    output.refresh_from_db()
    assert output.number_seq == 1 and output.number.endswith("第0001号")

    # The proposal office files it as a key proposal and assigns it: a lead and a co-handler.
    body = post(office, f"outputs/{output.pk}/transitions/file/", key=True, supervisor=w.leader.pk)
    assert (body["status"], body["is_key"], body["supervisor"]["id"]) == ("filed", True, w.leader.pk)
    body = post(
        office, f"outputs/{output.pk}/transitions/assign/", handling="joint", lead=pw.lead.pk, co_handlers=[pw.co.pk]
    )
    assert body["status"] == "assigned"
    lead_row, co_row = assignment_of(body, pw.lead), assignment_of(body, pw.co)
    assert (lead_row["role"], co_row["role"]) == ("lead", "co")
    assigned = Assignment.objects.get(pk=lead_row["id"])
    cal = deadlines.LenientCalendar()
    assert assigned.due_at == deadlines.add_months(cal, assigned.assigned_at, 3)
    assert assigned.latest_due_at == deadlines.add_months(cal, assigned.assigned_at, 6)
    assert assigned.objection_until == deadlines.add_working_days(cal, assigned.assigned_at, 7)

    # A department's liaison sees its own assignment's actions, and nothing of the other's.
    seen_by_lead = detail(lead, output)
    assert {t["name"] for t in assignment_of(seen_by_lead, pw.co)["available_transitions"]} == set()
    before = AuditEvent.objects.count()
    assert post(lead, f"assignments/{co_row['id']}/transitions/send_view/", 403, view="x")["error"]["code"] == (
        "not_your_department"
    )
    # Nor reply to it, nor does the co-handler reply to the lead's.
    assert post(lead, f"assignments/{co_row['id']}/transitions/reply/", 403, reply_class="A", text="x")["error"][
        "code"
    ] == ("not_your_department")
    assert post(co, f"assignments/{lead_row['id']}/transitions/reply/", 403, reply_class="A", text="x")["error"][
        "code"
    ] == ("not_your_department")
    # The lead cannot reply before the co-handler has countersigned.
    refused = post(lead, f"assignments/{lead_row['id']}/transitions/reply/", 409, reply_class="B", text="列入计划")
    assert "会签" in refused["error"]["message"]
    # The co-handler does not reply itself.
    post(co, f"assignments/{co_row['id']}/transitions/reply/", 409, reply_class="A", text="已解决")
    assert nothing_changed(before, output).status == OutputStatus.ASSIGNED
    assert Assignment.objects.get(pk=lead_row["id"]).status == AssignmentStatus.ASSIGNED

    post(lead, f"assignments/{lead_row['id']}/transitions/accept/")
    post(co, f"assignments/{co_row['id']}/transitions/send_view/", view="同意在校门口增设护学岗")
    body = post(lead, f"assignments/{lead_row['id']}/transitions/reply/", reply_class="B", text="已列入明年计划")
    assert body["status"] == "replied"
    for case in pw.cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK
        assert "已列入明年计划" in case.outcome and "区教育局" in case.outcome

    # Each signer rates from their own login, and only their own signature.
    body = detail(members[0], output)
    mine = signature_of(body, users[0])
    assert [t["name"] for t in mine["available_transitions"]] == ["rate"]
    before = AuditEvent.objects.count()
    others = signature_of(body, users[2])["id"]
    post(members[0], f"signatures/{others}/transitions/rate/", 403, process="satisfied", result="dissatisfied")
    nothing_changed(before, output)
    assert not OutputRating.objects.exists()
    post(members[0], f"signatures/{mine['id']}/transitions/rate/", process="satisfied", result="satisfied")
    post(members[0], f"signatures/{mine['id']}/transitions/rate/", 409, process="satisfied", result="satisfied")
    post(
        members[1],
        f"signatures/{signature_of(body, users[1])['id']}/transitions/rate/",
        process="satisfied",
        result="basically",
    )
    body = post(
        members[2],
        f"signatures/{signature_of(body, users[2])['id']}/transitions/rate/",
        process="basically",
        result="dissatisfied",
    )
    # 不满意: a second round, with a new three-month clock, for the same departments.
    assert (body["status"], body["round"]) == ("assigned", 2)
    second_lead = Assignment.objects.get(output=output, round=2, department=pw.lead)
    assert second_lead.due_at == deadlines.add_months(cal, second_lead.assigned_at, 3)
    assert second_lead.assigned_at > assigned.assigned_at
    second_co = Assignment.objects.get(output=output, round=2, department=pw.co)

    post(co, f"assignments/{second_co.pk}/transitions/send_view/", view="已增派警力")
    body = post(lead, f"assignments/{second_lead.pk}/transitions/reply/", reply_class="A", text="护学岗已设立")
    assert body["status"] == "replied"
    for client, user in zip(members, users, strict=True):
        mine = signature_of(detail(client, output), user)
        body = post(client, f"signatures/{mine['id']}/transitions/rate/", process="satisfied", result="satisfied")
    assert body["status"] == "closed" and body["followup_open"] is False

    # Every outcome event is on every gathered case's timeline.
    for case in pw.cases:
        told = [changes.get("event") for action, changes in case_events(case) if action == "case.output_event"]
        assert {
            AuditAction.OUTPUT_SUBMITTED,
            AuditAction.PROPOSAL_FILED,
            AuditAction.PROPOSAL_ASSIGNED,
            AuditAction.PROPOSAL_RATED,
        } <= set(told), told
        actions = [action for action, _changes in case_events(case)]
        assert AuditAction.CASE_OUTCOME_RECEIVED in actions


def test_a_b_reply_keeps_a_follow_up_open_until_solved(pw, client_for):
    w = pw.world
    office, lead = client_for(pw.office), client_for(pw.lead_liaison)
    output = pw.output
    for signer in output.signers.all():
        post(client_for(signer.user), f"signatures/{signer.pk}/transitions/confirm/")
    submit(client_for(w.staff), output)
    post(office, f"outputs/{output.pk}/transitions/file/")
    post(office, f"outputs/{output.pk}/transitions/assign/", handling="joint", lead=pw.lead.pk)
    assignment = Assignment.objects.get(output=output)
    post(lead, f"assignments/{assignment.pk}/transitions/report_solved/", 409, note="x")
    post(lead, f"assignments/{assignment.pk}/transitions/reply/", reply_class="B", text="部分解决")
    for signer in output.signers.all():
        body = post(
            client_for(signer.user),
            f"signatures/{signer.pk}/transitions/rate/",
            process="satisfied",
            result="basically",
        )
    assert (body["status"], body["followup_open"]) == ("closed", True)
    body = post(lead, f"assignments/{assignment.pk}/transitions/report_solved/", note="护学岗已全部设立")
    assert body["followup_open"] is False
    case = Case.objects.get(pk=pw.cases[0].pk)
    assert any(c.get("event") == AuditAction.ASSIGNMENT_SOLVED for _a, c in case_events(case))


def test_objection_within_the_window_and_reassignment(pw, client_for):
    w = pw.world
    office, lead = client_for(pw.office), client_for(pw.lead_liaison)
    output = pw.output
    for signer in output.signers.all():
        post(client_for(signer.user), f"signatures/{signer.pk}/transitions/confirm/")
    submit(client_for(w.staff), output)
    post(office, f"outputs/{output.pk}/transitions/file/")
    post(office, f"outputs/{output.pk}/transitions/assign/", handling="joint", lead=pw.lead.pk)
    first = Assignment.objects.get(output=output)
    post(lead, f"assignments/{first.pk}/transitions/object/", reason="校门外道路属公安交警职责")
    body = post(
        office, f"outputs/{output.pk}/transitions/reassign/", assignment=first.pk, department=pw.co.pk, note="改交公安"
    )
    assert assignment_of(body, pw.lead)["status"] == "withdrawn"
    fresh = Assignment.objects.get(output=output, department=pw.co)
    assert fresh.role == "lead" and fresh.status == AssignmentStatus.ASSIGNED
    # Past its window, a department can no longer object.
    Assignment.objects.filter(pk=fresh.pk).update(objection_until=timezone.now() - timedelta(seconds=1))
    refused = post(client_for(pw.co_liaison), f"assignments/{fresh.pk}/transitions/object/", 409, reason="不属本单位")
    assert "异议期已过" in refused["error"]["message"]


def test_extension_is_approved_but_never_past_six_months(pw, client_for):
    w = pw.world
    office, lead = client_for(pw.office), client_for(pw.lead_liaison)
    output = pw.output
    for signer in output.signers.all():
        post(client_for(signer.user), f"signatures/{signer.pk}/transitions/confirm/")
    submit(client_for(w.staff), output)
    post(office, f"outputs/{output.pk}/transitions/file/")
    post(office, f"outputs/{output.pk}/transitions/assign/", handling="joint", lead=pw.lead.pk)
    a = Assignment.objects.get(output=output)
    too_late = deadlines.last_day(a.latest_due_at) + timedelta(days=1)
    before = AuditEvent.objects.count()
    refused = post(
        lead, f"assignments/{a.pk}/transitions/request_extension/", 400, until=too_late.isoformat(), reason="需调研"
    )
    assert refused["error"]["code"] == "extension_too_long"
    nothing_changed(before, output)
    until = deadlines.last_day(a.due_at) + timedelta(days=30)
    post(lead, f"assignments/{a.pk}/transitions/request_extension/", until=until.isoformat(), reason="需调研")
    post(lead, f"assignments/{a.pk}/transitions/decide_extension/", 403, approve=True)
    post(office, f"assignments/{a.pk}/transitions/decide_extension/", approve=True)
    a.refresh_from_db()
    assert deadlines.last_day(a.due_at) == until


def test_split_assignment_waits_for_every_department(pw, client_for):
    w = pw.world
    office = client_for(pw.office)
    output = pw.output
    for signer in output.signers.all():
        post(client_for(signer.user), f"signatures/{signer.pk}/transitions/confirm/")
    submit(client_for(w.staff), output)
    post(office, f"outputs/{output.pk}/transitions/file/")
    post(office, f"outputs/{output.pk}/transitions/assign/", 400, handling="split", split=[pw.lead.pk])
    post(office, f"outputs/{output.pk}/transitions/assign/", handling="split", split=[pw.lead.pk, pw.co.pk])
    first, second = Assignment.objects.filter(output=output).order_by("id")
    body = post(client_for(pw.lead_liaison), f"assignments/{first.pk}/transitions/reply/", reply_class="A", text="甲")
    assert body["status"] == "assigned"
    assert Case.objects.get(pk=pw.cases[0].pk).status == CaseStatus.OUTCOME
    body = post(client_for(pw.co_liaison), f"assignments/{second.pk}/transitions/reply/", reply_class="C", text="乙")
    assert body["status"] == "replied"
    outcome = Case.objects.get(pk=pw.cases[0].pk).outcome
    assert "甲" in outcome and "乙" in outcome


def test_not_filed_with_consent_becomes_an_info_report_and_the_cases_follow(pw, client_for):
    w = pw.world
    office = client_for(pw.office)
    output = pw.output
    for signer in output.signers.all():
        post(client_for(signer.user), f"signatures/{signer.pk}/transitions/confirm/")
    submit(client_for(w.staff), output)
    before = AuditEvent.objects.count()
    refused = post(office, f"outputs/{output.pk}/transitions/not_file/", 400, reason=pw.reason.pk, to_info_report=True)
    assert refused["error"]["code"] == "consent_required"
    nothing_changed(before, output)
    body = post(
        office,
        f"outputs/{output.pk}/transitions/not_file/",
        reason=pw.reason.pk,
        to_info_report=True,
        proposer_consents=True,
    )
    assert body["status"] == "not_filed" and body["became"] is not None
    report = Output.objects.get(pk=body["became"])
    assert report.output_type == "info_report" and report.status == OutputStatus.DRAFT
    for case in pw.cases:
        case.refresh_from_db()
        assert (case.output_id, case.status) == (report.pk, CaseStatus.OUTCOME)


def test_withdrawn_moves_the_cases_to_feedback(pw, client_for):
    office = client_for(pw.office)
    output = pw.output
    for signer in output.signers.all():
        post(client_for(signer.user), f"signatures/{signer.pk}/transitions/confirm/")
    submit(client_for(pw.world.staff), output)
    post(office, f"outputs/{output.pk}/transitions/withdraw/", note="提案人申请撤案")
    for case in pw.cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK and "撤案" in case.outcome


def test_a_case_leaves_a_draft_and_goes_back_to_conversion(pw, client_for):
    staff = client_for(pw.world.staff)
    leaving = pw.cases[2]
    body = post(staff, f"outputs/{pw.output.pk}/transitions/remove_case/", case=leaving.pk)
    assert [c["id"] for c in body["cases"]] == [c.pk for c in pw.cases[:2]]
    assert pw.third_member_user.pk not in [s["user"]["id"] for s in body["signatures"]]
    leaving.refresh_from_db()
    assert (leaving.status, leaving.output_id) == (CaseStatus.CONVERSION, None)
    case_body = staff.get(f"/api/v1/cases/{leaving.pk}/").json()
    assert case_body["task"]["stage"] == "conversion"
    # Converted again, into a new output.
    post(staff, f"cases/{leaving.pk}/transitions/convert/", output_type="info_report", title="另行报送")
