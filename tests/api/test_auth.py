"""Token sign-in reads the user and everything a request needs of them in one statement, and
refuses what it must."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request

from api.auth import ProfileTokenAuthentication
from casework import access
from casework.choices import Role
from tests.factories import make_user, token_key


def sign_in(key: str):
    request = Request(RequestFactory().get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Token {key}"))
    return ProfileTokenAuthentication().authenticate(request)


def test_one_statement_gives_the_user_their_profile_roles_and_committees(world):
    user = world.staff
    world.other_committee.staff.add(user)
    world.committee.head = user
    world.committee.save()

    key = token_key(user)
    with CaptureQueriesContext(connection) as ctx:
        signed, token = sign_in(key)
        # Everything below is read from what the sign-in loaded: no further statement.
        organisation, roles, committees = signed.organisation, access.roles_of(signed), access.committee_ids_of(signed)
        has_member = hasattr(signed, "member")
    assert len(ctx.captured_queries) == 1
    assert (signed.pk, token.prefix, token.user) == (user.pk, key[:8], signed)
    assert organisation == world.org and organisation.name == world.org.name
    assert roles == {Role.COMMITTEE_STAFF} and committees == {world.committee.pk, world.other_committee.pk}
    assert has_member is False
    assert isinstance(signed.date_joined, datetime) and signed.date_joined.tzinfo is not None
    assert signed.is_active is True and signed.display_name == user.display_name


def test_a_members_profile_comes_with_them(world):
    signed, _token = sign_in(token_key(world.member.user))
    assert signed.member == world.member and access.committee_ids_of(signed) == frozenset()
    assert access.member_id_of(signed) == world.member.pk


def test_an_unknown_token_and_an_inactive_account_are_refused(world, client):
    outside = make_user(None, Role.SYSADMIN)  # no organisation: signs in, sees nothing
    signed, _token = sign_in(token_key(outside))
    assert (signed.organisation, access.committee_ids_of(signed)) == (None, frozenset())

    assert client.get("/api/v1/cases/", HTTP_AUTHORIZATION="Token " + "0" * 40).status_code == 401
    world.staff.is_active = False
    world.staff.save()
    refused = client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Token {token_key(world.staff)}")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "authentication_failed"
