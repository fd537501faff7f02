"""The leadership dashboard: its figures against a small world with known counts, who may open
it, and its spreadsheets read back."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from openpyxl import load_workbook

from casework import reports, selectors
from casework.choices import (
    CaseStatus,
    ClockState,
    Decision,
    FeedbackMethod,
    OutputType,
    Role,
    Satisfaction,
    Stage,
)
from casework.errors import InvalidInput, NotFound, PermissionDenied
from casework.models import Case, CaseCategory, CaseClock, Output, Sector, Township, User
from tests.factories import World, make_member, make_user
from tests.helpers import file

BEIJING = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 1, 1), date(2026, 3, 31)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BEIJING)


def make_case(world: World, member=None, **fields) -> Case:
    values = {
        "organisation": world.org,
        "member": member or world.member,
        "title": "路灯不亮",
        "description": "晚上看不见",
        "category": world.category,
        "township": world.township,
        "committee": world.committee,
        "created_by": world.member.user,
        "status": CaseStatus.REVIEW,
        **fields,
    }
    return Case.objects.create(**values)


@pytest.fixture
def small(world: World) -> dict:
    """Seven cases of the world's organisation, one of another, one draft; their figures known."""
    health = Sector.objects.create(organisation=world.org, name="医卫界")
    doctor = make_member(world.org, health, "刘委员")
    roads = CaseCategory.objects.create(organisation=world.org, name="市政设施")
    east = Township.objects.create(organisation=world.org, name="东城街道")
    output = Output.objects.create(
        organisation=world.org,
        output_type=OutputType.PROPOSAL,
        title="关于改善路灯的提案",
        committee=world.committee,
        created_by=world.staff,
    )
    jan, feb, mar = date(2026, 1, 15), date(2026, 2, 10), date(2026, 3, 31)
    cases = [
        # 教育界 (the world's sector), 交通出行, 南城街道 unless said otherwise.
        make_case(world, submitted_at=at(jan), status=CaseStatus.REVIEW),
        make_case(world, submitted_at=at(jan), status=CaseStatus.CONVERSION, decision=Decision.ACCEPTED),
        make_case(
            world,
            submitted_at=at(feb),
            status=CaseStatus.CLOSED,
            decision=Decision.ACCEPTED,
            output=output,
            feedback_method=FeedbackMethod.VISIT,
            satisfaction=Satisfaction.SATISFIED,
            closed_at=at(mar),
        ),
        make_case(
            world,
            member=doctor,
            category=roads,
            township=east,
            submitted_at=at(feb),
            status=CaseStatus.CLOSED,
            decision=Decision.ACCEPTED,
            output=output,
            feedback_method=FeedbackMethod.PHONE,
            satisfaction=Satisfaction.BASICALLY,
            closed_at=at(feb, 12),
        ),
        make_case(
            world,
            member=doctor,
            category=roads,
            township=None,
            submitted_at=at(mar, 23),  # 23:00 in Beijing on the last day: inside the range
            status=CaseStatus.CLOSED,
            decision=Decision.REJECTED,
            feedback_method=FeedbackMethod.PHONE,
            satisfaction=Satisfaction.DISSATISFIED,
            closed_at=at(mar, 23),
        ),
    ]
    # Outside the range (a day before, a day after), a draft, and a case of another organisation.
    make_case(world, submitted_at=at(date(2025, 12, 31), 23))
    make_case(world, submitted_at=at(date(2026, 4, 1), 0))
    make_case(world, status=CaseStatus.DRAFT)
    # Clocks: review met twice, late once (stopped in range); one stopped outside; one running.
    for case, stage, met, stopped in [
        (cases[0], Stage.REVIEW, True, at(jan)),
        (cases[1], Stage.REVIEW, True, at(feb)),
        (cases[3], Stage.REVIEW, False, at(feb)),
        (cases[3], Stage.CONVERSION, True, at(mar)),
        (cases[2], Stage.REVIEW, True, at(date(2026, 4, 2))),
    ]:
        CaseClock.objects.create(
            organisation=world.org,
            case=case,
            stage=stage,
            state=ClockState.STOPPED,
            started_at=stopped - timedelta(days=3),
            stopped_at=stopped,
            is_met=met,
        )
    return {"cases": cases, "health": health, "output": output}


def table(user: User, key: str, **filters) -> list[list]:
    chosen = reports.filters_for(
        user, first=filters.get("first", FIRST), last=filters.get("last", LAST), sector_id=filters.get("sector")
    )
    return reports.chart(user, key, chosen).rows


