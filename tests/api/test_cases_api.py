"""The case API end to end: every transition through HTTP, scoping, the error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casework.choices import CaseStatus
from casework.models import AuditEvent, Case
from tests.helpers import events, snapshot, today


def file(client, world, **extra):
    body = {
        "title": "村道破损",
        "description": "院桥镇某村村道坑洼，雨天积水。",
        "category": world.category.pk,
        "township": world.township.pk,
        "contacts": world.contact_ids(),
        **extra,
    }
    response = client.post("/api/v1/cases/", body, format="json")
    assert response.status_code == 201, response.json()
    return Case.objects.get(pk=response.json()["id"])


def go(client, case, name, expect=200, **body):
    response = client.post(f"/api/v1/cases/{case.pk}/transitions/{name}/", body, format="json")
    assert response.status_code == expect, response.content
    return response.json() if response.content else None


def test_every_transition_through_the_api(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    draft = file(member, world, submit=False)
    assert draft.status == CaseStatus.DRAFT
    body = go(member, draft, "submit")
    assert body["status"] == "review" and body["task"]["stage"] == "review"

    assert go(staff, draft, "claim")["task"]["claimed_by"] == world.staff.pk
    assert go(staff, draft, "release")["task"]["claimed_by"] is None
    assert go(staff, draft, "request_info", question="请补充照片")["status"] == "needs_info"
    assert go(member, draft, "answer_info", answer="照片已补充")["status"] == "review"
    assert go(staff, draft, "accept", note="转社情民意")["status"] == "conversion"
    assert go(staff, draft, "send_back", reason="再议")["status"] == "review"
    assert go(staff, draft, "accept")["status"] == "conversion"
    converted = go(staff, draft, "convert", output_type="info_report", title="关于村道修复的社情民意")
    assert converted["status"] == "outcome" and converted["output"] is not None

    output_url = f"/api/v1/outputs/{converted['output']}/transitions"
    staff.post(f"{output_url}/edit/", {"analysis": "分析", "suggestion": "建议"}, format="json")
    assert staff.post(f"{output_url}/submit/", format="json").json()["status"] == "submitted"
    assert staff.post(f"{output_url}/use/", format="json").json()["status"] == "used"
    response = staff.post(
        f"{output_url}/instruct/",
        {"leader": "周主席", "rank": "city", "text": "已列入年度修复计划", "given_on": str(timezone.localdate())},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "used"
    assert [c["id"] for c in response.json()["cases"]] == [draft.pk]
    detail = member.get(f"/api/v1/cases/{draft.pk}/").json()
    assert detail["status"] == "feedback" and "已列入年度修复计划" in detail["outcome"]
    closed = go(member, draft, "feedback", told_on=today(), method="visit", satisfaction="satisfied")
    assert closed["status"] == "closed"

    timeline = member.get(f"/api/v1/cases/{draft.pk}/events/").json()["results"]
    assert [e["action"] for e in timeline] == [a for a, _ in events(draft)]
    assert timeline[0]["actor"] == world.member.user.pk and timeline[0]["source_ip"] == "127.0.0.1"
    assert {e["actor"] for e in timeline if e["action"] == "case.accepted"} == {world.staff.pk}


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("reject", {"reason": None, "note": "不属于政协职责"}, "feedback"),
        ("redirect", {"channel": "hotline_12345"}, "feedback"),
        ("resolve", {"note": "已当场答复"}, "feedback"),
    ],
)
def test_review_decisions_through_the_api(world, client_for, name, body, status):
    member, staff = client_for(world.member.user), client_for(world.staff)
    case = file(member, world)
    if name == "reject":
        body = {**body, "reason": world.reason.pk}
    assert go(staff, case, name, **body)["status"] == status
    assert go(member, case, "feedback", told_on=today(), method="phone", satisfaction="satisfied")["status"] == "closed"


def test_merge_through_the_api(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    master, duplicate = file(member, world), file(member, world)
    body = go(staff, duplicate, "merge", into=master.pk)
    assert (body["status"], body["merged_into"], body["task"]) == ("merged", master.pk, None)


def test_not_allowed_answers_409_in_the_one_error_shape_and_changes_nothing(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    case = file(member, world)
    before = snapshot(case)
    body = go(staff, case, "convert", expect=409, output_type="proposal")
    assert body["error"]["code"] == "transition_not_allowed"
    assert "委办审核" in body["error"]["message"]
    assert body["error"]["details"] == {"status": "review"}
    refused = go(staff, case, "feedback", expect=409, told_on=today(), method="visit", satisfaction="satisfied")
    assert refused["error"]["code"]
    assert snapshot(case) == before


def test_bad_input_answers_400_and_changes_nothing(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    case = file(member, world)
    before = snapshot(case)
    assert go(staff, case, "reject", expect=400)["error"] == {
        "code": "required",
        "message": "「不予受理理由」不能为空。",
        "details": {"field": "reason", "fields": {"reason": "「不予受理理由」不能为空。"}},
    }
    assert go(staff, case, "redirect", expect=400, channel="nowhere")["error"]["code"] == "invalid_choice"
    assert go(staff, case, "fly", expect=404)["error"]["code"] == "not_found"
    assert snapshot(case) == before

    count = Case.objects.count()
    response = member.post("/api/v1/cases/", {"title": "", "description": "x", "category": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "required"
    assert set(response.json()["error"]["details"]["fields"]) == {"title", "category"}
    response = member.post("/api/v1/cases/", {"title": "t", "description": "x", "category": 999999}, format="json")
    assert response.json()["error"] == {
        "code": "invalid_category",
        "message": "类别不存在。",
        "details": {"field": "category"},
    }
    assert Case.objects.count() == count


def test_scoping_members_staff_and_organisations(world, client_for):
    member, other_member = client_for(world.member.user), client_for(world.other_member.user)
    staff, other_staff = client_for(world.staff), client_for(world.other_staff)
    outsider, leader = client_for(world.outsider), client_for(world.leader)
    case = file(member, world)
    draft = file(member, world, submit=False)
    before = snapshot(case)

    for client in (other_member, other_staff, outsider):
        assert client.get(f"/api/v1/cases/{case.pk}/").status_code == 404
        assert client.get(f"/api/v1/cases/{case.pk}/events/").status_code == 404
        assert go(client, case, "accept", expect=404)["error"]["code"] == "case_not_found"
        assert client.get("/api/v1/cases/").json()["results"] == []
    assert snapshot(case) == before

    assert [c["id"] for c in member.get("/api/v1/cases/").json()["results"]] == [draft.pk, case.pk]
    # Staff and leadership see submitted cases, never a member's draft.
    assert [c["id"] for c in staff.get("/api/v1/cases/").json()["results"]] == [case.pk]
    assert [c["id"] for c in leader.get("/api/v1/cases/").json()["results"]] == [case.pk]
    assert staff.get(f"/api/v1/cases/{draft.pk}/").status_code == 404

    assert [q["id"] for q in staff.get("/api/v1/queues/").json()] == [world.committee.pk]
    assert other_staff.get(f"/api/v1/queues/{world.committee.pk}/tasks/").status_code == 404
    assert outsider.post(f"/api/v1/queues/{world.committee.pk}/claim-next/").status_code == 404
    assert member.get("/api/v1/queues/").json() == []


def test_unauthenticated_requests_are_refused(world):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/cases/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_edit_is_audited_with_what_changed(world, client_for):
    member = client_for(world.member.user)
    case = file(member, world, submit=False)
    response = member.patch(f"/api/v1/cases/{case.pk}/", {"title": "村道破损严重", "urgency": "urgent"}, format="json")
    assert response.status_code == 200 and response.json()["title"] == "村道破损严重"
    event = AuditEvent.objects.filter(target_id=case.pk, action="case.updated").get()
    assert event.changes == {"title": ["村道破损", "村道破损严重"], "urgency": ["normal", "urgent"]}
    assert event.actor_id == world.member.user.pk


def test_staff_cannot_give_consent_on_the_constituents_behalf(world, client_for):
    """Before: PATCH {"consent_to_share": true} as staff went through."""
    case = file(client_for(world.member.user), world)
    before = snapshot(case)

    response = client_for(world.staff).patch(f"/api/v1/cases/{case.pk}/", {"consent_to_share": True}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "field_not_yours"
    assert snapshot(case) == before


def test_contact_names_reach_staff_only_with_consent(world, client_for):
    """Before: the detail gave staff and leadership every contact's name, consent or not."""
    member, staff, leader = client_for(world.member.user), client_for(world.staff), client_for(world.leader)
    without, with_consent = file(member, world), file(member, world, consent_to_share=True)
    names = {c.pk: c.name for c in without.contacts.all()}

    for client in (staff, leader):
        contacts = client.get(f"/api/v1/cases/{without.pk}/").json()["contacts"]
        assert sorted(c["id"] for c in contacts) == sorted(names) and {c["name"] for c in contacts} == {None}
        shown = client.get(f"/api/v1/cases/{with_consent.pk}/").json()["contacts"]
        assert None not in {c["name"] for c in shown}
    assert {c["name"] for c in member.get(f"/api/v1/cases/{without.pk}/").json()["contacts"]} == set(names.values())


