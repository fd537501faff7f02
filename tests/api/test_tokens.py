"""API tokens are stored as digests and shown once, audited when issued, replaced by the next one,
expire, and are revoked at web sign-out and when the password changes; the admin shows only a
prefix."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.utils import timezone

from casework.choices import Role
from casework.models import ApiToken, AuditEvent
from tests.factories import make_user

RIGHT = "Pass-word-123"


def issue(client, user, password=RIGHT):
    return client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": password}, content_type="application/json"
    )


def cases(client, key):
    return client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Token {key}")


def test_a_token_is_shown_once_stored_as_a_digest_and_its_issue_audited(world, client):
    answer = issue(client, world.member.user)
    assert answer.status_code == 200
    key = answer.json()["token"]
    assert len(key) == 40
    stored = ApiToken.objects.get(user=world.member.user)
    assert stored.digest == hashlib.sha256(key.encode()).hexdigest() and stored.prefix == key[:8]
    # Nowhere in the row is the key itself.
    assert key not in " ".join(str(v) for v in ApiToken.objects.filter(pk=stored.pk).values().get().values())
    expires = timezone.datetime.fromisoformat(answer.json()["expires_at"])
    assert timedelta(hours=7, minutes=59) < expires - timezone.now() <= timedelta(hours=8)
    event = AuditEvent.objects.filter(action="account.token_issued").get()
    assert (event.actor_id, event.changes["token"], event.source_ip) == (world.member.user.pk, key[:8], "127.0.0.1")
    assert key not in str(event.changes)
    assert cases(client, key).status_code == 200


def test_issuing_a_new_token_revokes_the_old_one(world, client):
    first = issue(client, world.member.user).json()["token"]
    second = issue(client, world.member.user).json()["token"]
    assert first != second
    assert cases(client, first).status_code == 401
    assert cases(client, second).status_code == 200
    assert ApiToken.objects.filter(user=world.member.user).count() == 1


def test_an_expired_token_is_refused_and_says_so(world, client):
    key = issue(client, world.member.user).json()["token"]
    ApiToken.objects.filter(user=world.member.user).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = cases(client, key)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_expired"


def test_the_lifetime_is_configurable(world, client, settings):
    settings.MINQING_API_TOKEN_HOURS = 1
    expires = timezone.datetime.fromisoformat(issue(client, world.member.user).json()["expires_at"])
    assert expires - timezone.now() <= timedelta(hours=1)


def test_signing_out_of_the_pages_revokes_the_token(world, client):
    key = issue(client, world.member.user).json()["token"]
    assert client.post("/login/", {"username": world.member.user.username, "password": RIGHT}).status_code == 302
    assert client.post("/logout/").status_code == 302
    assert cases(client, key).status_code == 401
    revoked = AuditEvent.objects.get(action="account.token_revoked")
    assert revoked.changes["reason"] == "logout" and revoked.changes["token"] == key[:8]


def test_a_password_change_revokes_the_token(world, client):
    key = issue(client, world.member.user).json()["token"]
    world.member.user.set_password("Another-pass-456")
    world.member.user.save()
    assert cases(client, key).status_code == 401
    assert AuditEvent.objects.get(action="account.token_revoked").changes["reason"] == "password_changed"
    # Other saves of the user leave it alone.
    key = issue(client, world.member.user, "Another-pass-456").json()["token"]
    world.member.user.display_name = "王委员（改名）"
    world.member.user.save()
    assert cases(client, key).status_code == 200


def test_the_admin_shows_a_prefix_never_the_key(world, client):
    key = issue(client, world.member.user).json()["token"]
    admin = make_user(world.org, Role.SYSADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    listing = client.get("/admin/casework/apitoken/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert key[:8] in page and key not in page
    detail = client.get(f"/admin/casework/apitoken/{ApiToken.objects.get(user=world.member.user).pk}/change/")
    assert detail.status_code == 200 and key not in detail.content.decode()
    # The old clear-text token admin is gone.
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404
