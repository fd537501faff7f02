"""The notifications API: a user's own list (newest first, unread filter, paged), marking read,
the unread count, and the channel settings, checked strictly. A user sees and marks only their
own: another user's id answers exactly as a missing one."""

from __future__ import annotations

import pytest

from casework.models import Notification, User
from tests.api.test_contract import assert_error
from tests.notify_helpers import notification, tell


@pytest.fixture
def told(world):
    """Three notifications to staff (the second read) and one to staff2."""
    for n in range(3):
        tell(world.staff, key=f"k{n}", title=f"通知{n}")
    Notification.objects.filter(recipient=world.staff, dedupe_key="k1").update(read_at="2026-11-01T00:00:00Z")
    tell(world.staff2, key="k0", title="别人的通知")
    return world


def titles(body):
    return [n["title"] for n in body["results"]]


def test_the_list_is_mine_newest_first_with_the_unread_count(told, client_for):
    body = client_for(told.staff).get("/api/v1/notifications/").json()

    assert titles(body) == ["通知2", "通知1", "通知0"]
    assert body["unread_count"] == 2 and body["next"] is None
    first = body["results"][0]
    assert set(first) == {"id", "kind", "kind_display", "title", "body", "case", "created_at", "read_at"}
    assert first["kind"] == "clock_warning" and first["read_at"] is None and first["case"] is None
    assert first["created_at"].endswith("+08:00")


def test_the_unread_filter_and_paging(told, client_for):
    client = client_for(told.staff)
    assert titles(client.get("/api/v1/notifications/?unread=1").json()) == ["通知2", "通知0"]
    assert titles(client.get("/api/v1/notifications/?unread=0").json()) == ["通知2", "通知1", "通知0"]
    page = client.get("/api/v1/notifications/?limit=2").json()
    assert titles(page) == ["通知2", "通知1"] and page["next"]
    rest = client.get(page["next"]).json()
    assert titles(rest) == ["通知0"]
    assert_error(client.get("/api/v1/notifications/?unread=yes"), 400, "invalid_unread")
    assert_error(client.get("/api/v1/notifications/?cursor=!!"), 400, "invalid_cursor")


def test_the_unread_count_endpoint(told, client_for):
    assert client_for(told.staff).get("/api/v1/notifications/unread-count/").json() == {"unread_count": 2}
    assert client_for(told.staff2).get("/api/v1/notifications/unread-count/").json() == {"unread_count": 1}
    assert client_for(told.leader).get("/api/v1/notifications/unread-count/").json() == {"unread_count": 0}


def test_marking_one_read_keeps_the_first_time(told, client_for):
    client = client_for(told.staff)
    target = notification(told.staff, "k0")

    first = client.post(f"/api/v1/notifications/{target.pk}/read/")
    assert first.status_code == 200, first.content
    assert first.json()["id"] == target.pk and first.json()["read_at"]
    again = client.post(f"/api/v1/notifications/{target.pk}/read/").json()
    assert again["read_at"] == first.json()["read_at"]
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread_count": 1}


def test_read_all_marks_only_mine(told, client_for):
    response = client_for(told.staff).post("/api/v1/notifications/read-all/")
    assert response.json() == {"marked": 2}
    assert client_for(told.staff).get("/api/v1/notifications/?unread=1").json()["results"] == []
    assert Notification.objects.get(recipient=told.staff2).read_at is None


def test_another_users_notification_answers_as_a_missing_one(told, client_for):
    """As an attacker would try: someone else's id, read or marked, by a colleague and by an
    outsider of another organisation; the answer is the one a missing id gets, and nothing changes."""
    theirs = notification(told.staff2, "k0")
    missing = Notification.objects.order_by("-id").first().pk + 1000
    for attacker in (told.staff, told.outsider, told.member.user):
        client = client_for(attacker)
        refused = assert_error(client.post(f"/api/v1/notifications/{theirs.pk}/read/"), 404)
        absent = assert_error(client.post(f"/api/v1/notifications/{missing}/read/"), 404)
        assert refused == absent
        assert theirs.pk not in [n["id"] for n in client.get("/api/v1/notifications/").json()["results"]]
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_signed_out_is_refused(told, client):
    assert_error(client.get("/api/v1/notifications/"), 401)
    assert_error(client.post("/api/v1/notifications/read-all/"), 401)
    assert_error(client.get("/api/v1/me/notification-settings/"), 401)


