"""Every branch of the case flow, end to end through the workflow actions: the case status, the
open tasks, the clocks and the audit events with their actors."""

from __future__ import annotations

import pytest

from casework.choices import CaseStatus, ClockState, Decision
from casework.models import Case, CaseClock, Output
from tests.helpers import events, open_task, task_names
from workflows import actions
from workflows.models import CaseProcess


def file_case(world, *, submit: bool = True, title: str = "学校门口接送拥堵") -> Case:
    return actions.case_file(
        actor=world.member.user,
        submit=submit,
        title=title,
        description="每天放学时段南城实小门口拥堵半小时。",
        category_id=world.category.pk,
        township_id=world.township.pk,
        contact_ids=world.contact_ids(),
    )


def status(case: Case) -> str:
    case.refresh_from_db()
    return case.status


def test_draft_then_submit_opens_review_in_the_committee_queue(world):
    case = file_case(world, submit=False)
    assert status(case) == CaseStatus.DRAFT
    assert task_names(case) == []
    assert not CaseProcess.objects.filter(case=case).exists()

    actions.case_submit(case_id=case.pk, actor=world.member.user)

    assert status(case) == CaseStatus.REVIEW
    task = open_task(case)
    assert (task["name"], task["owner"]) == ("review", None)
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
    actions.case_claim(case_id=case.pk, actor=world.staff)
    assert open_task(case)["owner"] == world.staff.pk
    assert CaseClock.objects.get(case=case).assignee_id == world.staff.pk

    actions.case_release(case_id=case.pk, actor=world.staff)
    assert open_task(case)["owner"] is None
    assert CaseClock.objects.get(case=case).assignee_id is None
    assert events(case)[1:] == [("case.claimed", world.staff.pk), ("case.released", world.staff.pk)]


def test_accept_convert_outcome_feedback_close(world):
    case = file_case(world)
    actions.case_accept(case_id=case.pk, actor=world.staff, note="典型问题，转提案")
    assert status(case) == CaseStatus.CONVERSION
    assert task_names(case) == ["convert"]

    actions.case_convert(case_id=case.pk, actor=world.staff, output_type="proposal", title="关于缓解校门拥堵的提案")
    case.refresh_from_db()
    assert case.status == CaseStatus.OUTCOME
    assert task_names(case) == ["await_outcome"]
    output = Output.objects.get(pk=case.output_id)
    assert (output.output_type, output.title, output.status) == ("proposal", "关于缓解校门拥堵的提案", "draft")

    actions.output_record_outcome(output_id=output.pk, actor=world.staff, outcome="已增设护学岗，错峰放学")
    case.refresh_from_db()
    assert (case.status, case.outcome) == (CaseStatus.FEEDBACK, "已增设护学岗，错峰放学")
    task = open_task(case)
    assert (task["name"], task["owner"]) == ("feedback", world.member.user.pk)

    actions.case_record_feedback(case_id=case.pk, actor=world.member.user, method="visit", satisfaction="satisfied")
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
        ("case.outcome_received", staff),
        ("case.closed", member),
    ]
    clocks = {c.stage: c for c in CaseClock.objects.filter(case=case)}
    assert set(clocks) == {"review", "conversion", "feedback"}
    assert all(c.state == ClockState.STOPPED and c.is_met for c in clocks.values())


def test_needs_info_pauses_review_and_answer_resumes_it(world):
    case = file_case(world)
    review_clock = CaseClock.objects.get(case=case, stage="review")
    due_before = review_clock.due_at

    actions.case_request_info(case_id=case.pk, actor=world.staff, question="请补充具体路段和时间")
    case.refresh_from_db()
    assert (case.status, case.decision, case.info_request) == (
        CaseStatus.NEEDS_INFO,
        Decision.NEEDS_INFO,
        "请补充具体路段和时间",
    )
    task = open_task(case)
    assert (task["name"], task["owner"]) == ("provide_info", world.member.user.pk)
    review_clock.refresh_from_db()
    assert review_clock.state == ClockState.PAUSED and review_clock.task_id is None

    actions.case_answer_info(case_id=case.pk, actor=world.member.user, answer="县前街路段，16:00-16:40")
    case.refresh_from_db()
    assert (case.status, case.info_answer) == (CaseStatus.REVIEW, "县前街路段，16:00-16:40")
    task = open_task(case)
    assert (task["name"], task["owner"]) == ("review", None)
    review_clock.refresh_from_db()
    assert review_clock.state == ClockState.RUNNING and review_clock.task_id == task["id"]
    assert review_clock.due_at >= due_before
    assert CaseClock.objects.filter(case=case, stage="review").count() == 1

    actions.case_accept(case_id=case.pk, actor=world.staff2)
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
        actions.case_reject(case_id=case.pk, actor=world.staff, reason_id=world.reason.pk, note="个人诉求")
    elif decide == "redirect":
        actions.case_redirect(case_id=case.pk, actor=world.staff, **extra)
    else:
        actions.case_resolve(case_id=case.pk, actor=world.staff, **extra)
    case.refresh_from_db()
    assert (case.status, case.decision) == (CaseStatus.FEEDBACK, decision)
    assert open_task(case)["name"] == "feedback"
    if decide == "reject":
        assert case.reject_reason_id == world.reason.pk
    if decide == "redirect":
        assert case.redirect_channel == "petition"

    actions.case_record_feedback(case_id=case.pk, actor=world.member.user, method="phone", satisfaction="basically")
    assert status(case) == CaseStatus.CLOSED
    assert events(case)[-2:] == [(f"case.{decision}", world.staff.pk), ("case.closed", world.member.user.pk)]


