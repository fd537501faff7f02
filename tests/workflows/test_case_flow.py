"""Every branch of the case flow, end to end through the workflow actions: the case status, the
open tasks, the clocks and the audit events with their actors."""

from __future__ import annotations

import pytest

from casework.choices import CaseStatus, ClockState, Decision
from casework.errors import InvalidInput, NotFound
from casework.models import AuditEvent, Case, CaseClock, Committee, Output
from tests.helpers import answer_output, do, events, file, open_task, snapshot, task_names, today
from workflows import actions
from workflows.models import CaseProcess


def file_case(world, *, submit: bool = True, title: str = "学校门口接送拥堵") -> Case:
    return file(
        world.member.user,
        submit=submit,
        title=title,
        description="每天放学时段南城实小门口拥堵半小时。",
        category=world.category.pk,
        township=world.township.pk,
        contacts=world.contact_ids(),
    )


def status(case: Case) -> str:
    case.refresh_from_db()
    return case.status


def test_draft_then_submit_opens_review_in_the_committee_queue(world):
    case = file_case(world, submit=False)
    assert status(case) == CaseStatus.DRAFT
    assert task_names(case) == []
    assert not CaseProcess.objects.filter(case=case).exists()

    do("submit", case.pk, world.member.user)

    assert status(case) == CaseStatus.REVIEW
    task = open_task(case)
    assert (task["stage"], task["owner"]) == ("review", None)
    clock = CaseClock.objects.get(case=case)
    assert (clock.stage, clock.state, clock.queue_id, clock.task_id) == (
        "review",
        ClockState.RUNNING,
        world.committee.pk,
        task["id"],
    )
    assert events(case) == [("case.created", world.member.user.pk), ("case.submitted", world.member.user.pk)]


def test_filing_straight_into_review_writes_one_event(world):
    case = file_case(world)
    assert status(case) == CaseStatus.REVIEW
    assert events(case) == [("case.submitted", world.member.user.pk)]
    assert sorted(case.contacts.values_list("id", flat=True)) == sorted(world.contact_ids())


def test_claim_and_release(world):
    case = file_case(world)
    do("claim", case.pk, world.staff)
    assert open_task(case)["owner"] == world.staff.pk
    assert CaseClock.objects.get(case=case).assignee_id == world.staff.pk

    do("release", case.pk, world.staff)
    assert open_task(case)["owner"] is None
    assert CaseClock.objects.get(case=case).assignee_id is None
    assert events(case)[1:] == [("case.claimed", world.staff.pk), ("case.released", world.staff.pk)]


def test_accept_convert_outcome_feedback_close(world):
    case = file_case(world)
    do("accept", case.pk, world.staff, note="典型问题，转提案")
    assert status(case) == CaseStatus.CONVERSION
    assert task_names(case) == ["conversion"]

    do("convert", case.pk, world.staff, output_type="info_report", title="关于缓解校门拥堵的社情民意")
    case.refresh_from_db()
    assert case.status == CaseStatus.OUTCOME
    assert task_names(case) == ["outcome"]
    output = Output.objects.get(pk=case.output_id)
    assert (output.output_type, output.title, output.status) == ("info_report", "关于缓解校门拥堵的社情民意", "draft")

    answer_output(output.pk, world.staff, "已增设护学岗，错峰放学")
    case.refresh_from_db()
    assert case.status == CaseStatus.FEEDBACK and "已增设护学岗，错峰放学" in case.outcome
    task = open_task(case)
    assert (task["stage"], task["owner"]) == ("feedback", world.member.user.pk)

    do("feedback", case.pk, world.member.user, told_on=today(), method="visit", satisfaction="satisfied")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.closed_at is not None
    assert task_names(case) == []
    assert CaseProcess.objects.get(case=case).status == "DONE"
    staff, member = world.staff.pk, world.member.user.pk
    assert events(case) == [
        ("case.submitted", member),
        ("case.claimed", staff),
        ("case.accepted", staff),
        ("case.claimed", staff),
        ("case.converted", staff),
        ("case.output_event", staff),  # the report submitted
        ("case.output_event", staff),  # used in a bulletin issue
        ("case.outcome_received", staff),  # a leader's instruction on it
        ("case.closed", member),
    ]
    clocks = {c.stage: c for c in CaseClock.objects.filter(case=case)}
    assert set(clocks) == {"review", "conversion", "feedback"}
    assert all(c.state == ClockState.STOPPED and c.is_met for c in clocks.values())