@pytest.mark.django_db
def test_case_charts_count_the_cases_submitted_in_the_range(world, small):
    leader = world.leader
    assert table(leader, "status") == [["委办审核", 1], ["成果转化", 1], ["已办结", 3]]
    assert table(leader, "sector") == [["教育界", 3], ["医卫界", 2]]
    assert table(leader, "category") == [["交通出行", 3], ["市政设施", 2]]
    assert table(leader, "township") == [["南城街道", 3], ["东城街道", 1], ["未填写", 1]]
    assert table(leader, "decision") == [["受理转化", 3], ["不予受理", 1]]
    assert table(leader, "reply") == [["走访", 1], ["电话", 2]]
    assert table(leader, "satisfaction") == [["满意", 1], ["基本满意", 1], ["不满意", 1]]
    # One proposal, two cases converted into it.
    assert table(leader, "outputs") == [["提案", 1, 2]]
    assert table(leader, "trend") == [["2026-01", 2, 0], ["2026-02", 2, 1], ["2026-03", 1, 2]]


@pytest.mark.django_db
def test_the_sector_filter_keeps_only_that_sectors_members(world, small):
    health = small["health"].pk
    assert table(world.leader, "status", sector=health) == [["已办结", 2]]
    assert table(world.leader, "sector", sector=health) == [["医卫界", 2]]
    assert table(world.leader, "trend", sector=health) == [["2026-01", 0, 0], ["2026-02", 1, 1], ["2026-03", 1, 1]]
    assert table(world.leader, "clocks_stage", sector=health) == [["审核", 0, 1], ["成果转化", 1, 0]]


@pytest.mark.django_db
def test_clock_charts_count_clocks_stopped_in_the_range(world, small):
    CaseClock.objects.create(
        organisation=world.org, case=small["cases"][0], stage=Stage.CONVERSION, started_at=at(FIRST)
    )
    report = selectors.sla_report(world.leader, first=FIRST, last=LAST, sector_id=None)
    assert report["totals"]["open"] == 1 and report["totals"]["met"] == 3
    # The dashboard shows only verdicts and skips the running clocks' query.
    report = selectors.sla_report(world.leader, first=FIRST, last=LAST, include_running=False)
    assert report["totals"]["open"] == 0 and report["totals"]["met"] == 3
    assert table(world.leader, "clocks_stage") == [["审核", 2, 1], ["成果转化", 1, 0]]
    assert table(world.leader, "clocks_committee") == [["社会和法制委员会", 3, 1]]
    # The page's one reading of the SLA report gives the same two tables.
    charts = {c.key: c.rows for c in reports.dashboard(world.leader, reports.Filters(FIRST, LAST))}
    assert charts["clocks_stage"] == [["审核", 2, 1], ["成果转化", 1, 0]]
    assert charts["clocks_committee"] == [["社会和法制委员会", 3, 1]]
    # On PostgreSQL the page reads the cases' charts in one scan; each equals its own query.
    for key in reports.CHART_KEYS:
        assert charts[key] == table(world.leader, key), key
    health = small["health"].pk
    filtered = reports.Filters(FIRST, LAST, health, "医卫界")
    for one in reports.dashboard(world.leader, filtered):
        assert one.rows == table(world.leader, one.key, sector=health), one.key


@pytest.mark.django_db
def test_a_range_of_one_day_uses_beijing_days(world, small):
    day = date(2026, 3, 31)
    assert table(world.leader, "status", first=day, last=day) == [["已办结", 1]]
    assert table(world.leader, "status", first=date(2026, 4, 1), last=date(2026, 4, 1)) == [["委办审核", 1]]


@pytest.mark.django_db
def test_a_case_filed_through_the_flow_is_counted(world):
    file(
        world.member.user,
        title="校门口接送拥堵",
        description="放学时段车辆排队",
        category=world.category.pk,
        township=world.township.pk,
        contacts=world.contact_ids(),
    )
    chosen = reports.filters_for(world.leader, first=None, last=None, sector_id=None)
    assert reports.chart(world.leader, "status", chosen).rows == [["委办审核", 1]]
    assert reports.chart(world.leader, "sector", chosen).rows == [["教育界", 1]]