def test_merge_into_another_case(world):
    master = file_case(world, title="校门拥堵（一）")
    duplicate = file_case(world, title="校门拥堵（二）")

    actions.case_merge(case_id=duplicate.pk, actor=world.staff, into_id=master.pk, note="同一问题")
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
        actions.case_accept(case_id=case.pk, actor=world.staff)
    actions.case_convert(case_id=first.pk, actor=world.staff, output_type="info_report")
    first.refresh_from_db()
    actions.case_convert(case_id=second.pk, actor=world.staff, output_type="info_report", output_id=first.output_id)
    second.refresh_from_db()
    assert second.output_id == first.output_id

    actions.output_record_outcome(output_id=first.output_id, actor=world.staff, outcome="被市政协采用")
    for case in (first, second):
        case.refresh_from_db()
        assert (case.status, case.outcome) == (CaseStatus.FEEDBACK, "被市政协采用")
        assert task_names(case) == ["feedback"]


def test_send_back_from_conversion_reopens_review(world):
    case = file_case(world)
    actions.case_accept(case_id=case.pk, actor=world.staff, note="同意受理")
    actions.case_send_back(case_id=case.pk, actor=world.staff, reason="误操作，重新审核")
    case.refresh_from_db()
    assert (case.status, case.decision, case.decision_note) == (CaseStatus.REVIEW, "", "")
    task = open_task(case)
    assert (task["name"], task["owner"]) == ("review", None)
    live = CaseClock.objects.exclude(state=ClockState.STOPPED).get(case=case)
    assert (live.stage, live.task_id, live.queue_id) == ("review", task["id"], world.committee.pk)
    assert events(case)[-1] == ("case.sent_back", world.staff.pk)
    # and the reopened review can be decided again
    actions.case_reject(case_id=case.pk, actor=world.staff, reason_id=world.reason.pk)
    assert status(case) == CaseStatus.FEEDBACK


def test_send_back_from_needs_info_and_from_feedback(world):
    asked = file_case(world)
    actions.case_request_info(case_id=asked.pk, actor=world.staff, question="请补充")
    actions.case_send_back(case_id=asked.pk, actor=world.staff, reason="问题已清楚，无需补充")
    assert status(asked) == CaseStatus.REVIEW
    assert open_task(asked)["name"] == "review"
    review_clock = CaseClock.objects.get(case=asked, stage="review")
    assert review_clock.state == ClockState.RUNNING  # the paused clock resumed

    rejected = file_case(world)
    actions.case_reject(case_id=rejected.pk, actor=world.staff, reason_id=world.reason.pk)
    actions.case_send_back(case_id=rejected.pk, actor=world.staff, reason="理由选错")
    rejected.refresh_from_db()
    assert (rejected.status, rejected.reject_reason_id) == (CaseStatus.REVIEW, None)
    assert open_task(rejected)["name"] == "review"


def test_a_merged_case_follows_its_masters_outcome(world):
    master = file_case(world, title="校门拥堵（主）")
    duplicate = file_case(world, title="校门拥堵（重复）")
    actions.case_merge(case_id=duplicate.pk, actor=world.staff, into_id=master.pk)
    actions.case_accept(case_id=master.pk, actor=world.staff)
    actions.case_convert(case_id=master.pk, actor=world.staff, output_type="proposal")
    master.refresh_from_db()
    actions.output_record_outcome(output_id=master.output_id, actor=world.staff, outcome="已设护学岗")

    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.outcome) == (CaseStatus.MERGED, "已设护学岗")
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
    actions.case_accept(case_id=case.pk, actor=world.staff)
    actions.case_convert(case_id=case.pk, actor=world.staff, output_type="proposal")
    case.refresh_from_db()
    output = Output.objects.get(pk=case.output_id)
    assert (output.term_id, output.session_id) == (term.pk, session.pk)
