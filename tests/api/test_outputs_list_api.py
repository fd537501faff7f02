"""The outputs a user may see, an output's timeline, the proposals it could be merged into and the
reference data the output transitions choose from: each scoped to the user (another department,
another organisation: not there, or 404), filtered and paged."""

from __future__ import annotations

import pytest

from casework.choices import AuditAction, Role
from casework.models import Department, OutputReason, Sector
from tests.api.proposal_steps import act, assigned, submitted
from tests.factories import make_user, make_world
from tests.helpers import file
from tests.outputs.proposal_world import convert, make_proposal_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def pw(world):
    return make_proposal_world(world)


def ids(client, path, **params):
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def error_code(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]["code"]


def another_output(pw, output_type="speech", title="关于老旧小区加装电梯的发言"):
    w = pw.world
    case = file(w.member.user, title=title, description="老旧小区上下楼难。", category=w.category.pk, contacts=[])
    output = convert(w, case, None, output_type).output
    return act("output", "edit", output.pk, w.staff, title=title)


def test_each_user_lists_the_outputs_they_may_see(pw, client_for):
    w = pw.world
    speech = another_output(pw)
    third = Department.objects.create(organisation=w.org, name="区民政局")
    bystander = make_user(w.org, Role.DEPARTMENT_LIAISON, "民政局联络员")
    bystander.department = third
    bystander.save()
    far = make_world("政协台州市路桥区委员会")

    def listed(user):
        return set(ids(client_for(user), "/api/v1/outputs/"))

    # A draft: its committee's staff, its signers and leadership; not yet the office or a department.
    assert listed(w.staff) == listed(w.leader) == {pw.output.pk, speech.pk}
    assert listed(w.other_member.user) == {pw.output.pk}  # a co-signer, by their gathered case
    assert listed(pw.office) == listed(pw.lead_liaison) == set()
    assigned(pw)
    assert listed(pw.office) == listed(pw.lead_liaison) == listed(pw.co_liaison) == {pw.output.pk}
    # Another department's liaison, anyone of another organisation, the auditor: none.
    for user in (bystander, far.staff, w.outsider, make_user(w.org, Role.AUDITOR)):
        assert listed(user) == set()


def test_outputs_filter_by_type_status_and_title_or_number(pw, client_for):
    speech = another_output(pw)
    proposal = submitted(pw)
    staff = client_for(pw.world.staff)
    assert ids(staff, "/api/v1/outputs/", output_type="speech") == [speech.pk]
    assert ids(staff, "/api/v1/outputs/", output_type="proposal") == [proposal.pk]
    assert ids(staff, "/api/v1/outputs/", status="submitted") == [proposal.pk]
    assert ids(staff, "/api/v1/outputs/", status="draft") == [speech.pk]
    assert ids(staff, "/api/v1/outputs/", q="电梯") == [speech.pk]
    assert proposal.number
    assert ids(staff, "/api/v1/outputs/", q=proposal.number[-6:]) == [proposal.pk]
    assert ids(staff, "/api/v1/outputs/", q="电梯", output_type="proposal") == []
    row = staff.get("/api/v1/outputs/", {"status": "submitted"}).json()["results"][0]
    assert (row["number"], row["output_type"], row["status_display"]) == (proposal.number, "proposal", "已提交")
    assert error_code(staff.get("/api/v1/outputs/", {"output_type": "poem"}), 400) == "invalid_output_type"
    assert error_code(staff.get("/api/v1/outputs/", {"status": "nope"}), 400) == "invalid_status"
    assert error_code(staff.get("/api/v1/outputs/", {"q": "a\x00b"}), 400) == "invalid_query"


def test_outputs_page_by_keyset_newest_first(pw, client_for):
    made = [pw.output.pk] + [another_output(pw, title=f"发言{i}").pk for i in range(4)]
    staff = client_for(pw.world.staff)
    seen, url = [], "/api/v1/outputs/?limit=2"
    while url:
        page = staff.get(url).json()
        assert len(page["results"]) <= 2
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert seen == sorted(made, reverse=True)
    assert error_code(staff.get("/api/v1/outputs/", {"cursor": "bm9wZQ"}), 400) == "invalid_cursor"
    assert error_code(staff.get("/api/v1/outputs/", {"limit": "0"}), 400) == "invalid_limit"