def test_needs_info_pauses_review_and_answer_resumes_it(world):
    case = file_case(world)
    review_clock = CaseClock.objects.get(case=case, stage="review")
    due_before = review_clock.due_at

    do("request_info", case.pk, world.staff, question="请补充具体路段和时间")
    case.refresh_from_db()
    assert (case.status, case.decision, case.info_request) == (
        CaseStatus.NEEDS_INFO,
        Decision.NEEDS_INFO,
        "请补充具体路段和时间",
    )
    task = open_task(case)
    assert (task["stage"], task["owner"]) == ("needs_info", world.member.user.pk)
    review_clock.refresh_from_db()
    assert review_clock.state == ClockState.PAUSED and review_clock.task_id is None

    do("answer_info", case.pk, world.member.user, answer="县前街路段，16:00-16:40")
    case.refresh_from_db()
    assert (case.status, case.info_answer) == (CaseStatus.REVIEW, "县前街路段，16:00-16:40")
    task = open_task(case)
    assert (task["stage"], task["owner"]) == ("review", None)
    review_clock.refresh_from_db()
    assert review_clock.state == ClockState.RUNNING and review_clock.task_id == task["id"]
    assert review_clock.due_at >= due_before
    assert CaseClock.objects.filter(case=case, stage="review").count() == 1

    do("accept", case.pk, world.staff2)
    assert status(case) == CaseStatus.CONVERSION
    assert [a for a, _ in events(case)] == [
        "case.submitted",
        "case.claimed",
        "case.needs_info",
        "case.info_answered",
        "case.claimed",
        "case.accepted",
    ]


@pytest.mark.parametrize(
    ("decide", "decision", "extra"),
    [
        ("reject", Decision.REJECTED, {}),
        ("redirect", Decision.REDIRECTED, {"channel": "petition"}),
        ("resolve", Decision.RESOLVED, {"note": "已协调交警错峰执勤"}),
    ],
)
def test_decisions_that_go_straight_to_feedback(world, decide, decision, extra):
    case = file_case(world)
    if decide == "reject":
        do("reject", case.pk, world.staff, reason=world.reason.pk, note="个人诉求")
    elif decide == "redirect":
        do("redirect", case.pk, world.staff, **extra)
    else:
        do("resolve", case.pk, world.staff, **extra)
    case.refresh_from_db()
    assert (case.status, case.decision) == (CaseStatus.FEEDBACK, decision)
    assert open_task(case)["stage"] == "feedback"
    if decide == "reject":
        assert case.reject_reason_id == world.reason.pk
    if decide == "redirect":
        assert case.redirect_channel == "petition"

    do("feedback", case.pk, world.member.user, told_on=today(), method="phone", satisfaction="basically")
    assert status(case) == CaseStatus.CLOSED
    assert events(case)[-2:] == [(f"case.{decision}", world.staff.pk), ("case.closed", world.member.user.pk)]


def test_merge_into_another_case(world):
    master = file_case(world, title="校门拥堵（一）")
    duplicate = file_case(world, title="校门拥堵（二）")

    do("merge", duplicate.pk, world.staff, into=master.pk, note="同一问题")
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == (CaseStatus.MERGED, master.pk)
    assert task_names(duplicate) == []
    assert CaseProcess.objects.get(case=duplicate).status == "DONE"
    assert events(duplicate)[-1] == ("case.merged", world.staff.pk)
    assert events(master)[-1] == ("case.merge_received", world.staff.pk)
    assert status(master) == CaseStatus.REVIEW


def test_cases_gathered_into_one_output_each_get_the_outcome(world):
    first, second = file_case(world, title="甲"), file_case(world, title="乙")
    for case in (first, second):
        do("accept", case.pk, world.staff)
    do("convert", first.pk, world.staff, output_type="info_report")
    first.refresh_from_db()
    do("convert", second.pk, world.staff, output_type="info_report", output=first.output_id)
    second.refresh_from_db()
    assert second.output_id == first.output_id

    answer_output(first.output_id, world.staff, "被市政协采用")
    for case in (first, second):
        case.refresh_from_db()
        assert case.status == CaseStatus.FEEDBACK and "被市政协采用" in case.outcome
        assert task_names(case) == ["feedback"]