# Channel settings ---------------------------------------------------------------------------


def test_settings_read_and_change(world, client_for):
    user = world.staff
    user.email = "zhang@example.gov.cn"
    user.save()
    client = client_for(user)
    assert client.get("/api/v1/me/notification-settings/").json() == {
        "email": True,
        "dingtalk": False,
        "mobile": "",
        "email_address": "zhang@example.gov.cn",
    }

    changed = client.patch(
        "/api/v1/me/notification-settings/", {"email": False, "dingtalk": True, "mobile": "13800000001"}, format="json"
    )

    assert changed.status_code == 200, changed.content
    assert changed.json() == {"email": False, "dingtalk": True, "mobile": "13800000001", "email_address": user.email}
    user.refresh_from_db()
    assert (user.notify_by_email, user.notify_by_dingtalk, user.mobile) == (False, True, "13800000001")
    partial = client.patch("/api/v1/me/notification-settings/", {"mobile": ""}, format="json").json()
    assert partial == {"email": False, "dingtalk": True, "mobile": "", "email_address": user.email}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"email": "true"}, "invalid", "email"),
        ({"email": 1}, "invalid", "email"),
        ({"dingtalk": None}, "invalid", "dingtalk"),
        ({"email": False, "sms": True}, "unknown_field", "sms"),
        ({"notify_by_email": False}, "unknown_field", "notify_by_email"),
        ({"mobile": "1380000000"}, "invalid", "mobile"),
        ({"mobile": "13800000001\n"}, "invalid", "mobile"),
        ({"mobile": 13800000001}, "invalid", "mobile"),
        ({}, "invalid_body", None),
        ([{"email": False}], "invalid_body", None),
    ],
)
def test_settings_refuse_what_they_do_not_know_and_change_nothing(world, client_for, body, code, field):
    user = world.staff
    before = User.objects.filter(pk=user.pk).values("notify_by_email", "notify_by_dingtalk", "mobile").get()

    error = assert_error(client_for(user).patch("/api/v1/me/notification-settings/", body, format="json"), 400, code)

    if field is not None:
        assert error["details"]["field"] == field, error
    assert User.objects.filter(pk=user.pk).values("notify_by_email", "notify_by_dingtalk", "mobile").get() == before


def test_a_good_field_beside_a_bad_one_is_not_applied(world, client_for):
    response = client_for(world.staff).patch(
        "/api/v1/me/notification-settings/", {"dingtalk": True, "email": "no"}, format="json"
    )
    assert_error(response, 400, "invalid")
    world.staff.refresh_from_db()
    assert world.staff.notify_by_dingtalk is False


def test_the_choice_made_through_the_api_decides_the_channels_of_the_next_notification(world, client_for):
    user = world.staff
    user.email = "zhang@example.gov.cn"
    user.save()
    client_for(user).patch("/api/v1/me/notification-settings/", {"email": False, "dingtalk": True}, format="json")

    created = tell(user, key="after")

    assert list(created.deliveries.values_list("channel", flat=True)) == ["dingtalk"]


def test_the_schema_documents_the_strict_settings_body(tmp_path, db):
    import yaml
    from django.core.management import call_command

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    body = schema["components"]["schemas"]["PatchedNotificationSettingsInRequest"]
    assert body["additionalProperties"] is False and body["minProperties"] == 1
    assert set(body["properties"]) == {"email", "dingtalk", "mobile"}
    read = schema["paths"]["/api/v1/notifications/{notification_id}/read/"]["post"]
    assert {"200", "401", "404"} <= set(read["responses"])
    assert read["parameters"][0]["schema"]["minimum"] == 1