@pytest.mark.django_db
def test_only_leadership_reads_and_filters_are_checked(world, small):
    with pytest.raises(PermissionDenied):
        reports.filters_for(world.staff, first=None, last=None, sector_id=None)
    with pytest.raises(InvalidInput):
        reports.filters_for(world.leader, first=LAST, last=FIRST, sector_id=None)
    with pytest.raises(InvalidInput):
        reports.filters_for(world.leader, first=date(2000, 1, 1), last=LAST, sector_id=None)
    other_org_sector = Sector.objects.create(organisation=world.outsider.organisation, name="经济界")
    with pytest.raises(NotFound):
        reports.filters_for(world.leader, first=None, last=None, sector_id=other_org_sector.pk)
    # Another organisation's leader sees none of these cases.
    other_leader = make_user(world.outsider.organisation, Role.LEADERSHIP, "外单位主席")
    assert table(other_leader, "status") == []


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_page_is_for_leadership_only(world, small):
    response = client_of(world.leader).get("/dashboard/", {"first": "2026-01-01", "last": "2026-03-31"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="dashboard-data"' in body and "vendor/echarts.min.js" in body and "js/dashboard.js" in body
    # The date inputs carry the range as ISO dates, which is what a browser's date input takes.
    assert 'type="date" name="first" value="2026-01-01"' in body
    assert "医卫界" in body and "/dashboard/export/status.xlsx?first=2026-01-01&amp;last=2026-03-31" in body
    assert response.context["charts"][1]["rows"] == [["委办审核", 1], ["成果转化", 1], ["已办结", 3]]
    for user in (world.member.user, world.staff, world.outsider):
        assert client_of(user).get("/dashboard/").status_code == 404
        assert client_of(user).get("/dashboard/export/status.xlsx").status_code == 404
    assert Client().get("/dashboard/").status_code == 302  # to the sign-in page
    # The header and the home page link to it for the leader only.
    assert 'href="/dashboard/"' in client_of(world.leader).get("/").content.decode()
    assert 'href="/dashboard/"' not in client_of(world.staff).get("/").content.decode()


@pytest.mark.django_db
def test_a_bad_filter_is_said_and_the_default_range_shown(world, small):
    response = client_of(world.leader).get("/dashboard/", {"first": "2026-03-31", "last": "2026-01-01"})
    assert response.status_code == 200
    assert "开始日期不能晚于结束日期" in response.content.decode()
    assert response.context["filters"] == reports.filters_for(world.leader, first=None, last=None, sector_id=None)
    response = client_of(world.leader).get("/dashboard/", {"first": "not-a-date"})
    assert response.status_code == 200 and "errors" in response.content.decode()


@pytest.mark.django_db
def test_export_round_trip(world, small):
    client = client_of(world.leader)
    response = client.get(
        "/dashboard/export/clocks_stage.xlsx",
        {"first": "2026-01-01", "last": "2026-03-31", "sector": str(small["health"].pk)},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].startswith("attachment;")
    sheet = load_workbook(BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "2026-01-01 至 2026-03-31" in rows[0][0] and "医卫界" in rows[0][0]
    assert rows[1:] == [["环节", "按时", "超时"], ["审核", 0, 1], ["成果转化", 1, 0]]

    response = client.get("/dashboard/export/trend.xlsx", {"first": "2026-01-01", "last": "2026-03-31"})
    rows = [list(r) for r in load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True)]
    assert rows[1:] == [["月份", "提交", "办结"], ["2026-01", 2, 0], ["2026-02", 2, 1], ["2026-03", 1, 2]]

    # A bad filter is refused, an unknown chart is not found.
    response = client.get("/dashboard/export/status.xlsx", {"first": "2026-03-31", "last": "2026-01-01"})
    assert response.status_code == 400 and "开始日期不能晚于结束日期" in response.content.decode()
    assert client.get("/dashboard/export/nothing.xlsx").status_code == 404


@pytest.mark.django_db
def test_the_sla_report_exports_whole(world, small):
    CaseClock.objects.create(
        organisation=world.org, case=small["cases"][0], stage=Stage.CONVERSION, started_at=at(FIRST)
    )
    client = client_of(world.leader)
    assert (
        "/dashboard/export/sla.xlsx?first=2026-01-01"
        in client.get("/dashboard/", {"first": "2026-01-01", "last": "2026-03-31"}).content.decode()
    )
    response = client.get("/dashboard/export/sla.xlsx", {"first": "2026-01-01", "last": "2026-03-31"})
    assert response.status_code == 200
    rows = [list(r) for r in load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True)]
    assert rows[0][0].startswith("时限报表")
    assert rows[1] == ["委办", "环节", "按时", "超时", "按时率", "计时中", "临近到期", "已超期"]
    # Review: 2 met, 1 late; conversion: 1 met, and the running clock (no deadline, so neither
    # nearly due nor overdue).
    assert rows[2:] == [
        ["社会和法制委员会", "审核", 2, 1, 0.6667, 0, 0, 0],
        ["社会和法制委员会", "成果转化", 1, 0, 1, 1, 0, 0],
    ]
    assert client_of(world.staff).get("/dashboard/export/sla.xlsx").status_code == 404
