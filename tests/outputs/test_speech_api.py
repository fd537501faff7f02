"""A plenary speech (大会发言) through the API: its signers confirm from their own logins (a
sector's speech with the sector's convener), it is submitted only inside a session's solicitation
window and numbered per term and session, and it is selected as an oral speech (with its
minutes) or a written one, or not used; each decision moves the gathered cases, and the refused
paths change nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from casework.choices import AuditAction, CaseStatus, OutputStatus, Role
from casework.models import AuditEvent, Case, Output, OutputSeries, Session, Term
from tests.factories import make_member
from tests.helpers import file
from tests.outputs.proposal_world import convert, make_proposal_world
from tests.outputs.test_proposal_api import case_events, detail, nothing_changed, post, signature_of

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def pw(world):
    return make_proposal_world(world, output_type="speech")


def path(output, name):
    return f"outputs/{output.pk}/transitions/{name}/"


def session_with_window(org, opens: date | None, closes: date | None, number: int = 3) -> Session:
    term, _created = Term.objects.get_or_create(
        organisation=org, number=16, defaults={"name": "第十六届", "starts_on": TODAY - timedelta(days=700)}
    )
    return Session.objects.create(
        term=term,
        number=number,
        name=f"第{number}次会议",
        opens_on=TODAY + timedelta(days=60),
        speeches_open_on=opens,
        speeches_close_on=closes,
    )


def confirm_all(client_for, output):
    for signer in output.signers.all():
        post(client_for(signer.user), f"signatures/{signer.pk}/transitions/confirm/")


def another_speech(world, title):
    case = file(
        world.member.user,
        title=title,
        description="关于乡村学校师资的建议。",
        category=world.category.pk,
        contacts=world.contact_ids()[:1],
    )
    case = convert(world, case, output_type="speech")
    return Output.objects.get(pk=case.output_id)


def test_signed_submitted_in_the_window_numbered_and_selected_oral(pw, client_for):
    w = pw.world
    staff, office = client_for(w.staff), client_for(pw.office)
    users = [w.member.user, w.other_member.user, pw.third_member_user]
    output = pw.output
    body = detail(staff, output)
    assert [s["role"] for s in body["signatures"]] == ["first", "co", "co"]

    # No window at all: said so, and nothing changes (the signatures come first).
    confirm_all(client_for, output)
    before = AuditEvent.objects.count()
    refused = post(staff, path(output, "submit"), 409)
    assert "没有开放大会发言征集" in refused["error"]["message"]
    assert nothing_changed(before, output).status == OutputStatus.DRAFT

    # A window not yet open, then one closed: each named, with its dates.
    coming = session_with_window(w.org, TODAY + timedelta(days=5), TODAY + timedelta(days=20), number=4)
    refused = post(staff, path(output, "submit"), 409)
    assert "尚未开始" in refused["error"]["message"]
    assert coming.speeches_open_on.isoformat() in refused["error"]["message"]
    assert coming.speeches_close_on.isoformat() in refused["error"]["message"]
    coming.delete()
    closed = session_with_window(w.org, TODAY - timedelta(days=20), TODAY - timedelta(days=1), number=2)
    refused = post(staff, path(output, "submit"), 409)
    assert "已经截止" in refused["error"]["message"]
    assert closed.speeches_close_on.isoformat() in refused["error"]["message"]
    assert nothing_changed(before, output).status == OutputStatus.DRAFT
    assert not OutputSeries.objects.exists()
    assert "submit" not in [t["name"] for t in detail(staff, output)["available_transitions"]]

    # In the window: submitted, the session's, numbered in its term and session's series.
    session = session_with_window(w.org, TODAY - timedelta(days=3), TODAY + timedelta(days=3))
    body = post(client_for(users[0]), path(output, "submit"))  # the first proposer may submit it
    assert body["status"] == "submitted" and body["speech_form"] == "joint"
    assert body["session"]["id"] == session.pk
    assert body["number"] == "大会发言 第16届第3次会议 第001号"

    # The proposal office selects; the committee's staff may not.
    before = AuditEvent.objects.count()
    assert post(staff, path(output, "select"), 403, selection="oral", minutes=5)["error"]["code"] == (
        "not_proposal_office"
    )
    assert post(office, path(output, "select"), 400, selection="oral")["error"]["code"] == "minutes_required"
    refused = post(office, path(output, "select"), 400, selection="oral", minutes=9)
    assert refused["error"]["code"] == "too_long" and "8" in refused["error"]["message"]
    assert post(office, path(output, "select"), 400, selection="written", minutes=5)["error"]["code"] == (
        "minutes_not_for_written"
    )
    assert post(office, path(output, "select"), 400, selection="not_used")["error"]["details"]["field"] == ("selection")
    assert nothing_changed(before, output).status == OutputStatus.SUBMITTED

    body = post(office, path(output, "select"), selection="oral", minutes=8)
    assert (body["status"], body["selection"], body["minutes"]) == ("oral", "oral", 8)
    for case in pw.cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK and "口头发言（8 分钟）" in case.outcome
        actions = [(a, c.get("event")) for a, c in case_events(case)]
        assert (AuditAction.CASE_OUTPUT_EVENT, AuditAction.OUTPUT_SUBMITTED) in actions
        assert AuditAction.CASE_OUTCOME_RECEIVED in [a for a, _e in actions]


def test_numbers_per_session_and_written_and_not_used(pw, client_for):
    w = pw.world
    staff, office = client_for(w.staff), client_for(pw.office)
    session_with_window(w.org, TODAY, TODAY)
    speeches = [pw.output, another_speech(w, "乡村教师"), another_speech(w, "乡村医生")]
    for speech in speeches:
        confirm_all(client_for, speech)
        post(staff, path(speech, "submit"))
    numbers = [Output.objects.get(pk=s.pk).number for s in speeches]
    assert numbers == [f"大会发言 第16届第3次会议 第00{n}号" for n in (1, 2, 3)]
    body = post(office, path(speeches[1], "select"), selection="written")
    assert (body["status"], body["minutes"]) == ("written", None)
    assert body["speech_form"] == "individual"
    body = post(office, path(speeches[2], "not_use"), note="主题重复")
    assert (body["status"], body["selection"]) == ("not_used", "not_used")
    assert post(office, path(speeches[2], "select"), 409, selection="written")["error"]["code"] == (
        "transition_not_allowed"
    )
    for speech, words in ((speeches[1], "书面发言"), (speeches[2], "未被采用。主题重复")):
        cases = list(Case.objects.filter(output=speech))
        assert cases and all(c.status == CaseStatus.FEEDBACK and words in c.outcome for c in cases), words


def test_a_sector_speech_needs_its_convener_and_a_long_one_is_refused(pw, client_for):
    w = pw.world
    staff = client_for(w.staff)
    output = pw.output
    session_with_window(w.org, TODAY, TODAY + timedelta(days=10))
    convener = make_member(w.org, w.sector, "界别召集人")
    convener.user.groups.add(Group.objects.get_or_create(name=Role.CONVENER)[0])
    w.sector.conveners.add(convener)
    body = post(
        staff,
        path(output, "set_signers"),
        first=w.member.user.pk,
        co_signers=[w.other_member.user.pk],
        sector=w.sector.pk,
        convener=convener.user.pk,
    )
    assert body["speech_form"] == "sector"
    assert {s["user"]["id"]: s["role"] for s in body["signatures"]} == {
        w.member.user.pk: "first",
        w.other_member.user.pk: "co",
        convener.user.pk: "convener",
    }
    # Everyone but the convener confirms: not yet.
    for user in (w.member.user, w.other_member.user):
        mine = signature_of(detail(client_for(user), output), user)
        post(client_for(user), f"signatures/{mine['id']}/transitions/confirm/")
    before = AuditEvent.objects.count()
    refused = post(staff, path(output, "submit"), 409)
    assert "召集人" in refused["error"]["message"]
    nothing_changed(before, output)
    mine = signature_of(detail(client_for(convener.user), output), convener.user)
    assert [t["name"] for t in mine["available_transitions"]] == ["confirm"]
    post(client_for(convener.user), f"signatures/{mine['id']}/transitions/confirm/")

    # Over the limit (2,000 characters over the whole text): refused on edit and on submit.
    base = Output.objects.get(pk=output.pk).text_length
    before = AuditEvent.objects.count()
    refused = post(staff, path(output, "edit"), 400, body="话" * (2001 - base))
    assert refused["error"]["code"] == "text_too_long" and "2000" in refused["error"]["message"]
    nothing_changed(before, output)
    Output.objects.filter(pk=output.pk).update(body="话" * (2001 - base))  # as a draft that came long
    refused = post(staff, path(output, "submit"), 400)
    assert "最多 2000 字，现为 2001 字" in refused["error"]["message"]
    assert nothing_changed(before, output).status == OutputStatus.DRAFT
    assert not OutputSeries.objects.exists()
    post(staff, path(output, "edit"), body="话" * (2000 - base))
    body = post(staff, path(output, "submit"))
    assert (body["status"], body["speech_form"]) == ("submitted", "sector")
