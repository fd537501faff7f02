"""`manage.py seed_demo`: the demo committee, its members and ~300 cases in every branch.

Seeding takes a while, so it runs once for the module, inside a transaction that is rolled back
when the module is done: the other test modules never see the demo data. Passwords are hashed
with MD5 here only to keep the test fast (the command uses the configured hasher).

The demo's words are data (workflows/demo/huangyan.toml) and its steps name declared
transitions; the last tests check that a step or a data file that does not fit is refused."""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.test.utils import override_settings
from django.utils import timezone
from viewflow.workflow.models import Task

from casework.choices import (
    AssignmentStatus,
    AuditAction,
    CaseStatus,
    Decision,
    OutputStatus,
    OutputType,
    Role,
    Satisfaction,
)
from casework.errors import NotFound
from casework.models import (
    Assignment,
    AuditEvent,
    Case,
    CaseClock,
    Committee,
    Contact,
    Engagement,
    Member,
    Organisation,
    Output,
    OutputRating,
    RosterEntry,
    ServiceRecord,
    User,
)
from casework.services import cases as case_effects
from casework.services.audit import verify_chain
from workflows.management.commands.seed_demo import DISTRICT_NAME
from workflows.management.demo import data
from workflows.management.demo.steps import FILE, CasePlan

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
COUNTED = [
    Organisation,
    User,
    Member,
    Contact,
    RosterEntry,
    Engagement,
    ServiceRecord,
    Case,
    Output,
    CaseClock,
    AuditEvent,
    Task,
    Committee,
]


def _seed(*args: str) -> str:
    out = io.StringIO()
    with override_settings(PASSWORD_HASHERS=FAST_HASHER):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module; roll it all back afterwards."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            output = _seed()
            yield {"output": output, "org": Organisation.objects.get(name=DISTRICT_NAME)}
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.mark.django_db
def test_people_and_rosters(seeded):
    org = seeded["org"]
    assert org.parent is not None and org.parent.level == "city"
    members = Member.objects.filter(organisation=org)
    assert 55 <= members.count() <= 65
    per_member = Counter(RosterEntry.objects.filter(organisation=org).values_list("member_id", flat=True))
    assert set(per_member) == set(members.values_list("id", flat=True))
    assert all(3 <= n <= 5 for n in per_member.values())
    assert all(m.user.groups.filter(name=Role.MEMBER).exists() for m in members.select_related("user"))
    # Every role has a login, every login an organisation (API tokens are issued at sign-in).
    for role in Role.values:
        assert Group.objects.get(name=role).user_set.exists(), role
    users = User.objects.filter(organisation__in=[org, org.parent])
    assert users.filter(username="admin", is_superuser=True).exists()
    assert not users.filter(organisation__isnull=True).exists()
    assert all(u.has_usable_password() for u in users)
    assert Committee.objects.filter(organisation=org, is_default_intake=True).count() == 1
    assert not Committee.objects.filter(organisation=org, head__isnull=True).exists()
    # One login per role is printed, once, with a warning; not the ~90 accounts' passwords.
    output = seeded["output"]
    assert "admin" in output and "member001" in output
    assert "member003" not in output and "sf_staff2" not in output
    table = output[output.index("每个角色一个演示账号") :].splitlines()[2:]
    logins = table[: table.index("")]
    assert 10 <= len(logins) <= 12, logins
    labels = [line.split()[0] for line in logins]
    assert len(set(labels)) == len(labels) and "审计管理员" in labels and "委员" in labels, labels
    assert "警告：以上是演示账号" in output


@pytest.mark.django_db
def test_each_head_finds_work_on_their_team_page(seeded):
    """The demo's committees have claimed tasks: a head's team page shows who holds them."""
    from casework import selectors

    held = 0
    for committee in Committee.objects.filter(organisation=seeded["org"]).select_related("head"):
        team = selectors.team_page(committee.head, committee.pk)
        held += sum(m["held"] for m in team["members"])
        assert {m["user"].pk for m in team["members"]} >= {committee.head_id}
    assert held >= 10