def test_send_back_from_conversion_reopens_review(world):
    case = file_case(world)
    do("accept", case.pk, world.staff, note="同意受理")
    do("send_back", case.pk, world.staff, reason="误操作，重新审核")
    case.refresh_from_db()
    assert (case.status, case.decision, case.decision_note) == (CaseStatus.REVIEW, "", "")
    task = open_task(case)
    assert (task["stage"], task["owner"]) == ("review", None)
    live = CaseClock.objects.exclude(state=ClockState.STOPPED).get(case=case)
    assert (live.stage, live.task_id, live.queue_id) == ("review", task["id"], world.committee.pk)
    assert events(case)[-1] == ("case.sent_back", world.staff.pk)
    # and the reopened review can be decided again
    do("reject", case.pk, world.staff, reason=world.reason.pk)
    assert status(case) == CaseStatus.FEEDBACK


def test_send_back_from_needs_info_and_from_feedback(world):
    asked = file_case(world)
    do("request_info", asked.pk, world.staff, question="请补充")
    do("send_back", asked.pk, world.staff, reason="问题已清楚，无需补充")
    assert status(asked) == CaseStatus.REVIEW
    assert open_task(asked)["stage"] == "review"
    review_clock = CaseClock.objects.get(case=asked, stage="review")
    assert review_clock.state == ClockState.RUNNING  # the paused clock resumed

    rejected = file_case(world)
    do("reject", rejected.pk, world.staff, reason=world.reason.pk)
    do("send_back", rejected.pk, world.staff, reason="理由选错")
    rejected.refresh_from_db()
    assert (rejected.status, rejected.reject_reason_id) == (CaseStatus.REVIEW, None)
    assert open_task(rejected)["stage"] == "review"


def test_a_merged_case_follows_its_masters_outcome(world):
    master = file_case(world, title="校门拥堵（主）")
    duplicate = file_case(world, title="校门拥堵（重复）")
    do("merge", duplicate.pk, world.staff, into=master.pk)
    do("accept", master.pk, world.staff)
    do("convert", master.pk, world.staff, output_type="info_report")
    master.refresh_from_db()
    answer_output(master.output_id, world.staff, "已设护学岗")

    duplicate.refresh_from_db()
    master.refresh_from_db()
    assert (duplicate.status, duplicate.outcome) == (CaseStatus.MERGED, master.outcome)
    assert "已设护学岗" in duplicate.outcome
    assert events(duplicate)[-1] == ("case.outcome_followed", world.staff.pk)


def test_a_new_output_belongs_to_the_current_term_and_session(world):
    from datetime import date

    from casework.models import Session, Term

    old = Term.objects.create(organisation=world.org, number=14, name="第十四届", starts_on=date(2016, 12, 1))
    term = Term.objects.create(organisation=world.org, number=15, name="第十五届", starts_on=date(2021, 12, 1))
    Session.objects.create(term=old, number=5, name="第五次会议", opens_on=date(2021, 2, 1))
    session = Session.objects.create(term=term, number=5, name="第五次会议", opens_on=date(2026, 2, 1))
    Session.objects.create(term=term, number=6, name="第六次会议", opens_on=date(2099, 2, 1))
    case = file_case(world)
    do("accept", case.pk, world.staff)
    do("convert", case.pk, world.staff, output_type="proposal")
    case.refresh_from_db()
    output = Output.objects.get(pk=case.output_id)
    assert (output.term_id, output.session_id) == (term.pk, session.pk)


def test_sending_back_a_resolved_master_withdraws_the_outcome_its_duplicates_followed(world):
    """Before: the master's outcome was cleared and its duplicates kept the one they had followed."""
    master, duplicate = file_case(world, title="主案件"), file_case(world, title="重复案件")
    do("merge", duplicate.pk, world.staff, into=master.pk)
    do("resolve", master.pk, world.staff, note="已协调交警错峰执勤")
    duplicate.refresh_from_db()
    assert duplicate.outcome == "已协调交警错峰执勤"

    do("send_back", master.pk, world.staff, reason="解决情况有误")

    master.refresh_from_db()
    duplicate.refresh_from_db()
    assert (master.outcome, duplicate.outcome) == ("", "")
    assert events(duplicate)[-1] == ("case.outcome_withdrawn", world.staff.pk)


