"""The dashboard's monthly roll-up: the page's figures read through it equal the live read of
the cases on a varied data set (ranges with partial months at both ends, whole months only, a
sector filter, months since the refresh), it goes stale only until the next refresh, a case filed
after a refresh counts at once, and without a roll-up the page reads the cases. Runs on SQLite
and on PostgreSQL (where the live read is the GROUPING SETS scan)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from io import BytesIO, StringIO
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from casework import reports
from casework.choices import CaseStatus, ClockState, Decision, FeedbackMethod, OutputType, Satisfaction, Stage
from casework.models import (
    Case,
    CaseCategory,
    CaseClock,
    DashboardMonth,
    DashboardRollup,
    Output,
    Sector,
    Township,
)
from casework.services import dashboard_rollup
from casework.tasks import dashboard_rollup_task
from tests.factories import World, make_member

BEIJING = ZoneInfo("Asia/Shanghai")
# The refresh runs "now" in April 2026: January 2025 to March 2026 are rolled up whole, April up to
# the cutoff (a minute before), the cases stamped after it (up to the end of April) are read live.
NOW = datetime(2026, 4, 15, 9, 30, tzinfo=BEIJING)
START, END = date(2025, 1, 1), date(2026, 4, 30)


def local_day(at: datetime) -> date:
    return at.astimezone(BEIJING).date()


def moment(rng: random.Random, first: date = START, last: date = END) -> datetime:
    """A random instant between two Beijing days, often near a month's edge (its first or last
    hours, where a wrong time zone would move it to the next or previous month)."""
    day = first + timedelta(days=rng.randrange((last - first).days + 1))
    hour = rng.choice((0, 0, 7, 12, 23, 23))
    return datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=BEIJING)


@pytest.fixture
def varied(world: World) -> dict:
    """About 260 cases of the world's organisation over sixteen months with every charted column
    varied (empty ones too), outputs whose cases span several months, clocks of two committees
    met and late; a few cases of another organisation that must never count."""
    rng = random.Random(20261130)
    org = world.org
    sectors = [world.sector, *(Sector.objects.create(organisation=org, name=n) for n in ("医卫界", "经济界"))]
    members = [world.member, world.other_member] + [
        make_member(org, s, f"委员{i}", contacts=0) for i, s in enumerate(sectors)
    ]
    categories = [world.category, CaseCategory.objects.create(organisation=org, name="市政设施")]
    townships = [world.township, Township.objects.create(organisation=org, name="东城街道"), None]
    outputs = [
        Output.objects.create(
            organisation=org,
            output_type=rng.choice((OutputType.PROPOSAL, OutputType.INFO_REPORT, OutputType.SPEECH)),
            title=f"成果{i}",
            committee=world.committee,
            created_by=world.staff,
        )
        for i in range(12)
    ]
    cases = []
    for _ in range(260):
        submitted = moment(rng)
        status = rng.choice(CaseStatus.values)
        closed = status == CaseStatus.CLOSED
        case = Case.objects.create(
            organisation=org,
            member=rng.choice(members),
            title="路灯不亮",
            description="晚上看不见",
            category=rng.choice(categories),
            township=rng.choice(townships),
            committee=rng.choice((world.committee, world.other_committee)),
            created_by=world.member.user,
            status=status,
            submitted_at=None if status == CaseStatus.DRAFT else submitted,
            decision=rng.choice(["", *Decision.values]),
            feedback_method=rng.choice(["", *FeedbackMethod.values]),
            satisfaction=rng.choice(["", *Satisfaction.values]),
            output=rng.choice([None, None, *outputs]),
            closed_at=submitted + timedelta(days=rng.randrange(0, 60), hours=rng.randrange(24)) if closed else None,
        )
        cases.append(case)
        for stage in rng.sample([Stage.REVIEW, Stage.CONVERSION, Stage.FEEDBACK], rng.randrange(0, 3)):
            stopped = submitted + timedelta(days=rng.randrange(1, 40), hours=rng.randrange(24))
            CaseClock.objects.create(
                organisation=org,
                case=case,
                stage=stage,
                state=ClockState.STOPPED,
                started_at=submitted,
                stopped_at=stopped,
                is_met=rng.choice((True, False, None)),
            )
    other = world.outsider.organisation
    other_sector = Sector.objects.create(organisation=other, name="外界别")
    stranger = make_member(other, other_sector, "外委员", contacts=0)
    elsewhere = CaseCategory.objects.create(organisation=other, name="外类别")
    for _ in range(5):
        Case.objects.create(
            organisation=other,
            member=stranger,
            title="外单位",
            description="不应计入",
            category=elsewhere,
            committee=world.committee,
            created_by=stranger.user,
            submitted_at=moment(rng),
        )
    return {"cases": cases, "sectors": sectors, "outputs": outputs}


RANGES = [
    (START, END),  # everything; April 2026 live (after the refresh's month)
    (date(2025, 2, 10), date(2026, 2, 20)),  # partial months at both ends
    (date(2025, 3, 1), date(2026, 3, 31)),  # whole months only
    (date(2025, 3, 31), date(2026, 3, 1)),  # one day of the first and of the last month
    (date(2026, 3, 5), date(2026, 3, 25)),  # within one month: all live
    (date(2025, 12, 1), date(2026, 4, 12)),  # ends in the refresh's month, before the cutoff
    (date(2026, 4, 1), date(2026, 4, 15)),  # the refresh's month, past the cutoff: rolled up to it
    (date(2026, 4, 3), date(2026, 4, 30)),  # within the refresh's month: all live
    (date(2026, 2, 1), date(2026, 4, 14)),  # whole months, then April to a day before the cutoff
]
LIVE_RANGES = {
    (date(2026, 3, 5), date(2026, 3, 25)): "live",
    (date(2026, 4, 3), date(2026, 4, 30)): "live",
}


def assert_same(world: World, first: date, last: date, sector: int | None = None, path: str | None = None) -> None:
    name = Sector.objects.get(pk=sector).name if sector else ""
    filters = reports.Filters(first, last, sector, name)
    rolled = reports.read(world.leader, filters)
    live = reports.read(world.leader, filters, use_rollup=False)
    assert live.path == "live"
    if path:
        assert rolled.path == path, (first, last)
    for ours, theirs in zip(rolled.charts, live.charts, strict=True):
        assert ours.key == theirs.key
        assert ours.rows == theirs.rows, (first, last, sector, ours.key)
    # And each chart as its export reads it (one chart at a time) is the page's.
    for key in ("trend", "outputs", "clocks_committee", "sector"):
        assert reports.chart(world.leader, key, filters).rows == next(c.rows for c in rolled.charts if c.key == key)


@pytest.mark.django_db
def test_rollup_equals_the_live_read(world, varied):
    dashboard_rollup.refresh(world.org.pk, now=NOW)
    state = DashboardRollup.objects.get(organisation=world.org)
    cutoff = NOW - timedelta(seconds=60)
    assert state.cutoff == cutoff and state.rows == DashboardMonth.objects.count() > 0
    # Only what was submitted before the cutoff (April up to it), only this organisation.
    assert not DashboardMonth.objects.filter(month__gt=date(2026, 4, 1)).exists()
    april = DashboardMonth.objects.filter(month=date(2026, 4, 1), dimension="status").values_list("n", flat=True)
    before_cutoff = Case.objects.filter(
        organisation=world.org, submitted_at__gte=datetime(2026, 4, 1, tzinfo=BEIJING), submitted_at__lt=cutoff
    )
    assert sum(april) == before_cutoff.count() > 0
    assert Case.objects.filter(organisation=world.org, submitted_at__gte=cutoff).exists()
    assert set(DashboardMonth.objects.values_list("organisation_id", flat=True)) == {world.org.pk}
    for first, last in RANGES:
        assert_same(world, first, last, path=LIVE_RANGES.get((first, last), "rollup"))
    for sector in varied["sectors"]:
        for first, last in RANGES[:3]:
            assert_same(world, first, last, sector.pk)
    # The figures are not trivially empty: the data set reaches every chart.
    everything = reports.read(world.leader, reports.Filters(START, END))
    assert all(chart.rows for chart in everything.charts), [c.key for c in everything.charts if not c.rows]
    outputs = next(c for c in everything.charts if c.key == "outputs")
    assert sum(row[1] for row in outputs.rows) <= len(varied["outputs"])


@pytest.mark.django_db
def test_a_status_change_shows_after_the_refresh_and_a_new_case_at_once(world, varied):
    dashboard_rollup.refresh(world.org.pk, now=NOW)
    filters = reports.Filters(date(2025, 1, 1), date(2026, 3, 31))
    case = next(
        c
        for c in varied["cases"]
        if c.status == CaseStatus.REVIEW and date(2025, 2, 1) <= local_day(c.submitted_at) < date(2026, 3, 1)
    )
    before = dict(reports.chart(world.leader, "status", filters).rows)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED, closed_at=NOW)
    # Its month comes from the roll-up, made before the change: the page still shows it as it was.
    assert dict(reports.chart(world.leader, "status", filters).rows) == before
    dashboard_rollup.refresh(world.org.pk, now=NOW)
    after = dict(reports.chart(world.leader, "status", filters).rows)
    assert after["已办结"] == before["已办结"] + 1
    assert after["委办审核"] == before.get("委办审核", 0) - 1
    for first, last in RANGES:
        assert_same(world, first, last)
    # A case filed after the refresh, in the current month, counts at once.
    status = reports.read(world.leader, reports.Filters(START, END), keys=("status",))
    Case.objects.create(
        organisation=world.org,
        member=world.member,
        title="新案件",
        description="刚提交",
        category=world.category,
        committee=world.committee,
        created_by=world.member.user,
        status=CaseStatus.REVIEW,
        submitted_at=NOW + timedelta(hours=1),
    )
    again = reports.read(world.leader, reports.Filters(START, END), keys=("status",))
    assert again.path == "rollup"
    assert dict(again.charts[0].rows)["委办审核"] == dict(status.charts[0].rows).get("委办审核", 0) + 1


@pytest.mark.django_db
def test_without_a_rollup_the_page_reads_the_cases(world, varied):
    filters = reports.Filters(START, END)
    reading = reports.read(world.leader, filters)
    assert reading.path == "live" and reading.refreshed_at is None
    body = Client()
    body.force_login(world.leader)
    page = body.get("/dashboard/", {"first": START.isoformat(), "last": END.isoformat()}).content.decode()
    assert 'data-dashboard-path="live"' in page and "整月数据更新于" not in page
    # After a refresh the page says when its whole months were counted, and its exports agree.
    dashboard_rollup.refresh(world.org.pk, now=NOW)
    page = body.get("/dashboard/", {"first": START.isoformat(), "last": END.isoformat()}).content.decode()
    assert 'data-dashboard-path="rollup"' in page and "整月数据更新于 2026-04-15 09:30" in page
    response = body.get("/dashboard/export/trend.xlsx", {"first": START.isoformat(), "last": END.isoformat()})
    rows = [list(r) for r in load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True)]
    trend = next(c for c in reports.read(world.leader, filters, use_rollup=False).charts if c.key == "trend")
    assert rows[2:] == trend.rows


@pytest.mark.django_db
def test_the_task_the_command_and_the_schedule(world, varied):
    assert settings.CELERY_BEAT_SCHEDULE["dashboard-rollup"] == {
        "task": "casework.dashboard_rollup",
        "schedule": settings.MINQING_DASHBOARD_ROLLUP_SECONDS,
    }
    done = dashboard_rollup_task()
    assert world.org.pk in done and world.outsider.organisation_id in done
    rows = DashboardMonth.objects.filter(organisation=world.org).count()
    # Run again (beat's next run meeting a redelivered one): the rows are replaced, not doubled.
    dashboard_rollup_task()
    assert DashboardMonth.objects.filter(organisation=world.org).count() == rows
    out = StringIO()
    call_command("dashboard_rollup", stdout=out)
    assert DashboardMonth.objects.filter(organisation=world.org).count() == rows
    assert world.org.name in out.getvalue()