def test_an_outputs_timeline_hides_other_peoples_addresses(pw, client_for):
    w = pw.world
    submitted(pw, source_ip="198.51.100.7")
    act("output", "file", pw.output.pk, pw.office, source_ip="198.51.100.9")
    path = f"/api/v1/outputs/{pw.output.pk}/events/"

    def timeline(user):
        response = client_for(user).get(path)
        assert response.status_code == 200, response.content
        return {e["action"]: e for e in response.json()["results"]}

    by_staff = timeline(w.staff)
    assert by_staff[AuditAction.OUTPUT_SUBMITTED]["source_ip"] == "198.51.100.7"  # their own
    assert by_staff[AuditAction.PROPOSAL_FILED]["source_ip"] is None  # the office's
    by_office = timeline(pw.office)
    assert by_office[AuditAction.OUTPUT_SUBMITTED]["source_ip"] is None
    assert by_office[AuditAction.PROPOSAL_FILED]["source_ip"] == "198.51.100.9"
    assert by_office[AuditAction.OUTPUT_SUBMITTED]["actor"] == w.staff.pk
    # Paged by sequence: the pages together are the whole stream, in order.
    client = client_for(w.staff)
    seqs, url = [], f"{path}?limit=2"
    while url:
        page = client.get(url).json()
        seqs += [e["seq"] for e in page["results"]]
        url = page["next"]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 4
    # Who may not see the output does not find its timeline.
    for user in (pw.lead_liaison, w.outsider, make_user(w.org, Role.AUDITOR)):
        assert error_code(client_for(user).get(path), 404) == "output_not_found"
    assert error_code(client_for(w.staff).get("/api/v1/outputs/987654321/events/"), 404) == "output_not_found"


def test_merge_targets_are_the_organisations_other_proposals_under_way(pw, client_for):
    w = pw.world
    proposal = submitted(pw)
    second = another_output(pw, "proposal", "关于校园周边停车的提案")
    act("output", "edit", second.pk, w.staff, suggestion="划定接送车位。")
    for signer in second.signers.all():
        act("signature", "confirm", signer.pk, signer.user)
    second = act("output", "submit", second.pk, w.staff)
    draft = another_output(pw, "proposal", "关于校园午餐的提案")  # a draft is no target
    office = client_for(pw.office)
    path = f"/api/v1/outputs/{proposal.pk}/merge-targets/"
    rows = office.get(path).json()
    assert [r["id"] for r in rows] == [second.pk] and draft.pk not in [r["id"] for r in rows]
    assert rows[0]["number"] == second.number and rows[0]["status"] == "submitted"
    assert office.get(path, {"q": "停车"}).json()[0]["id"] == second.pk
    assert office.get(path, {"q": "午餐"}).json() == []
    assert error_code(office.get(path, {"q": "x" * 500}), 400) == "invalid_query"
    assert error_code(client_for(w.outsider).get(path), 404) == "output_not_found"
    assert error_code(client_for(pw.lead_liaison).get(path), 404) == "output_not_found"


def test_reference_data_of_the_output_transitions_is_the_organisations_own(pw, client_for):
    w = pw.world
    far = make_world("政协台州市路桥区委员会")
    Department.objects.create(organisation=far.org, name="路桥区教育局")
    OutputReason.objects.create(organisation=far.org, text="外区理由")
    OutputReason.objects.create(organisation=w.org, text="已停用的理由", is_active=False)
    staff = client_for(w.staff)

    def names(path):
        response = staff.get(f"/api/v1/{path}/")
        assert response.status_code == 200, response.content
        return response.json()

    assert names("departments") == [{"id": d.pk, "name": d.name} for d in (pw.lead, pw.co)]
    assert names("output-reasons") == [{"id": pw.reason.pk, "name": pw.reason.text}]
    assert [s["id"] for s in names("sectors")] == list(
        Sector.objects.filter(organisation=w.org).order_by("id").values_list("id", flat=True)
    )
    members = names("members")
    assert all(set(m) == {"id", "name"} for m in members)  # nothing but the id and the name
    assert {m["id"] for m in members} == {w.member.user.pk, w.other_member.user.pk, pw.third_member_user.pk}
    assert names("leaders") == [{"id": w.leader.pk, "name": str(w.leader)}]
    # Another organisation's user reads their own: none of these.
    outsider = client_for(far.staff)
    assert [d["name"] for d in outsider.get("/api/v1/departments/").json()] == ["路桥区教育局"]
    assert outsider.get("/api/v1/output-reasons/").json()[0]["name"] == "外区理由"
    assert w.member.user.pk not in {m["id"] for m in outsider.get("/api/v1/members/").json()}