def test_a_case_merged_into_a_master_with_an_outcome_gets_it_at_once(world):
    """Before: the outcome passed only to the cases merged before it arrived; a later one never got it."""
    master = file_case(world, title="主案件")
    do("resolve", master.pk, world.staff, note="已增设护学岗")
    late, its_own_duplicate = file_case(world, title="后来的重复案件"), file_case(world, title="更早并入的")
    do("merge", its_own_duplicate.pk, world.staff, into=late.pk)

    do("merge", late.pk, world.staff, into=master.pk)

    late.refresh_from_db()
    its_own_duplicate.refresh_from_db()
    assert (late.status, late.outcome) == (CaseStatus.MERGED, "已增设护学岗")
    assert its_own_duplicate.outcome == "已增设护学岗"  # merged into `late` before: follows it on
    assert events(its_own_duplicate)[-1] == ("case.outcome_followed", world.staff.pk)
    merged = AuditEvent.objects.filter(stream=f"case:{late.pk}").order_by("-seq").first()
    assert (merged.action, merged.changes["outcome"]) == ("case.merged", "已增设护学岗")


def test_a_rejected_case_is_no_merge_target(world):
    rejected, duplicate = file_case(world, title="已不予受理"), file_case(world, title="重复")
    do("reject", rejected.pk, world.staff, reason=world.reason.pk)
    before = snapshot(duplicate)

    with pytest.raises(InvalidInput) as err:
        do("merge", duplicate.pk, world.staff, into=rejected.pk)

    assert err.value.code == "invalid_merge_target" and "不予受理" in str(err.value.message)
    assert snapshot(duplicate) == before


def test_transfer_requeues_the_case_in_the_other_committee_with_a_fresh_review_clock(world):
    case = file_case(world)
    first_clock = CaseClock.objects.get(case=case)

    do("transfer", case.pk, world.staff, committee=world.other_committee.pk, note="属经济委员会职责")

    case.refresh_from_db()
    assert (case.status, case.committee_id, case.decision) == (CaseStatus.REVIEW, world.other_committee.pk, "")
    task = open_task(case)
    assert (task["stage"], task["owner"]) == ("review", None)
    first_clock.refresh_from_db()
    assert (first_clock.state, first_clock.is_met, first_clock.queue_id) == (
        ClockState.STOPPED,
        True,
        world.committee.pk,
    )
    fresh = CaseClock.objects.get(case=case, state=ClockState.RUNNING)
    assert (fresh.stage, fresh.queue_id, fresh.task_id, fresh.assignee_id) == (
        "review",
        world.other_committee.pk,
        task["id"],
        None,
    )
    assert fresh.started_at >= first_clock.stopped_at
    assert events(case)[-2:] == [("case.claimed", world.staff.pk), ("case.transferred", world.staff.pk)]
    moved = AuditEvent.objects.filter(stream=f"case:{case.pk}").order_by("-seq").first()
    assert moved.changes == {"committee": [world.committee.pk, world.other_committee.pk], "note": "属经济委员会职责"}

    # The first committee's staff no longer see it; the new committee's take it from their queue.
    with pytest.raises(NotFound):
        do("claim", case.pk, world.staff2)
    claimed = actions.claim_next(committee_id=world.other_committee.pk, actor=world.other_staff)
    assert claimed is not None and claimed.case_id == case.pk


@pytest.mark.parametrize(
    ("target", "code"),
    [("own", "same_committee"), ("foreign", "invalid_committee")],
)
def test_transfer_only_to_another_committee_of_the_organisation(world, target, code):
    case = file_case(world)
    committee = world.committee if target == "own" else Committee.objects.get(organisation=world.outsider.organisation)
    before = snapshot(case)

    with pytest.raises(InvalidInput) as err:
        do("transfer", case.pk, world.staff, committee=committee.pk)

    assert err.value.code == code
    assert snapshot(case) == before
