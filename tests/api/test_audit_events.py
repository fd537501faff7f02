"""The audit trail as its auditor reads it: the API's list, the page and the export."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import Client
from openpyxl import load_workbook

from casework import selectors
from casework.choices import AuditAction, Role
from casework.models import AuditEvent, User
from casework.services.audit import SYSTEM_STREAM, audit_record, system_stream
from tests.factories import make_user, make_world

BEIJING = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/audit/events/"


def event(
    org_id: int | None,
    actor: User | None,
    action: str = AuditAction.ACCOUNT_LOGIN,
    *,
    at: datetime | None = None,
    success: bool = True,
    ip: str | None = "10.1.2.3",
    changes: dict | None = None,
) -> AuditEvent:
    with transaction.atomic():
        return audit_record(
            stream=SYSTEM_STREAM,
            actor=actor,
            action=action,
            target_type="user",
            target_id=actor.pk if actor else 0,
            organisation_id=org_id,
            changes=changes if changes is not None else {"username": actor.username if actor else "ghost"},
            source_ip=ip,
            success=success,
            at=at,
        )


@pytest.fixture
def trail(world):
    auditor = make_user(world.org, Role.AUDITOR, "审计员")
    other = make_world("政协台州市椒江区委员会")
    mine = [
        event(world.org.pk, world.staff, at=datetime(2026, 1, 10, 9, 0, tzinfo=BEIJING)),
        event(
            world.org.pk,
            world.staff,
            AuditAction.ACCOUNT_LOGIN_FAILED,
            at=datetime(2026, 1, 11, 0, 30, tzinfo=BEIJING),  # 2026-01-10 16:30 UTC: a Beijing 11th
            success=False,
        ),
        event(
            world.org.pk, world.leader, AuditAction.CONTACT_PII_REVEALED, at=datetime(2026, 1, 12, 8, tzinfo=BEIJING)
        ),
    ]
    province = event(
        None, None, AuditAction.ACCOUNT_LOGIN_FAILED, at=datetime(2026, 1, 12, 9, tzinfo=BEIJING), success=False
    )
    theirs = event(other.org.pk, other.staff, at=datetime(2026, 1, 12, 10, tzinfo=BEIJING))
    return {"auditor": auditor, "mine": mine, "province": province, "theirs": theirs, "world": world}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [r["id"] for r in response.json()["results"]]


def test_the_auditor_reads_their_organisation_and_province_wide_events_newest_first(trail, client_for):
    client = client_for(trail["auditor"])
    mine, province = trail["mine"], trail["province"]
    assert ids(client.get(URL)) == [province.pk, mine[2].pk, mine[1].pk, mine[0].pk]
    first = client.get(URL).json()["results"][-1]
    staff = trail["world"].staff
    assert first["actor"] == {"id": staff.pk, "name": staff.display_name}
    assert first["action"] == "account.login" and first["action_label"] == "登录"
    assert first["occurred_at"] == "2026-01-10T09:00:00+08:00"
    assert first["source_ip"] == "10.1.2.3"
    assert first["target_type"] == "user" and first["target_id"] == staff.pk
    assert first["stream"] == system_stream(trail["world"].org.pk, datetime(2026, 1, 10).date())
    assert first["changes"] == {"username": staff.username} and first["success"] is True


def test_filters_narrow_the_list(trail, client_for):
    client = client_for(trail["auditor"])
    mine, province = trail["mine"], trail["province"]
    world = trail["world"]
    assert ids(client.get(URL, {"action": "contact.pii_revealed"})) == [mine[2].pk]
    assert ids(client.get(URL, {"actor": world.staff.pk})) == [mine[1].pk, mine[0].pk]
    assert ids(client.get(URL, {"success": "0"})) == [province.pk, mine[1].pk]
    assert ids(client.get(URL, {"success": "1"})) == [mine[2].pk, mine[0].pk]
    # Beijing days: 00:30 on the 11th is the 11th, though it is the 10th in UTC.
    assert ids(client.get(URL, {"from": "2026-01-11", "to": "2026-01-11"})) == [mine[1].pk]
    assert ids(client.get(URL, {"to": "2026-01-10"})) == [mine[0].pk]
    assert ids(client.get(URL, {"stream": mine[0].stream})) == [mine[0].pk]
    assert ids(client.get(URL, {"stream": trail["theirs"].stream})) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"action": "case.nonsense"}, "action"),
        ({"actor": "abc"}, "actor"),
        ({"actor": "0"}, "actor"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
        ({"stream": "x" * 41}, "stream"),
        ({"success": "maybe"}, "success"),
        ({"cursor": "!!"}, "cursor"),
    ],
)
def test_a_bad_filter_is_refused_with_its_field(trail, client_for, params, field):
    response = client_for(trail["auditor"]).get(URL, params)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == field


@pytest.mark.parametrize("role", [Role.COMMITTEE_STAFF, Role.LEADERSHIP, Role.SECURITY_ADMIN, Role.SYSADMIN])
def test_anyone_but_the_auditor_is_refused_even_with_a_bad_filter(trail, client_for, role):
    user = make_user(trail["world"].org, role)
    for params in ({}, {"action": "nonsense"}):
        response = client_for(user).get(URL, params)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_auditor"


def test_paging_reaches_the_51st_event(world, client_for):
    auditor = make_user(world.org, Role.AUDITOR)
    written = [event(world.org.pk, world.staff).pk for _ in range(51)]
    client = client_for(auditor)
    page = client.get(URL, {"action": "account.login"}).json()
    assert len(page["results"]) == 50 and page["next"]
    rest = client.get(page["next"]).json()
    assert rest["next"] is None
    seen = [r["id"] for r in page["results"] + rest["results"]]
    assert seen == sorted(written, reverse=True)


def page_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_lists_filters_and_pages_by_an_older_link(world):
    auditor = make_user(world.org, Role.AUDITOR)
    # Not sign-ins: signing the auditor in is one.
    reveal = AuditAction.CONTACT_PII_REVEALED
    written = [event(world.org.pk, world.staff, reveal, ip="10.9.9.9").pk for _ in range(51)]
    client = page_client(auditor)
    response = client.get("/audit/", {"action": "contact.pii_revealed"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "10.9.9.9" in body and world.staff.display_name in body
    assert f'href="/audit/?action=contact.pii_revealed&amp;before={written[1]}"' in body
    assert 'href="/audit/export.xlsx?action=contact.pii_revealed"' in body
    older = client.get("/audit/", {"action": "contact.pii_revealed", "before": written[1]})
    assert older.status_code == 200 and "更早的记录" not in older.content.decode()
    assert older.context["rows"][0]["id"] == written[0]
    bad = client.get("/audit/", {"from": "yesterday"})
    assert bad.status_code == 400 and "应为日期" in bad.content.decode() and not bad.context["rows"]


@pytest.mark.parametrize("role", [Role.COMMITTEE_STAFF, Role.LEADERSHIP, Role.SYSADMIN])
def test_the_page_and_export_do_not_exist_for_anyone_else(world, role):
    client = page_client(make_user(world.org, role))
    before = AuditEvent.objects.count()
    assert client.get("/audit/").status_code == 404
    assert client.get("/audit/export.xlsx").status_code == 404
    assert AuditEvent.objects.count() == before


def rows_of(response) -> list[list]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return [list(r) for r in load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True)]


def test_the_export_holds_the_filtered_events_and_is_itself_audited(trail):
    auditor, mine = trail["auditor"], trail["mine"]
    client = page_client(auditor)
    response = client.get("/audit/export.xlsx", {"success": "0", "from": "2026-01-11"}, REMOTE_ADDR="10.7.7.7")
    rows = rows_of(response)
    assert "success=0" in rows[0][0] and "from=2026-01-11" in rows[0][0]
    assert rows[1][0] == "编号" and len(rows[1]) == 12
    assert [r[0] for r in rows[2:]] == [trail["province"].pk, mine[1].pk]
    assert rows[3][1] == "2026-01-11 00:30:00" and rows[3][2] == "登录失败" and rows[3][8] == "否"
    assert rows[3][7] == "10.1.2.3"
    exported = AuditEvent.objects.get(action=AuditAction.AUDIT_EXPORTED)
    assert exported.actor == auditor and exported.organisation_id == auditor.organisation_id
    assert exported.stream.startswith(f"system:{auditor.organisation_id}:")
    assert exported.changes == {"filters": {"from": "2026-01-11", "success": "0"}, "rows": 2, "truncated": False}
    # The auditor sees their own export on the trail.
    listed = page_client(auditor).get("/audit/", {"action": "audit.exported"}).context["rows"]
    assert [r["id"] for r in listed] == [exported.pk]


def test_a_bad_filter_exports_nothing_and_audits_nothing(trail):
    response = page_client(trail["auditor"]).get("/audit/export.xlsx", {"to": "2026-02-30"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()


def test_the_export_stops_at_its_cap_and_says_so(trail, monkeypatch):
    monkeypatch.setattr(selectors, "AUDIT_EXPORT_MAX_ROWS", 2)
    rows = rows_of(page_client(trail["auditor"]).get("/audit/export.xlsx"))
    assert len(rows[2:]) == 2 and "仅含最新的 2 条" in rows[0][0]
    exported = AuditEvent.objects.get(action=AuditAction.AUDIT_EXPORTED)
    assert exported.changes["rows"] == 2 and exported.changes["truncated"] is True


def test_text_that_looks_like_a_formula_is_exported_as_text(world):
    auditor = make_user(world.org, Role.AUDITOR)
    sly = make_user(world.org, Role.MEMBER, "=1+1\x07")
    event(world.org.pk, sly, AuditAction.ACCOUNT_LOGIN_FAILED, success=False)
    response = page_client(auditor).get("/audit/export.xlsx", {"action": "account.login_failed"})
    sheet = load_workbook(BytesIO(response.content)).active
    cell = sheet.cell(row=3, column=4)
    assert cell.data_type == "s" and cell.value == "=1+1"