@pytest.mark.django_db
def test_cases_cover_every_branch(seeded):
    cases = Case.objects.filter(organisation=seeded["org"])
    assert 280 <= cases.count() <= 320
    statuses = set(cases.values_list("status", flat=True))
    assert statuses == set(CaseStatus.values)
    decisions = set(cases.values_list("decision", flat=True))
    assert set(Decision.values) <= decisions
    # Claimed and unclaimed review; needs info asked and answered; sent back.
    review_clocks = CaseClock.objects.filter(case__in=cases, stage="review", state="running")
    assert review_clocks.filter(assignee__isnull=True).exists()
    assert review_clocks.filter(assignee__isnull=False).exists()
    assert cases.filter(status=CaseStatus.REVIEW).exclude(info_answer="").exists()
    sent_back = AuditEvent.objects.filter(action=AuditAction.CASE_SENT_BACK).values_list("target_id", flat=True)
    assert len(set(sent_back)) >= 5
    # Every output type, with and without its outcome (a proposal's: `test_proposals_...`); one
    # output gathering several cases.
    outputs = Output.objects.filter(organisation=seeded["org"])
    kinds = set(outputs.values_list("output_type", "status"))
    for output_type in set(OutputType.values) - {OutputType.PROPOSAL}:
        assert (output_type, OutputStatus.DRAFT) in kinds
    # Info reports and research reports reach the answers of their own lifecycles; nothing has
    # the spine's free-text outcome any more.
    assert {("info_report", "used"), ("info_report", "not_used"), ("research_report", "transmitted")} <= kinds
    assert not outputs.filter(status=OutputStatus.OUTCOME_RECORDED).exists()
    used = outputs.filter(output_type="info_report", status="used")
    assert used.filter(instructions__isnull=False).exists() and not used.filter(bulletin_issue__isnull=True).exists()
    assert outputs.annotate(n=Count("cases")).filter(n__gte=3).exists()
    # Merged cases point at an open or closed master; every submitted case has its flow.
    assert not cases.filter(status=CaseStatus.MERGED, merged_into__isnull=True).exists()
    submitted = cases.exclude(status=CaseStatus.DRAFT)
    assert submitted.filter(process__isnull=False).count() == submitted.count()
    # The history is spread over months and nothing happened in the future.
    first = cases.order_by("created_at").first()
    assert first is not None and (timezone.now() - first.created_at).days > 90
    assert not AuditEvent.objects.filter(occurred_at__gt=timezone.now()).exists()
    assert not Task.objects.filter(created__gt=timezone.now()).exists()


PROPOSAL_STATUSES = {
    OutputStatus.DRAFT,
    OutputStatus.SUBMITTED,
    OutputStatus.FILED,
    OutputStatus.NOT_FILED,
    OutputStatus.MERGED,
    OutputStatus.WITHDRAWN,
    OutputStatus.ASSIGNED,
    OutputStatus.REPLIED,
    OutputStatus.CLOSED,
}


