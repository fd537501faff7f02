"""Clocks through the API: each case's open clock and history with its SLA state, the overdue
and nearly-due filters, and the compliance report with who may read which committee."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from casework.choices import ClockState, Role
from casework.models import CaseClock
from tests.api.test_cases_api import file, go
from tests.factories import make_user


def _due(case, *, warn: timedelta | None, due: timedelta) -> None:
    now = timezone.now()
    CaseClock.objects.filter(case=case, state=ClockState.RUNNING).update(
        warn_at=now + warn if warn is not None else None, due_at=now + due
    )


@pytest.fixture
def three(world, client_for):
    member = client_for(world.member.user)
    ok, warning, overdue = (file(member, world, title=t) for t in ("正常", "将到期", "已超期"))
    _due(ok, warn=timedelta(days=2), due=timedelta(days=4))
    _due(warning, warn=-timedelta(hours=1), due=timedelta(days=1))
    _due(overdue, warn=-timedelta(days=2), due=-timedelta(hours=1))
    return ok, warning, overdue


def test_a_case_shows_its_open_clock_with_its_state_and_its_history(world, client_for, three):
    ok, warning, overdue = three
    staff = client_for(world.staff)
    body = staff.get(f"/api/v1/cases/{overdue.pk}/").json()
    assert body["clock"]["stage"] == "review" and body["clock"]["sla"] == "breached"
    assert body["clock"]["words"].startswith("已超期")
    assert staff.get(f"/api/v1/cases/{warning.pk}/").json()["clock"]["sla"] == "warning"
    assert staff.get(f"/api/v1/cases/{ok.pk}/").json()["clock"]["sla"] == "ok"

    # Asking the member for information pauses review and opens the member's clock: the open
    # clock is the member's, the paused review stays in the history.
    go(staff, ok, "claim")
    go(staff, ok, "request_info", question="请补充照片")
    body = staff.get(f"/api/v1/cases/{ok.pk}/").json()
    assert body["clock"]["stage"] == "needs_info" and body["clock"]["sla"] == "ok"
    assert [(c["stage"], c["sla"]) for c in body["clocks"]] == [("review", "paused"), ("needs_info", "ok")]


def test_lists_filter_the_overdue_and_the_nearly_due(world, client_for, three):
    ok, warning, overdue = three
    staff = client_for(world.staff)
    ids = lambda url: [r["id"] for r in staff.get(url).json()["results"]]  # noqa: E731
    assert ids("/api/v1/cases/?sla=breached") == [overdue.pk]
    assert ids("/api/v1/cases/?sla=warning") == [warning.pk]
    assert len(ids("/api/v1/cases/")) == 3

    queue = f"/api/v1/queues/{world.committee.pk}/tasks/"
    items = staff.get(queue).json()["results"]
    assert [(i["case"]["id"], i["sla"]) for i in items] == [
        (overdue.pk, "breached"),
        (warning.pk, "warning"),
        (ok.pk, "ok"),
    ]
    assert [i["case"]["id"] for i in staff.get(queue + "?sla=warning").json()["results"]] == [warning.pk]
    assert [i["case"]["id"] for i in staff.get(queue + "?sla=breached").json()["results"]] == [overdue.pk]

    bad = staff.get("/api/v1/cases/?sla=late")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_sla"
    assert staff.get(queue + "?sla=1").status_code == 400


def test_the_report_counts_verdicts_and_what_runs_now(world, client_for, three):
    ok, warning, overdue = three
    staff = client_for(world.staff)
    # One decision on time, one late.
    go(staff, ok, "claim")
    go(staff, ok, "resolve", note="已协调解决")
    go(staff, overdue, "claim")
    go(staff, overdue, "resolve", note="已协调解决")
    report = staff.get("/api/v1/reports/sla/").json()
    (row,) = [r for r in report["rows"] if r["stage"] == "review"]
    assert row["committee"] == {"id": world.committee.pk, "name": world.committee.name}
    assert (row["judged"], row["met"], row["late"], row["compliance"]) == (2, 1, 1, 0.5)
    assert (row["open"], row["warning"], row["overdue"]) == (1, 1, 0)
    assert report["totals"]["judged"] == 2

    # A range that ended before the decisions has none.
    old = staff.get("/api/v1/reports/sla/?from=2025-01-01&to=2025-12-31").json()
    assert all(r["judged"] == 0 for r in old["rows"])


def test_who_reads_the_report(world, client_for, three):
    leader = client_for(world.leader).get("/api/v1/reports/sla/")
    assert leader.status_code == 200 and {r["committee"]["id"] for r in leader.json()["rows"]} == {world.committee.pk}
    # Staff of another committee read theirs only: this one's cases are not in it, nor can they ask.
    other = client_for(world.other_staff)
    assert other.get("/api/v1/reports/sla/").json()["rows"] == []
    assert other.get(f"/api/v1/reports/sla/?committee={world.committee.pk}").status_code == 404
    # Staff of another organisation cannot name this one's committee either.
    assert client_for(world.outsider).get(f"/api/v1/reports/sla/?committee={world.committee.pk}").status_code == 404
    denied = client_for(world.member.user).get("/api/v1/reports/sla/")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_report_reader"
    auditor = client_for(make_user(world.org, Role.AUDITOR))
    assert auditor.get("/api/v1/reports/sla/").status_code == 403


@pytest.mark.parametrize(
    "query, code",
    [
        ("from=2026-13-01", "invalid_date"),
        ("from=20260101", "invalid_date"),
        ("to=2026-1-1", "invalid_date"),
        ("from=2026-12-01&to=2026-01-01", "invalid_range"),
        ("from=2000-01-01&to=2026-01-01", "range_too_long"),
        ("committee=abc", "invalid_committee"),
        ("committee=0", "invalid_committee"),
        ("committee=99999999999999999999999", "invalid_committee"),
    ],
)
def test_a_bad_report_query_is_a_clear_400(world, client_for, query, code):
    answer = client_for(world.leader).get(f"/api/v1/reports/sla/?{query}")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code
