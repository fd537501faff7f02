"""The second factor (TOTP): required at sign-in for the roles that decide and administer,
optional for members; enrolled on a page that draws its own QR code; asked for by the admin; and
asked for by the API's token endpoint."""

from __future__ import annotations

import re

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.choices import Role
from casework.models import AuditEvent
from tests.factories import enrol_otp, make_user, otp_code

RIGHT = "Pass-word-123"


def wait_out_the_throttle(device):
    """django-otp makes a device wait (1 s, doubling) after each wrong code: the wait passes."""
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)


def password_step(client, user):
    answer = client.post("/login/", {"username": user.username, "password": RIGHT})
    assert answer.status_code == 302
    return answer


def test_staff_enrol_at_their_first_sign_in_then_give_a_code_each_time(world):
    staff = world.staff
    client = Client()
    password_step(client, staff)
    sent = client.get("/")
    assert sent.status_code == 302 and sent["Location"].startswith("/account/otp/setup/")
    page = client.get(sent["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "otpauth://totp/" in html
    assert "http://" not in html.split("<svg", 1)[1].split("</svg>", 1)[0].replace("http://www.w3.org", "")
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    assert client.post("/account/otp/setup/", {"code": "000000", "next": "/"}).status_code == 400
    assert client.get("/").status_code == 302  # still not through
    wait_out_the_throttle(device)
    done = client.post("/account/otp/setup/", {"code": otp_code(device), "next": "/"})
    assert done.status_code == 302 and done["Location"] == "/"
    assert client.get("/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action="account.otp_enrolled", actor=staff).count() == 1

    # The next sign-in asks for a code from the device.
    client.post("/logout/")
    again = Client()
    password_step(again, staff)
    sent = again.get(f"/queues/{world.committee.pk}/")
    assert sent.status_code == 302 and sent["Location"].startswith("/account/otp/verify/")
    assert again.post("/account/otp/verify/", {"code": "123456"}).status_code == 400
    assert again.get("/").status_code == 302
    wait_out_the_throttle(device)
    # A code already used is not taken again; the next one is.
    passed = again.post("/account/otp/verify/", {"code": otp_code(device, step=1), "next": "/"})
    assert passed.status_code == 302 and passed["Location"] == "/"
    assert again.get("/").status_code == 200


def test_members_need_no_code_unless_they_enrol(world):
    member = world.member.user
    client = Client()
    password_step(client, member)
    assert client.get("/").status_code == 200
    # A member may enrol; from then on they are asked too.
    client.get("/account/otp/setup/")
    device = TOTPDevice.objects.get(user=member)
    assert client.post("/account/otp/setup/", {"code": otp_code(device)}).status_code == 302
    later = Client()
    password_step(later, member)
    assert later.get("/")["Location"].startswith("/account/otp/verify/")


def test_the_admin_asks_for_the_second_factor(world):
    admin = make_user(world.org, Role.SYSADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    device = enrol_otp(admin)
    client = Client()
    assert client.post("/admin/login/?next=/admin/", {"username": admin.username, "password": RIGHT}).status_code == 302
    sent = client.get("/admin/")
    assert sent.status_code == 302 and sent["Location"].startswith("/account/otp/verify/")
    assert client.get("/admin/casework/user/").status_code == 302
    client.post("/account/otp/verify/", {"code": otp_code(device)})
    assert client.get("/admin/").status_code == 200


def token(client, user, **extra):
    return client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": RIGHT, **extra}, content_type="application/json"
    )


def test_the_token_endpoint_asks_those_who_use_a_code_for_it(world, client):
    staff = world.staff
    refused = token(client, staff)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "otp_enrolment_required"
    device = enrol_otp(staff)
    missing = token(client, staff)
    assert missing.status_code == 403 and missing.json()["error"]["code"] == "otp_required"
    wrong = token(client, staff, otp=otp_code(device, step=-3))
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "otp_invalid"
    wait_out_the_throttle(device)
    issued = token(client, staff, otp=otp_code(device))
    assert issued.status_code == 200 and re.fullmatch(r"[0-9a-f]{40}", issued.json()["token"])
    # A member who has not enrolled needs no code.
    assert token(client, world.member.user).status_code == 200


def test_a_session_that_has_not_passed_the_second_factor_is_refused_by_the_api(world):
    client = Client()
    password_step(client, world.staff)
    answer = client.get("/api/v1/cases/")
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "otp_required"


def test_the_schema_documents_the_code(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert "otp_required" in operation["description"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "otp" in schema["components"]["schemas"][ref]["properties"]


def test_the_admin_never_shows_a_devices_secret(world, client):
    device = enrol_otp(world.staff)
    admin = make_user(world.org, Role.SYSADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/")
    assert page.status_code == 200 and world.staff.display_name in page.content.decode()
    assert device.key not in page.content.decode()
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 200
