"""The password policy: at least 12 characters of three kinds, none of the last five again; a
password an administrator set (a new account, a reset) must be changed before anything else, on
the pages and in the API."""

from __future__ import annotations

from casework.choices import Role
from casework.models import User
from tests.factories import make_user

RIGHT = "Pass-word-123"


def change(client, old, new):
    return client.post("/account/password/", {"old_password": old, "new_password1": new, "new_password2": new})


def signed_in(client, user, password=RIGHT):
    assert client.post("/login/", {"username": user.username, "password": password}).status_code == 302


def test_a_password_needs_twelve_characters_of_three_kinds(world, client):
    signed_in(client, world.member.user)
    short = change(client, RIGHT, "Sh0rt-pw")
    assert short.status_code == 200 and "至少" in short.content.decode()
    one_kind = change(client, RIGHT, "onlysmallletterslong")
    assert one_kind.status_code == 200 and "至少 3 种" in one_kind.content.decode()
    two_kinds = change(client, RIGHT, "smallletters2024")
    assert two_kinds.status_code == 200 and "至少 3 种" in two_kinds.content.decode()
    world.member.user.refresh_from_db()
    assert world.member.user.check_password(RIGHT)
    assert change(client, RIGHT, "Harbour-lights-7").status_code == 302
    world.member.user.refresh_from_db()
    assert world.member.user.check_password("Harbour-lights-7")


def test_none_of_the_last_five_passwords_again(world, client):
    signed_in(client, world.member.user)
    passwords = [RIGHT] + [f"Harbour-lights-{n}x" for n in range(1, 6)]
    for old, new in zip(passwords, passwords[1:], strict=False):
        assert change(client, old, new).status_code == 302, new
    current = passwords[-1]
    for reused in passwords[1:]:  # the last five, the current one among them
        refused = change(client, current, reused)
        assert refused.status_code == 200 and "最近 5 次" in refused.content.decode(), reused
    # The sixth from last may come back.
    assert change(client, current, RIGHT).status_code == 302
    assert world.member.user.password_history.count() == 5


def admin_client(world, client):
    admin = make_user(world.org, Role.SYSADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    return client


def test_an_account_an_administrator_creates_must_change_its_password_first(world, client):
    from django.test import Client

    admin_client(world, client)
    answer = client.post(
        "/admin/casework/user/add/",
        {
            "username": "newstaff",
            "usable_password": "true",
            "password1": "Initial-pass-42",
            "password2": "Initial-pass-42",
            "display_name": "新干事",
            "organisation": world.org.pk,
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:3000]
    user = User.objects.get(username="newstaff")
    assert user.must_change_password

    them = Client()
    signed_in(them, user, "Initial-pass-42")
    # Every page sends them to the password page.
    for path in ("/", f"/queues/{world.committee.pk}/"):
        sent = them.get(path)
        assert sent.status_code == 302 and sent["Location"].startswith("/account/password/")
    # The API refuses a token, and a session, until it is changed.
    token = them.post(
        "/api/v1/auth/token/", {"username": "newstaff", "password": "Initial-pass-42"}, content_type="application/json"
    )
    assert token.status_code == 403 and token.json()["error"]["code"] == "password_change_required"
    session_api = them.get("/api/v1/cases/")
    assert session_api.status_code == 403 and session_api.json()["error"]["code"] == "password_change_required"

    assert change(them, "Initial-pass-42", "My-own-secret-77").status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    assert them.get("/").status_code == 200
    assert them.get("/api/v1/cases/").status_code == 200


def test_a_password_an_administrator_resets_must_be_changed_and_the_api_says_so(world, client, client_for):
    member = world.member.user
    api = client_for(member)
    assert api.get("/api/v1/cases/").status_code == 200
    admin_client(world, client)
    reset = client.post(
        f"/admin/casework/user/{member.pk}/password/",
        {"usable_password": "true", "password1": "Reset-by-admin-9", "password2": "Reset-by-admin-9"},
    )
    assert reset.status_code == 302, reset.content.decode()[:3000]
    member.refresh_from_db()
    assert member.must_change_password and member.check_password("Reset-by-admin-9")
    # The reset revoked the old token; a token issued now is refused until the change.
    assert api.get("/api/v1/cases/").status_code == 401
    refused = client_for(member).get("/api/v1/cases/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "password_change_required"
