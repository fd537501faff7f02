"""Every sign-in door (the login page, the admin's, the API's token) locks an account after a few
wrong passwords and an address after many, for a cool-off; the state is in the database, shared
by every process. Failed sign-ins are audited only up to the lock, so guessing cannot grow the
audit trail without limit: the lock itself is one event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.throttling import ScopedRateThrottle

from casework.choices import Role
from casework.models import AuditEvent, SignInThrottle
from tests.factories import make_user

RIGHT = "Pass-word-123"


@pytest.fixture(autouse=True)
def _limits(settings, monkeypatch):
    settings.MINQING_LOGIN_MAX_FAILURES = 5
    settings.MINQING_LOGIN_MAX_FAILURES_PER_ADDRESS = 30
    settings.MINQING_LOGIN_LOCKOUT_SECONDS = 900
    settings.MINQING_LOGIN_FAILURE_WINDOW_SECONDS = 900
    # The API's own per-address rate would answer 429 before the lock is reached.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "1000/min"})


def web_login(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def api_token(client, username, password, **extra):
    return client.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, content_type="application/json", **extra
    )


def test_the_login_page_locks_the_account_after_five_wrong_passwords(world, client):
    user = world.staff
    for _ in range(25):
        assert web_login(client, user.username, "wrong").status_code in (200, 403)
    answer = web_login(client, user.username, RIGHT)
    assert answer.status_code == 403
    assert "_auth_user_id" not in client.session
    assert "锁定" in answer.content.decode()
    # The API door shares the lock: the account, not the form, is locked.
    refused = api_token(client, user.username, RIGHT)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_locked"
    assert int(refused["Retry-After"]) > 0


def test_the_api_token_door_locks_the_account(world, client):
    user = world.staff
    for _ in range(40):
        assert api_token(client, user.username, "wrong").status_code in (400, 403)
    answer = api_token(client, user.username, RIGHT)
    assert answer.status_code == 403
    body = answer.json()["error"]
    assert body["code"] == "account_locked" and "锁定" in body["message"]
    assert "token" not in answer.json()


def test_the_admin_login_is_locked_too(world, client):
    admin = make_user(world.org, Role.SYSADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    for _ in range(25):
        client.post("/admin/login/", {"username": admin.username, "password": "wrong"})
    answer = client.post("/admin/login/?next=/admin/", {"username": admin.username, "password": RIGHT})
    assert answer.status_code in (200, 403)
    assert "_auth_user_id" not in client.session
    assert "锁定" in answer.content.decode()


def test_the_lock_ends_after_the_cool_off_and_a_success_clears_the_count(world, client):
    user = world.staff
    for _ in range(5):
        web_login(client, user.username, "wrong")
    assert web_login(client, user.username, RIGHT).status_code == 403
    # The cool-off passes.
    SignInThrottle.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert web_login(client, user.username, RIGHT).status_code == 302
    client.post("/logout/")
    # A success forgot the account's failures: four more wrong ones do not lock it.
    for _ in range(4):
        web_login(client, user.username, "wrong")
    assert web_login(client, user.username, RIGHT).status_code == 302


def test_one_address_guessing_many_accounts_is_locked_but_others_are_not(world, client, settings):
    settings.MINQING_LOGIN_MAX_FAILURES_PER_ADDRESS = 12
    for n in range(12):
        web_login(client, f"nobody{n}", "wrong", REMOTE_ADDR="10.0.0.9")
    # The address is locked, even for a right password of an unlocked account.
    assert web_login(client, world.staff.username, RIGHT, REMOTE_ADDR="10.0.0.9").status_code == 403
    assert api_token(client, world.staff.username, RIGHT, REMOTE_ADDR="10.0.0.9").status_code == 403
    # From elsewhere the account signs in.
    assert web_login(client, world.staff.username, RIGHT, REMOTE_ADDR="10.0.0.10").status_code == 302


def test_failed_sign_ins_are_audited_up_to_the_lock_and_the_lock_once(world, client):
    before = AuditEvent.objects.count()
    for _ in range(200):
        web_login(client, "ghost", "wrong")
        api_token(client, "ghost", "wrong")
    trail = list(AuditEvent.objects.order_by("id").values_list("action", flat=True)[before:])
    assert trail == ["account.login_failed"] * 5 + ["account.locked"]
    locked = AuditEvent.objects.get(action="account.locked")
    assert locked.changes["username"] == "ghost" and locked.changes["failures"] == 5
    # The refused attempts are counted on the lock, not audited one by one.
    row = SignInThrottle.objects.get(key="user:ghost")
    assert row.refused == 400 - 5


def test_the_lock_is_in_the_database_not_in_a_process(world, client):
    user = world.staff
    for _ in range(5):
        web_login(client, user.username, "wrong")
    row = SignInThrottle.objects.get(key=f"user:{user.username}")
    assert row.locked_until > timezone.now()


def test_a_name_no_account_could_have_is_a_clear_refusal_not_a_server_error(world, client):
    for name in ("a\x00b", "\ud800x", "x" * 151, ""):
        if name.isprintable() or "\x00" in name:  # a lone surrogate cannot be form-encoded
            web = web_login(client, name, "wrong")
            assert web.status_code in (200, 403), name
        api = client.post(
            "/api/v1/auth/token/",
            f'{{"username": "{name.encode("unicode_escape").decode()}", "password": "wrong"}}',
            content_type="application/json",
        )
        assert api.status_code in (400, 403), (name, api.content)
        assert api.json()["error"]["code"] in ("invalid", "account_locked", "parse_error"), api.content


def test_an_ipv6_network_counts_as_one_address(world, client, settings):
    settings.MINQING_LOGIN_MAX_FAILURES_PER_ADDRESS = 6
    for n in range(6):
        web_login(client, f"nobody{n}", "wrong", REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
    assert web_login(client, world.staff.username, RIGHT, REMOTE_ADDR="2001:db8:1:2::ffff").status_code == 403
    assert web_login(client, world.staff.username, RIGHT, REMOTE_ADDR="2001:db8:1:3::1").status_code == 302
    assert SignInThrottle.objects.filter(key="addr:2001:db8:1:2::/64", locked_until__isnull=False).exists()
