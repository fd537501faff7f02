"""Proposal numbers: one gapless series per term and session (per year when there is no term),
a plenary proposal (大会提案) when submitted from `plenary_lead_months` before a session opens
until its deadline, else interim (平时提案); a submission that fails after taking its number gives
it back. SQLite has one writer, so these run without threads (the races: test_numbering_pg)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from casework.choices import OutputStatus
from casework.models import AuditEvent, Output, OutputRules, OutputSeries, Session, Term, User
from casework.services.proposals import plenary_session
from tests.factories import World, make_member
from tests.helpers import do, file
from workflows import output_actions

pytestmark = pytest.mark.django_db


class Refused(RuntimeError):
    """Raised inside a submission's transaction after the number was taken."""


def signed_drafts(world: World, n: int) -> list[Output]:
    """`n` draft proposals of the world's organisation, each from its own member's case, signed
    by that member (their first proposer) and with a suggestion: ready to submit."""
    drafts = []
    for i in range(n):
        member = make_member(world.org, world.sector, f"编号委员{i}", contacts=1)
        case = file(
            member.user,
            title=f"反映{i}：小区门口积水",
            description="雨后积水。",
            category=world.category.pk,
            contacts=list(member.roster.values_list("contact_id", flat=True)),
        )
        do("accept", case.pk, world.staff)
        case = do("convert", case.pk, world.staff, output_type="proposal", title=f"关于治理积水的提案{i}")
        output = Output.objects.get(pk=case.output_id)
        signer = output.signers.get()
        output_actions.perform("signature", "confirm", record_id=signer.pk, actor=member.user)
        output_actions.perform(
            "output", "edit", record_id=output.pk, actor=world.staff, data={"suggestion": "疏通管网。"}
        )
        drafts.append(output)
    return drafts


def submit(output: Output, actor: User, fail: bool = False) -> Output:
    def refuse(_output: Output) -> None:
        raise Refused("after the number was taken")

    output_actions.perform("output", "submit", record_id=output.pk, actor=actor, then=refuse if fail else None)
    return Output.objects.get(pk=output.pk)


def term_and_session(
    world: World, *, opens_on: date, close: date | None = None, term_no: int = 15, session_no: int = 5
):
    term, _created = Term.objects.get_or_create(
        organisation=world.org,
        number=term_no,
        defaults={"name": f"第{term_no}届", "starts_on": date(2023, 1, 1)},
    )
    session = Session.objects.create(
        term=term, number=session_no, name=f"第{session_no}次会议", opens_on=opens_on, proposals_close_on=close
    )
    return term, session


# Sequence ----------------------------------------------------------------------------------------


def test_eight_submissions_in_turn_are_numbered_one_to_eight_and_a_failed_one_gives_its_number_back(world):
    drafts = signed_drafts(world, 9)
    year = timezone.localdate().year
    numbered = [submit(o, world.staff) for o in drafts[:3]]
    # The fourth fails after taking number 4: nothing of it stays, and 4 is taken again next.
    events = AuditEvent.objects.count()
    with pytest.raises(Refused):
        submit(drafts[3], world.staff, fail=True)
    failed = Output.objects.get(pk=drafts[3].pk)
    assert (failed.status, failed.number_seq, failed.number, failed.series) == (OutputStatus.DRAFT, None, "", "")
    assert AuditEvent.objects.count() == events
    assert OutputSeries.objects.get(name=f"proposal:{world.org.pk}:{year}").last == 3
    numbered += [submit(o, world.staff) for o in drafts[4:9]]
    assert [o.number_seq for o in numbered] == list(range(1, 9))
    assert {o.series for o in numbered} == {f"proposal:{world.org.pk}:{year}"}
    assert numbered[3].pk == drafts[4].pk and numbered[3].number == f"提案 {year}年 第0004号"
    # The one that failed, submitted again, is the ninth.
    assert submit(drafts[3], world.staff).number == f"提案 {year}年 第0009号"
    assert OutputSeries.objects.get(name=f"proposal:{world.org.pk}:{year}").last == 9


def test_the_first_proposer_submitting_numbers_like_the_staff(world):
    draft = signed_drafts(world, 1)[0]
    first = draft.signers.get().user
    assert submit(draft, first).number_seq == 1


def test_a_series_is_per_organisation(world):
    from tests.factories import make_world

    other = make_world("政协台州市椒江区委员会")
    mine, theirs = signed_drafts(world, 2), signed_drafts(other, 1)
    assert submit(mine[0], world.staff).number_seq == 1
    assert submit(theirs[0], other.staff).number_seq == 1
    assert submit(mine[1], world.staff).number_seq == 2


