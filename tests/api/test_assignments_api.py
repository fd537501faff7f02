"""A department's desk (GET /api/v1/assignments/) and a member's signatures
(GET /api/v1/signatures/mine/): each user's own, in the order they are worked, filtered and
paged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casework.choices import AssignmentStatus, Role
from casework.models import Assignment, Department
from tests.api.proposal_steps import act, assigned, assignment_of
from tests.factories import make_user, make_world
from tests.helpers import file
from tests.outputs.proposal_world import convert, make_proposal_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def pw(world):
    return make_proposal_world(world)


def page(client, path="/api/v1/assignments/", **params):
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(client, **params):
    return [row["id"] for row in page(client, **params)["results"]]


def error_code(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]["code"]


def more_proposals(pw, n):
    """`n` more proposals of the world, each assigned to the lead department alone."""
    w = pw.world
    made = []
    for i in range(n):
        case = file(w.member.user, title=f"第{i}件", description="反映。", category=w.category.pk, contacts=[])
        output = convert(w, case).output
        act("output", "edit", output.pk, w.staff, title=f"关于第{i}件的提案", suggestion="建议。")
        for signer in output.signers.all():
            act("signature", "confirm", signer.pk, signer.user)
        act("output", "submit", output.pk, w.staff)
        act("output", "file", output.pk, pw.office)
        act("output", "assign", output.pk, pw.office, handling="joint", lead=pw.lead.pk)
        made.append(Assignment.objects.get(output=output))
    return made


def test_a_liaison_lists_their_departments_assignments_and_the_office_every_one(pw, client_for):
    w = pw.world
    assigned(pw)
    lead, co = assignment_of(pw, pw.lead), assignment_of(pw, pw.co)
    assert ids(client_for(pw.lead_liaison)) == [lead.pk]
    assert ids(client_for(pw.co_liaison)) == [co.pk]
    assert set(ids(client_for(pw.office))) == {lead.pk, co.pk}
    third = Department.objects.create(organisation=w.org, name="区民政局")
    bystander = make_user(w.org, Role.DEPARTMENT_LIAISON)
    bystander.department = third
    bystander.save()
    far = make_world("政协台州市路桥区委员会")
    far_office = make_user(far.org, Role.PROPOSAL_OFFICE)
    # Another department, another organisation's office, the staff, the members, leadership: none.
    for user in (bystander, far_office, w.outsider, w.staff, w.member.user, w.leader):
        assert ids(client_for(user)) == [], user


def test_the_desk_shows_what_a_department_needs_open_first_soonest_due_first(pw, client_for):
    assigned(pw, co=False)
    first = assignment_of(pw, pw.lead)
    second, third, replied = more_proposals(pw, 3)
    now = timezone.now()
    Assignment.objects.filter(pk=first.pk).update(due_at=now + timedelta(days=30))
    Assignment.objects.filter(pk=second.pk).update(due_at=now - timedelta(days=2))  # overdue
    Assignment.objects.filter(pk=third.pk).update(due_at=now + timedelta(days=5), extension_state="requested")
    act("assignment", "reply", replied.pk, pw.lead_liaison, reply_class="A", text="已解决。")
    Assignment.objects.filter(pk=replied.pk).update(due_at=now - timedelta(days=9))  # replied: not overdue
    liaison = client_for(pw.lead_liaison)
    rows = page(liaison)["results"]
    assert [r["id"] for r in rows] == [second.pk, third.pk, first.pk, replied.pk]
    assert [r["overdue"] for r in rows] == [True, False, False, False]
    row = rows[1]
    assert row["output"] == {
        "id": third.output_id,
        "title": third.output.title,
        "number": third.output.number,
        "status": "assigned",
        "status_display": "办理中",
    }
    assert (row["role"], row["status"], row["extension_state"], row["department"]["id"]) == (
        "lead",
        "assigned",
        "requested",
        pw.lead.pk,
    )
    assert row["due_at"].endswith("+08:00") and row["objection_until"] is not None
    # Filters: what is overdue, and by status.
    assert ids(liaison, overdue="1") == [second.pk]
    assert ids(liaison, overdue="0") == [second.pk, third.pk, first.pk, replied.pk]
    assert ids(liaison, status="replied") == [replied.pk]
    assert error_code(liaison.get("/api/v1/assignments/", {"overdue": "yes"}), 400) == "invalid_overdue"
    assert error_code(liaison.get("/api/v1/assignments/", {"status": "lost"}), 400) == "invalid_status"
    # Paged by the same order: one at a time, the pages together are the whole desk.
    seen, url = [], "/api/v1/assignments/?limit=1"
    while url:
        current = liaison.get(url).json()
        seen += [r["id"] for r in current["results"]]
        url = current["next"]
    assert seen == [second.pk, third.pk, first.pk, replied.pk]
    assert error_code(liaison.get("/api/v1/assignments/", {"cursor": "WzIsbnVsbCwxXQ"}), 400) == "invalid_cursor"


def test_my_signatures_say_what_waits_on_me(pw, client_for):
    w = pw.world
    member = client_for(w.member.user)
    path = "/api/v1/signatures/mine/"
    rows = page(member, path)["results"]
    assert [r["output"]["id"] for r in rows] == [pw.output.pk]
    assert (rows[0]["role"], rows[0]["waiting"], rows[0]["confirmed_at"]) == ("first", ["confirm"], None)
    assert [t["name"] for t in rows[0]["available_transitions"]] == ["confirm"]
    act("signature", "confirm", rows[0]["id"], w.member.user)
    assert page(member, path)["results"][0]["waiting"] == []
    # Replied: each signer is asked to rate, and only their own signature.
    assigned(pw, co=False)
    act("assignment", "reply", assignment_of(pw, pw.lead).pk, pw.lead_liaison, reply_class="A", text="已解决。")
    for user in (w.member.user, w.other_member.user, pw.third_member_user):
        mine = page(client_for(user), path)["results"]
        assert [(r["output"]["status"], r["waiting"]) for r in mine] == [("replied", ["rate"])]
        assert mine[0]["id"] == pw.output.signers.get(user=user).pk
    # Someone who signs nothing, and another organisation's member, have none.
    far = make_world("政协台州市路桥区委员会")
    for user in (w.staff, pw.office, far.member.user):
        assert page(client_for(user), path)["results"] == []


def test_my_signatures_page_newest_first(pw, client_for):
    more_proposals(pw, 2)
    member = client_for(pw.world.member.user)
    seen, url = [], "/api/v1/signatures/mine/?limit=1"
    while url:
        current = member.get(url).json()
        seen += [r["id"] for r in current["results"]]
        url = current["next"]
    expected = list(pw.world.member.user.signatures.order_by("-id").values_list("id", flat=True))
    assert seen == expected and len(seen) == 3


def test_the_desk_is_scoped_to_the_liaisons_organisation_too(pw, client_for):
    """A liaison whose department id matches in no way reaches another organisation's desk."""
    assigned(pw)
    far = make_world("政协台州市路桥区委员会")
    stranger = make_user(far.org, Role.DEPARTMENT_LIAISON)
    stranger.department = pw.lead  # a misconfigured account: the organisation still scopes it
    stranger.save()
    assert ids(client_for(stranger)) == []
    assert AssignmentStatus.ASSIGNED in {a.status for a in Assignment.objects.filter(output=pw.output)}