def test_the_detail_says_what_the_caller_may_do_now(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    case = file(member, world)

    offered = {t["name"]: t for t in staff.get(f"/api/v1/cases/{case.pk}/").json()["available_transitions"]}
    assert list(offered) == [
        "claim",
        "accept",
        "request_info",
        "resolve",
        "redirect",
        "reject",
        "merge",
        "transfer",
        "edit",
    ]
    reason = next(f for f in offered["reject"]["fields"] if f["name"] == "reason")
    assert (reason["required"], reason["kind"], reason["options"]) == (True, "ref", "reject_reasons")
    assert member.get(f"/api/v1/cases/{case.pk}/").json()["available_transitions"] == []

    go(staff, case, "claim")
    taken = [
        t["name"] for t in client_for(world.staff2).get(f"/api/v1/cases/{case.pk}/").json()["available_transitions"]
    ]
    assert taken == ["edit"]  # claimed by another: only the content stays editable


def test_reference_data_for_the_callers_forms(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    case = file(member, world)

    assert [c["id"] for c in member.get("/api/v1/categories/").json()] == [world.category.pk]
    assert [t["id"] for t in member.get("/api/v1/townships/").json()] == [world.township.pk]
    assert {c["id"] for c in staff.get("/api/v1/committees/").json()} == {world.committee.pk, world.other_committee.pk}
    assert [r["id"] for r in staff.get("/api/v1/reject-reasons/").json()] == [world.reason.pk]
    assert {c["value"] for c in staff.get("/api/v1/redirect-channels/").json()} >= {"petition", "hotline_12345"}
    assert sorted(c["id"] for c in member.get("/api/v1/contacts/").json()) == sorted(world.contact_ids())
    assert staff.get("/api/v1/contacts/").json() == []
    assert client_for(world.outsider).get("/api/v1/categories/").json() == []

    other = file(member, world)
    targets = staff.get(f"/api/v1/cases/{case.pk}/merge-targets/", {"q": str(other.pk)}).json()
    assert [t["id"] for t in targets] == [other.pk]
    go(staff, other, "accept")
    go(staff, other, "convert", output_type="proposal", title="草稿提案")
    go(staff, case, "accept")
    joinable = staff.get(f"/api/v1/cases/{case.pk}/joinable-outputs/", {"output_type": "proposal"}).json()
    assert [o["title"] for o in joinable] == ["草稿提案"]
    assert staff.get(f"/api/v1/cases/{case.pk}/joinable-outputs/", {"output_type": "speech"}).json() == []
    assert client_for(world.other_staff).get(f"/api/v1/cases/{case.pk}/joinable-outputs/").status_code == 404


def test_a_timeline_shows_another_persons_address_to_auditors_only(world, client_for):
    """Every audited action keeps its source address; the timeline a member or staff reads
    used to carry the addresses of everyone who touched the case (the staff's office machines
    among them). Now each reads only the address of their own actions; an auditor reads all."""
    from django.contrib.auth.models import Group
    from django.test import Client

    from casework.choices import Role

    member, staff = client_for(world.member.user), client_for(world.staff)
    response = member.post(
        "/api/v1/cases/",
        {"title": "村道破损", "description": "积水", "category": world.category.pk},
        format="json",
        REMOTE_ADDR="198.51.100.7",
    )
    case = Case.objects.get(pk=response.json()["id"])
    claimed = staff.post(f"/api/v1/cases/{case.pk}/transitions/claim/", {}, format="json", REMOTE_ADDR="10.20.30.40")
    assert claimed.status_code == 200
    assert list(AuditEvent.objects.filter(stream=f"case:{case.pk}").values_list("source_ip", flat=True)) == [
        "198.51.100.7",
        "10.20.30.40",
    ]

    def addresses(client):
        return [e["source_ip"] for e in client.get(f"/api/v1/cases/{case.pk}/events/").json()["results"]]

    assert addresses(member) == ["198.51.100.7", None]
    assert addresses(staff) == [None, "10.20.30.40"]
    assert addresses(client_for(world.leader)) == [None, None]
    world.leader.groups.add(Group.objects.get_or_create(name=Role.AUDITOR)[0])
    assert addresses(client_for(world.leader)) == ["198.51.100.7", "10.20.30.40"]

    # The case page reads the same timeline.
    page = Client()
    page.force_login(world.member.user)
    shown = page.get(f"/cases/{case.pk}/")
    assert shown.status_code == 200
    assert [e.source_ip for e in shown.context["events"]] == ["198.51.100.7", None]
    assert "10.20.30.40" not in shown.content.decode()


def test_feedback_through_the_api_records_and_shows_the_day_told(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    case = file(member, world)
    go(staff, case, "resolve", note="已当场答复")
    assert member.get(f"/api/v1/cases/{case.pk}/").json()["feedback_told_on"] is None
    fields = {f["name"]: f for t in go_detail(member, case)["available_transitions"] for f in t["fields"]}
    assert fields["told_on"]["kind"] == "date" and fields["told_on"]["required"] is True
    before = snapshot(case)

    missing = go(member, case, "feedback", expect=400, method="visit", satisfaction="satisfied")["error"]
    assert (missing["code"], missing["details"]["field"]) == ("required", "told_on")
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    ahead = go(member, case, "feedback", expect=400, told_on=tomorrow, method="visit", satisfaction="satisfied")
    assert ahead["error"]["code"] == "told_on_in_future" and "不能晚于今天" in ahead["error"]["message"]
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    early = go(member, case, "feedback", expect=400, told_on=yesterday, method="visit", satisfaction="satisfied")
    assert early["error"]["code"] == "told_on_before_outcome" and "不能早于" in early["error"]["message"]
    assert snapshot(case) == before

    body = go(member, case, "feedback", told_on=today(), method="visit", satisfaction="satisfied")
    assert (body["status"], body["feedback_told_on"]) == ("closed", today())
    assert member.get(f"/api/v1/cases/{case.pk}/").json()["feedback_told_on"] == today()


def go_detail(client, case):
    response = client.get(f"/api/v1/cases/{case.pk}/")
    assert response.status_code == 200
    return response.json()
