"""An info report (社情民意信息) through the API: submitted by the committee's staff within the
length limit, used in a bulletin issue numbered per organisation and year, sent up the tree,
adopted or not by each parent organisation's staff from their own queue, and a leader's
instruction on it; every decision told to each gathered case back down, and the refused paths
changing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casework.choices import AuditAction, CaseStatus, OrgLevel, OutputStatus, Role
from casework.models import Adoption, AuditEvent, Case, Committee, Instruction, Organisation, Output, OutputRules
from tests.factories import make_user, make_world
from tests.helpers import file
from tests.outputs.proposal_world import convert, make_proposal_world
from tests.outputs.test_proposal_api import case_events, detail, nothing_changed, post

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


@pytest.fixture
def pw(world):
    return make_proposal_world(world, output_type="info_report")


def path(output, name):
    return f"outputs/{output.pk}/transitions/{name}/"


def write(staff, output, situation="校门口上下学时段车辆乱停。"):
    return post(
        staff, path(output, "edit"), situation=situation, analysis="缺少停车秩序管理。", suggestion="增设护学岗。"
    )


def told(case):
    """The output events on the case's timeline, and whether it received its outcome."""
    events = case_events(case)
    return (
        [changes.get("event") for action, changes in events if action == AuditAction.CASE_OUTPUT_EVENT],
        [changes for action, changes in events if action == AuditAction.CASE_OUTCOME_RECEIVED],
    )


def referrals(client, **params):
    response = client.get("/api/v1/referrals/", params)
    assert response.status_code == 200, response.content
    return response.json()


def another_report(world, title="关于老旧小区加装电梯的社情民意"):
    case = file(
        world.member.user,
        title=title,
        description="老旧小区老人上下楼难。",
        category=world.category.pk,
        contacts=world.contact_ids()[:1],
    )
    case = convert(world, case, output_type="info_report")
    return Output.objects.get(pk=case.output_id)


def test_used_sent_up_twice_adopted_at_each_level_and_instructed(pw, client_for):
    w = pw.world
    staff, member, parent_staff = client_for(w.staff), client_for(w.member.user), client_for(w.outsider)
    output = pw.output
    assert detail(staff, output)["status"] == "draft"

    # Only the committee's staff submit it; a member who sees it may not.
    write(staff, output)
    before = AuditEvent.objects.count()
    assert post(member, path(output, "submit"), 403)["error"]["code"] == "not_committee_staff"
    assert nothing_changed(before, output).status == OutputStatus.DRAFT
    body = post(staff, path(output, "submit"))
    assert body["status"] == "submitted" and body["number"] == ""

    # The parent organisation's staff see nothing of it before it is sent up.
    assert client_for(w.outsider).get(f"/api/v1/outputs/{output.pk}/").status_code == 404
    assert referrals(parent_staff)["results"] == []

    # 编报: the organisation's first bulletin issue of the year.
    body = post(staff, path(output, "use"), note="编入专报")
    assert (body["status"], body["number"]) == ("used", f"社情民意 {YEAR}年第1期")
    assert (body["bulletin_year"], body["bulletin_issue"]) == (YEAR, 1)

    # Sent up to the parent organisation, which now holds it.
    assert post(member, path(output, "send_up"), 403)["error"]["code"] == "not_committee_staff"
    body = post(staff, path(output, "send_up"))
    assert body["status"] == "sent_up" and body["with_organisation"]["id"] == w.org.parent_id
    assert [t["name"] for t in body["available_transitions"]] == []

    # In the parent's queue, and theirs to decide; not in the sending organisation's.
    page = referrals(parent_staff)
    assert [r["id"] for r in page["results"]] == [output.pk] and page["next"] is None
    assert page["results"][0]["organisation"]["id"] == w.org.pk
    assert page["results"][0]["number"] == f"社情民意 {YEAR}年第1期"
    assert referrals(staff)["results"] == []
    seen = detail(parent_staff, output)
    assert [t["name"] for t in seen["available_transitions"]] == ["adopt", "not_adopt"]
    # The sending staff may no longer decide on it.
    before = AuditEvent.objects.count()
    assert post(staff, path(output, "adopt"), 403, level="city")["error"]["code"] == "not_receiving_staff"
    assert nothing_changed(before, output).status == OutputStatus.SENT_UP

    body = post(parent_staff, path(output, "adopt"), level="city", note="编入市政协专报")
    assert body["status"] == "adopted"
    assert [(a["organisation"]["id"], a["adopted"], a["level"]) for a in body["adoptions"]] == [
        (w.org.parent_id, True, "city")
    ]
    assert referrals(parent_staff)["results"] == []
    # The first decision up the tree moves every gathered case to feedback, with it as outcome.
    for case in pw.cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK and "采用" in case.outcome, case.outcome

    # The parent has no parent: sending further up is refused by name, and changes nothing.
    before = AuditEvent.objects.count()
    refused = post(parent_staff, path(output, "send_up"), 409)
    assert refused["error"]["code"] == "transition_not_allowed"
    assert "最高一级" in refused["error"]["message"] and str(w.org.parent) in refused["error"]["message"]
    assert nothing_changed(before, output).with_organisation_id == w.org.parent_id

    # Once the tree grows a province, the city's staff send it on; the province's staff adopt it.
    province = Organisation.objects.create(name="浙江省政协", level=OrgLevel.PROVINCE)
    Organisation.objects.filter(pk=w.org.parent_id).update(parent=province)
    province_user = make_user(province, Role.COMMITTEE_STAFF, "省政协干事")
    Committee.objects.create(organisation=province, name="办公厅").staff.add(province_user)
    province_staff = client_for(province_user)
    body = post(parent_staff, path(output, "send_up"))
    assert (body["status"], body["with_organisation"]["id"]) == ("sent_up", province.pk)
    assert referrals(parent_staff)["results"] == []
    assert [r["id"] for r in referrals(province_staff)["results"]] == [output.pk]
    # The city still sees the report it decided on, and may no longer act on it.
    assert detail(parent_staff, output)["available_transitions"] == []
    post(province_staff, path(output, "adopt"), level="party_government")

    # A leader's instruction, recorded by the staff who hold it now (the province's) only.
    instruction = {"leader": "王省长", "rank": "provincial", "text": "请省交通厅研究落实。", "given_on": "2026-01-15"}
    before = AuditEvent.objects.count()
    post(parent_staff, path(output, "instruct"), 403, **instruction)
    post(staff, path(output, "instruct"), 403, **instruction)
    nothing_changed(before, output)
    assert not Instruction.objects.exists()
    future = {**instruction, "given_on": (timezone.localdate() + timedelta(days=1)).isoformat()}
    assert post(province_staff, path(output, "instruct"), 400, **future)["error"]["code"] == "given_on_in_future"
    nothing_changed(before, output)
    body = post(province_staff, path(output, "instruct"), **instruction)
    assert [(i["leader"], i["rank"], i["given_on"]) for i in body["instructions"]] == [
        ("王省长", "provincial", "2026-01-15")
    ]
    assert body["status"] == "adopted"
    assert Adoption.objects.filter(output=output).count() == 2

    # Every step is on every gathered case's timeline, down at the lowest organisation.
    for case in pw.cases:
        events, received = told(case)
        assert events == [
            AuditAction.OUTPUT_SUBMITTED,
            AuditAction.INFO_REPORT_USED,
            AuditAction.INFO_REPORT_SENT_UP,
            AuditAction.INFO_REPORT_SENT_UP,
            AuditAction.INFO_REPORT_ADOPTED,
            AuditAction.INFO_REPORT_INSTRUCTED,
        ], events
        assert len(received) == 1 and "采用" in received[0]["outcome"]
        case_body = client_for(w.staff).get(f"/api/v1/cases/{case.pk}/events/").json()
        summaries = [e["changes"].get("summary", "") for e in case_body["results"]]
        assert any("王省长" in text and "请省交通厅研究落实" in text for text in summaries), summaries


