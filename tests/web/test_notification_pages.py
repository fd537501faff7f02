"""The pages of notifications: the unread badge in the header, the list with mark-read (POST
forms with CSRF), and the profile where a user chooses their channels."""

from __future__ import annotations

import re

from django.test import Client

from casework.models import Notification
from tests.notify_helpers import notification, tell
from tests.web.test_pages import file_case, logged_in, page


def badge(html: str) -> str | None:
    found = re.search(r'<span class="unread-count"[^>]*>([^<]+)</span>', html)
    return found.group(1) if found else None


def test_the_header_shows_my_unread_count_on_every_page(world):
    for n in range(3):
        tell(world.staff, key=f"k{n}")
    tell(world.staff2, key="other")
    client = logged_in(world.staff)
    case = file_case(world)

    for url in ("/", f"/cases/{case.pk}/", "/me/", "/notifications/"):
        html = page(client.get(url))
        assert badge(html) == "3", url
        assert 'href="/notifications/"' in html
        assert "通知：3 条未读" in html

    Notification.objects.filter(recipient=world.staff).update(read_at="2026-11-01T00:00:00Z")
    assert badge(page(client.get("/"))) is None


def test_the_badge_in_english(world):
    tell(world.staff)
    html = page(logged_in(world.staff).get("/", HTTP_ACCEPT_LANGUAGE="en"))
    assert badge(html) == "1"
    assert "Notifications: 1 unread" in html


def test_the_sign_in_page_has_no_badge(db):
    assert badge(page(Client().get("/login/"))) is None


def test_the_notifications_page_lists_mine_and_marks_read(world):
    tell(world.staff, key="a", title="审核即将超期")
    tell(world.staff, key="b", title="审核已超期")
    tell(world.staff2, key="a", title="别人的通知")
    client = logged_in(world.staff)

    html = page(client.get("/notifications/"))
    assert html.index("审核已超期") < html.index("审核即将超期")  # newest first
    assert "别人的通知" not in html
    assert "csrfmiddlewaretoken" in html

    target = notification(world.staff, "a")
    response = client.post(f"/notifications/{target.pk}/read/", {"next": "/notifications/?unread=1"})
    assert response.status_code == 302 and response["Location"] == "/notifications/?unread=1"
    target.refresh_from_db()
    assert target.read_at is not None
    unread_page = page(client.get("/notifications/?unread=1"))
    assert "审核已超期" in unread_page and "审核即将超期" not in unread_page

    response = client.post("/notifications/read-all/")
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=world.staff, read_at__isnull=True).exists()
    assert Notification.objects.get(recipient=world.staff2).read_at is None


def test_marking_is_a_post_with_csrf_and_only_of_mine(world):
    tell(world.staff2, key="theirs")
    theirs = notification(world.staff2, "theirs")
    client = logged_in(world.staff)

    assert client.get(f"/notifications/{theirs.pk}/read/").status_code == 405
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.staff2)
    assert strict.post(f"/notifications/{theirs.pk}/read/").status_code == 403  # no CSRF token
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_an_offsite_next_is_not_followed(world):
    tell(world.staff)
    target = notification(world.staff, "k1")
    response = logged_in(world.staff).post(f"/notifications/{target.pk}/read/", {"next": "https://evil.example/"})
    assert response["Location"] == "/notifications/"


def test_the_profile_chooses_channels(world):
    user = world.staff
    client = logged_in(user)
    html = page(client.get("/me/"))
    assert "通知渠道" in html and 'name="email"' in html and "checked" in html  # email is on by default
    assert "您还没有登记邮箱" in html

    response = client.post("/me/", {"dingtalk": "on", "mobile": "13800000001"})

    assert response.status_code == 302 and response["Location"] == "/me/"
    user.refresh_from_db()
    assert (user.notify_by_email, user.notify_by_dingtalk, user.mobile) == (False, True, "13800000001")
    created = tell(user, key="after")
    assert list(created.deliveries.values_list("channel", flat=True)) == ["dingtalk"]


def test_the_profile_refuses_a_bad_mobile_and_changes_nothing(world):
    user = world.staff
    response = logged_in(user).post("/me/", {"dingtalk": "on", "mobile": "12345"})

    assert response.status_code == 200
    assert "手机号应为 11 位数字" in page(response)
    user.refresh_from_db()
    assert (user.notify_by_email, user.notify_by_dingtalk, user.mobile) == (True, False, "")


def test_the_pages_need_a_sign_in(db):
    for url in ("/notifications/", "/me/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_the_profile_in_english(world):
    html = page(logged_in(world.staff).get("/me/", HTTP_ACCEPT_LANGUAGE="en"))
    for words in ("My settings", "Notification channels", "Tell me by email", "Mobile (optional)", "None on record"):
        assert words in html, words