def test_the_number_text_is_zero_padded_in_the_terms_and_sessions_series(world):
    today = timezone.localdate()
    term, session = term_and_session(world, opens_on=today + timedelta(days=30))
    OutputSeries.objects.create(name=f"proposal:{world.org.pk}:15:5", last=122)
    output = submit(signed_drafts(world, 1)[0], world.staff)
    assert output.number == "提案 第15届第5次会议 第0123号"
    assert (output.series, output.number_seq, output.is_plenary) == (f"proposal:{world.org.pk}:15:5", 123, True)
    assert (output.term_id, output.session_id) == (term.pk, session.pk)


# Plenary or interim --------------------------------------------------------------------------------


def test_plenary_window_runs_from_the_lead_months_before_opening_to_the_deadline(world):
    _term, session = term_and_session(world, opens_on=date(2027, 3, 10), close=date(2027, 3, 5))
    org = world.org.pk
    assert plenary_session(org, date(2026, 12, 9), 3) is None
    assert plenary_session(org, date(2026, 12, 10), 3) == session
    assert plenary_session(org, date(2027, 3, 5), 3) == session
    assert plenary_session(org, date(2027, 3, 6), 3) is None  # after the deadline, before the opening
    assert plenary_session(org, date(2027, 1, 9), 2) is None
    assert plenary_session(org, date(2027, 1, 10), 2) == session


def test_without_a_deadline_the_window_closes_on_the_opening_day_and_month_ends_clamp(world):
    _term, session = term_and_session(world, opens_on=date(2027, 5, 31))
    org = world.org.pk
    assert plenary_session(org, date(2027, 2, 27), 3) is None
    assert plenary_session(org, date(2027, 2, 28), 3) == session  # three months before 31 May
    assert plenary_session(org, date(2027, 5, 31), 3) == session
    assert plenary_session(org, date(2027, 6, 1), 3) is None


def test_another_organisations_session_is_not_this_ones_window(world):
    from tests.factories import make_world

    other = make_world("政协台州市路桥区委员会")
    term_and_session(other, opens_on=date(2027, 3, 10))
    assert plenary_session(world.org.pk, date(2027, 3, 1), 3) is None


def test_the_organisations_lead_months_decide_whether_a_submission_is_plenary(world):
    today = timezone.localdate()
    term_and_session(world, opens_on=today + timedelta(days=75))  # about two and a half months away
    OutputRules.objects.create(organisation=world.org, plenary_lead_months=2)
    drafts = signed_drafts(world, 2)
    interim = submit(drafts[0], world.staff)
    assert interim.is_plenary is False
    OutputRules.objects.filter(organisation=world.org).update(plenary_lead_months=3)
    plenary = submit(drafts[1], world.staff)
    assert plenary.is_plenary is True
    # No session has opened yet and no term holds one: the interim one is numbered in the year's
    # series, the plenary one in its session's.
    assert interim.series == f"proposal:{world.org.pk}:{today.year}" and interim.number_seq == 1
    assert plenary.series == f"proposal:{world.org.pk}:15:5" and plenary.number_seq == 1


def test_after_the_deadline_a_proposal_is_interim_and_numbered_in_the_current_session(world):
    today = timezone.localdate()
    term, fourth = term_and_session(world, opens_on=today - timedelta(days=400), session_no=4)
    drafts = signed_drafts(world, 1)  # made while the fourth session is the current one
    assert drafts[0].session_id == fourth.pk
    _term, fifth = term_and_session(
        world, opens_on=today - timedelta(days=10), close=today - timedelta(days=20), session_no=5
    )
    output = submit(drafts[0], world.staff)
    assert output.is_plenary is False
    assert (output.term_id, output.session_id) == (term.pk, fifth.pk)
    assert output.number == "提案 第15届第5次会议 第0001号"


def test_plenary_and_interim_proposals_of_one_session_share_its_series(world):
    today = timezone.localdate()
    _term, session = term_and_session(world, opens_on=today - timedelta(days=5), close=today)
    drafts = signed_drafts(world, 1)
    plenary = submit(drafts[0], world.staff)
    assert plenary.is_plenary is True and plenary.session_id == session.pk
    Session.objects.filter(pk=session.pk).update(proposals_close_on=today - timedelta(days=1))
    interim = submit(signed_drafts(world, 1)[0], world.staff)
    assert interim.is_plenary is False and interim.session_id == session.pk
    assert (plenary.number_seq, interim.number_seq) == (1, 2)
    assert interim.series == plenary.series == f"proposal:{world.org.pk}:15:5"