def test_bulletin_issues_are_gapless_per_organisation_and_year(pw, client_for):
    w = pw.world
    staff = client_for(w.staff)
    second = another_report(w)
    for report in (pw.output, second):
        write(staff, report)
        post(staff, path(report, "submit"))
    # A refused use (the wrong party) takes no number.
    post(client_for(w.member.user), path(second, "use"), 403)
    assert post(staff, path(second, "use"))["number"] == f"社情民意 {YEAR}年第1期"
    assert post(staff, path(pw.output, "use"))["number"] == f"社情民意 {YEAR}年第2期"
    # Another organisation's bulletin starts at its own first issue.
    far = make_world("政协台州市路桥区委员会")
    far_report = another_report(far)
    far_staff = client_for(far.staff)
    write(far_staff, far_report)
    post(far_staff, path(far_report, "submit"))
    assert post(far_staff, path(far_report, "use"))["number"] == f"社情民意 {YEAR}年第1期"


def test_a_report_over_the_limit_is_refused_on_edit_and_on_submit(pw, client_for):
    w = pw.world
    staff = client_for(w.staff)
    output = pw.output
    write(staff, output)
    before = AuditEvent.objects.count()
    refused = post(staff, path(output, "edit"), 400, situation="很" * 1500)
    assert refused["error"]["code"] == "text_too_long"
    assert nothing_changed(before, output).situation == "校门口上下学时段车辆乱停。"

    # A case's description may be longer than a report: the draft it became is refused on submit.
    case = file(
        w.member.user, title="长篇反映", description="长" * 1501, category=w.category.pk, contacts=w.contact_ids()[:1]
    )
    case = convert(w, case, output_type="info_report")
    long_report = Output.objects.get(pk=case.output_id)
    assert long_report.text_length == 1501
    before = AuditEvent.objects.count()
    refused = post(staff, path(long_report, "submit"), 400)
    assert refused["error"]["code"] == "text_too_long"
    assert "1500" in refused["error"]["message"] and "1501" in refused["error"]["message"]
    assert "提交" in refused["error"]["message"]
    details = refused["error"]["details"]
    assert (details["field"], details["max"], details["length"]) == ("situation", 1500, 1501)
    assert nothing_changed(before, long_report).status == OutputStatus.DRAFT
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OUTCOME

    # Trimmed to exactly the limit over its three parts, it goes.
    post(staff, path(long_report, "edit"), situation="长" * 1490, analysis="分析五个字", suggestion="建议五个字")
    assert Output.objects.get(pk=long_report.pk).text_length == 1500
    assert post(staff, path(long_report, "submit"))["status"] == "submitted"

    # The limit is the organisation's rule: lowered after editing, it holds on submit too.
    post(staff, path(output, "edit"), situation="情" * 90)
    OutputRules.objects.create(organisation=w.org, info_report_max_chars=100)
    before = AuditEvent.objects.count()
    refused = post(staff, path(output, "submit"), 400)
    assert "最多 100 字，现为 105 字" in refused["error"]["message"]
    assert nothing_changed(before, output).status == OutputStatus.DRAFT