@pytest.mark.django_db
def test_proposals_go_down_their_lifecycle_to_every_status(seeded):
    org = seeded["org"]
    proposals = Output.objects.filter(organisation=org, output_type=OutputType.PROPOSAL)
    assert set(proposals.values_list("status", flat=True)) == PROPOSAL_STATUSES
    # Submitted proposals are numbered gaplessly in their series; a draft is not.
    numbered = proposals.exclude(status=OutputStatus.DRAFT)
    assert not numbered.filter(number="").exists() and not proposals.filter(status="draft").exclude(number="").exists()
    by_series: dict[str, list[int]] = {}
    for series, seq in numbered.values_list("series", "number_seq"):
        by_series.setdefault(series, []).append(seq)
    assert by_series and all(sorted(seqs) == list(range(1, len(seqs) + 1)) for seqs in by_series.values())
    # Every submitted proposal was signed by each of its signers from their own login first.
    for output in numbered.exclude(status=OutputStatus.MERGED).prefetch_related("signers"):
        merged_in = set(Output.objects.filter(merged_into=output).values_list("signers__user_id", flat=True))
        assert all(s.confirmed_at is not None for s in output.signers.all() if s.user_id not in merged_in)
    # Departments with a liaison handle them: leads and co-handlers, split handling, an objection
    # and the office's reassignment, replies of each class, co-handlers' views.
    assignments = Assignment.objects.filter(organisation=org)
    assert not assignments.filter(department__liaisons__isnull=True).exists()
    assert {"lead", "co", "split"} <= set(assignments.values_list("role", flat=True))
    assert assignments.filter(status=AssignmentStatus.WITHDRAWN).exclude(objection="").exists()
    assert {"A", "B", "C"} <= set(assignments.values_list("reply_class", flat=True))
    assert assignments.filter(status=AssignmentStatus.COUNTERSIGNED).exclude(view="").exists()
    # Closed ones were rated by every signer; one 不满意 sent one back for a second round.
    for output in proposals.filter(status=OutputStatus.CLOSED).prefetch_related("signers"):
        rated = set(OutputRating.objects.filter(output=output, round=output.round).values_list("signer_id", flat=True))
        assert rated == {s.pk for s in output.signers.all()}
    second = proposals.filter(round=2, status=OutputStatus.CLOSED)
    assert OutputRating.objects.filter(output__in=second, round=1, result=Satisfaction.DISSATISFIED).exists()
    # Their cases heard of each step; those of answered ones moved on to feedback.
    answered = proposals.filter(status__in=(OutputStatus.REPLIED, OutputStatus.CLOSED))
    assert not Case.objects.filter(output__in=answered, status=CaseStatus.OUTCOME).exists()
    waiting = proposals.filter(status__in=(OutputStatus.SUBMITTED, OutputStatus.FILED, OutputStatus.ASSIGNED))
    assert set(Case.objects.filter(output__in=waiting).values_list("status", flat=True)) <= {
        CaseStatus.OUTCOME,
        CaseStatus.MERGED,
    }
    told = AuditEvent.objects.filter(
        action=AuditAction.CASE_OUTPUT_EVENT, target_id__in=Case.objects.filter(output__in=proposals).values("id")
    )
    assert {AuditAction.PROPOSAL_FILED, AuditAction.PROPOSAL_ASSIGNED} <= {e.changes["event"] for e in told}
    # The accounts to try them with are named.
    output = seeded["output"]
    assert "提案办理的演示账号" in output and "ta_staff1" in output and "dept_gaj（区公安分局" in output


@pytest.mark.django_db
def test_feedback_was_told_between_the_outcome_and_the_record(seeded):
    closed = Case.objects.filter(organisation=seeded["org"], status=CaseStatus.CLOSED)
    assert closed.count() > 50
    for case in closed:
        assert case.feedback_told_on is not None
        assert case.feedback_told_on <= timezone.localdate(case.closed_at)
        arrived = case_effects.outcome_arrived_on(case)
        assert arrived is not None and arrived <= case.feedback_told_on


@pytest.mark.django_db
def test_audit_chain_verifies(seeded):
    assert verify_chain() == []


@pytest.mark.django_db
def test_second_run_changes_nothing(seeded):
    before = _counts()
    for args in ((), ("--once",)):
        out = _seed(*args)
        assert "演示数据已存在，跳过" in out
        assert "member001" not in out  # no passwords the second time
    assert _counts() == before


def _plan() -> CasePlan:
    theme = data.load().policy[0]
    return CasePlan(0, "review", Member(), User(), theme, {}, {}, committee_id=0)


def test_steps_are_checked_against_the_declared_transitions():
    plan, at = _plan(), datetime(2024, 3, 1)
    plan.add(at, FILE, submit=True)
    plan.add(at, "reject", reason=1, note="")
    assert [s.transition.name if s.transition else FILE for s in plan.steps] == [FILE, "reject"]
    with pytest.raises(AssertionError, match="reason_id"):
        plan.add(at, "reject", reason_id=1)  # the input's old name
    with pytest.raises(NotFound):
        plan.add(at, "approve")  # no such transition


def test_a_data_file_that_does_not_fit_the_domain_is_refused(tmp_path):
    text = data.HUANGYAN.read_text(encoding="utf-8")
    assert data.load().organisations["district"] == DISTRICT_NAME
    for wrong, right, match in (
        ('channel = "court"', 'channel = "courts"', "wage_dispute"),
        ('towns = ["rural"]', 'towns = ["rural", "不存在镇"]', "unknown townships"),
        ("[texts.satisfaction]\nsatisfied", "[texts.satisfaction]\ncontent", "texts.satisfaction"),
    ):
        assert wrong in text
        broken = tmp_path / "broken.toml"
        broken.write_text(text.replace(wrong, right, 1), encoding="utf-8")
        with pytest.raises(AssertionError, match=match):
            data.load(broken)