def test_a_report_needs_its_three_parts(pw, client_for):
    staff = client_for(pw.world.staff)
    before = AuditEvent.objects.count()
    refused = post(staff, path(pw.output, "submit"), 400)
    assert (refused["error"]["code"], refused["error"]["details"]["field"]) == ("empty_text", "analysis")
    assert nothing_changed(before, pw.output).status == OutputStatus.DRAFT


def test_not_used_moves_the_cases(pw, client_for):
    staff = client_for(pw.world.staff)
    write(staff, pw.output)
    post(staff, path(pw.output, "submit"))
    body = post(staff, path(pw.output, "not_use"), note="与已编报信息重复。")
    assert (body["status"], body["number"]) == ("not_used", "")
    assert post(staff, path(pw.output, "send_up"), 409)["error"]["code"] == "transition_not_allowed"
    for case in pw.cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK
        assert "未采用" in case.outcome and "与已编报信息重复" in case.outcome


def test_not_adopted_up_the_tree_moves_the_cases_and_ends_there(pw, client_for):
    w = pw.world
    staff, parent_staff = client_for(w.staff), client_for(w.outsider)
    write(staff, pw.output)
    for name in ("submit", "use", "send_up"):
        post(staff, path(pw.output, name))
    # Adopting needs its level.
    before = AuditEvent.objects.count()
    assert post(parent_staff, path(pw.output, "adopt"), 400)["error"]["details"]["field"] == "level"
    nothing_changed(before, pw.output)
    body = post(parent_staff, path(pw.output, "not_adopt"), note="已有同类信息")
    assert body["status"] == "not_adopted" and body["adoptions"][0]["adopted"] is False
    assert body["available_transitions"] == []
    assert post(parent_staff, path(pw.output, "send_up"), 409)["error"]["code"] == "transition_not_allowed"
    for case in pw.cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK and "未采用" in case.outcome
        events, received = told(case)
        assert AuditAction.INFO_REPORT_SENT_UP in events and len(received) == 1


def test_an_instruction_at_home_moves_the_cases(pw, client_for):
    w = pw.world
    staff = client_for(w.staff)
    write(staff, pw.output)
    post(staff, path(pw.output, "submit"))
    post(staff, path(pw.output, "use"))
    body = post(
        staff,
        path(pw.output, "instruct"),
        leader="李区长",
        rank="district",
        text="请区交通局牵头整治。",
        given_on=timezone.localdate().isoformat(),
    )
    assert body["status"] == "used" and len(body["instructions"]) == 1
    for case in pw.cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK and "李区长" in case.outcome and "请区交通局牵头整治" in case.outcome


def test_the_referral_queue_pages_by_keyset(pw, client_for):
    w = pw.world
    staff, parent_staff = client_for(w.staff), client_for(w.outsider)
    reports = [pw.output, another_report(w), another_report(w, "关于菜市场环境的社情民意")]
    for report in reports:
        write(staff, report)
        for name in ("submit", "use", "send_up"):
            post(staff, path(report, name))
    first = referrals(parent_staff, limit=2)
    assert [r["id"] for r in first["results"]] == sorted((r.pk for r in reports), reverse=True)[:2]
    assert first["next"] is not None
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    second = referrals(parent_staff, limit=2, cursor=cursor)
    assert [r["id"] for r in second["results"]] == [min(r.pk for r in reports)] and second["next"] is None
    # Members, leadership and other staff of the receiving organisation who do not decide see none.
    outsider_member = make_user(Organisation.objects.get(pk=w.org.parent_id), Role.LEADERSHIP, "市政协领导")
    assert referrals(client_for(outsider_member))["results"] == []
    assert referrals(client_for(w.member.user))["results"] == []
    bad = client_for(w.outsider).get("/api/v1/referrals/", {"cursor": "garbage!"})
    assert bad.status_code == 400
