"""The three administrators (三员) each have their part of the admin, over their own
organisation's rows only; none reads case content; every change they make is audited.

Before: only is_staff accounts entered the admin, none of the three roles was one, and whoever
was let in with a model's view permission read every organisation's rows, cases included."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from casework.choices import Role
from casework.models import AuditEvent, CaseCategory, ClockPolicy, SignInThrottle, User
from tests.factories import make_user
from tests.workflows.test_case_flow import file_case


def _as(client, user):
    client.force_login(user)
    return client


def test_each_administrator_enters_the_admin_and_sees_only_their_part(world, client):
    sysadmin = make_user(world.org, Role.SYSADMIN)
    security = make_user(world.org, Role.SECURITY_ADMIN)
    auditor = make_user(world.org, Role.AUDITOR)
    file_case(world)

    c = _as(client, sysadmin)
    assert c.get("/admin/").status_code == 200
    assert c.get("/admin/casework/casecategory/").status_code == 200
    assert c.get("/admin/casework/user/").status_code == 200
    for hidden in ("case", "contact", "output", "auditevent", "signinthrottle", "notification"):
        assert c.get(f"/admin/casework/{hidden}/").status_code == 403, hidden
    c.logout()

    c = _as(client, security)
    assert c.get("/admin/casework/signinthrottle/").status_code == 200
    assert c.get("/admin/casework/apitoken/").status_code == 200
    assert c.get("/admin/otp_totp/totpdevice/").status_code == 200
    assert c.get("/admin/casework/user/").status_code == 200
    for hidden in ("case", "contact", "casecategory", "auditevent"):
        assert c.get(f"/admin/casework/{hidden}/").status_code == 403, hidden
    c.logout()

    c = _as(client, auditor)
    assert c.get("/admin/casework/auditevent/").status_code == 200
    for hidden in ("case", "contact", "user", "casecategory"):
        assert c.get(f"/admin/casework/{hidden}/").status_code == 403, hidden


def test_a_member_or_staff_account_does_not_enter_the_admin(world, client):
    world.staff.is_staff = True  # the flag alone no longer lets anyone in
    world.staff.save()
    assert _as(client, world.staff).get("/admin/").status_code == 302


def test_the_home_page_shows_an_administrator_their_part_and_no_missing_role(world, client):
    page = _as(client, make_user(world.org, Role.SECURITY_ADMIN)).get("/").content.decode()
    assert "登录锁定" in page and "尚未分配可用的角色" not in page
    superuser = User.objects.create_superuser("root-home", password="Pass-word-123", organisation=None)
    client.logout()
    page = _as(client, superuser).get("/").content.decode()
    assert "管理后台" in page and "尚未分配可用的角色" not in page


def test_another_organisations_rows_are_not_found_and_not_offered(world, client):
    sysadmin = make_user(world.org, Role.SYSADMIN)
    theirs = CaseCategory.objects.create(organisation=world.outsider.organisation, name="外单位类别")
    c = _as(client, sysadmin)
    listing = c.get("/admin/casework/casecategory/").content.decode()
    assert world.category.name in listing and "外单位类别" not in listing
    assert c.get(f"/admin/casework/casecategory/{theirs.pk}/change/").status_code == 302  # not found: to the index
    # Changing it by posting is refused and changes nothing.
    c.post(
        f"/admin/casework/casecategory/{theirs.pk}/change/",
        {"organisation": world.org.pk, "name": "改名", "committee": world.committee.pk},
    )
    theirs.refresh_from_db()
    assert theirs.name == "外单位类别" and theirs.organisation_id == world.outsider.organisation_id
    # A new category is made in the administrator's organisation whatever is posted.
    answer = c.post(
        "/admin/casework/casecategory/add/",
        {"organisation": world.outsider.organisation_id, "name": "新类别", "committee": world.committee.pk},
    )
    assert answer.status_code == 200  # the other organisation is not a choice: the form says so
    assert not CaseCategory.objects.filter(name="新类别").exists()
    answer = c.post(
        "/admin/casework/casecategory/add/",
        {"organisation": world.org.pk, "name": "新类别", "committee": world.committee.pk},
    )
    assert answer.status_code == 302, answer.content.decode()[:3000]
    assert CaseCategory.objects.get(name="新类别").organisation_id == world.org.pk


def test_a_default_for_every_organisation_is_read_not_changed_by_an_administrator(world, client):
    c = _as(client, make_user(world.org, Role.SYSADMIN))
    default = ClockPolicy.objects.filter(organisation=None).first()
    assert c.get("/admin/casework/clockpolicy/").status_code == 200
    page = c.get(f"/admin/casework/clockpolicy/{default.pk}/change/")
    assert page.status_code == 200 and b'name="amount"' not in page.content  # read-only
    before = default.amount
    c.post(
        f"/admin/casework/clockpolicy/{default.pk}/change/",
        {"organisation": "", "stage": default.stage, "amount": "1", "unit": default.unit, "escalate_head_after": "0"},
    )
    default.refresh_from_db()
    assert default.amount == before


def test_the_system_administrator_keeps_who_an_account_is_never_what_it_may_do(world, client):
    sysadmin = make_user(world.org, Role.SYSADMIN)
    c = _as(client, sysadmin)
    page = c.get(f"/admin/casework/user/{world.staff.pk}/change/").content.decode()
    assert 'name="display_name"' in page and 'name="groups"' not in page and 'name="is_superuser"' not in page
    # Posting roles and the superuser flag anyway changes neither.
    c.post(
        f"/admin/casework/user/{world.staff.pk}/change/",
        {
            "username": world.staff.username,
            "display_name": "张干事（改）",
            "organisation": world.org.pk,
            "is_superuser": "on",
            "is_staff": "on",
            "groups": [Group.objects.get(name=Role.SYSADMIN).pk],
        },
    )
    world.staff.refresh_from_db()
    assert world.staff.display_name == "张干事（改）"
    assert not world.staff.is_superuser and not world.staff.is_staff
    assert list(world.staff.groups.values_list("name", flat=True)) == [Role.COMMITTEE_STAFF]
    event = AuditEvent.objects.filter(action="admin.changed").latest("id")
    assert event.actor_id == sysadmin.pk and event.changes["model"] == "casework.user"
    assert event.organisation_id == world.org.pk and "张干事（改）" not in str(event.changes["fields"])


def test_the_security_administrator_gives_roles_but_never_an_administrators(world, client):
    security = make_user(world.org, Role.SECURITY_ADMIN)
    c = _as(client, security)
    page = c.get(f"/admin/casework/user/{world.staff.pk}/change/").content.decode()
    assert 'name="groups"' in page and 'name="display_name"' not in page
    offered = {Group.objects.get(pk=int(v)).name for v in _options(page, "groups")}
    assert Role.LEADERSHIP in offered and not offered & {Role.SYSADMIN, Role.SECURITY_ADMIN, Role.AUDITOR}
    leadership = Group.objects.get(name=Role.LEADERSHIP)
    staff_group = Group.objects.get(name=Role.COMMITTEE_STAFF)
    answer = c.post(
        f"/admin/casework/user/{world.staff.pk}/change/",
        {"is_active": "on", "groups": [staff_group.pk, leadership.pk]},
    )
    assert answer.status_code == 302, answer.content.decode()[:3000]
    assert set(world.staff.groups.values_list("name", flat=True)) == {Role.COMMITTEE_STAFF, Role.LEADERSHIP}
    event = AuditEvent.objects.filter(action="account.roles_changed").latest("id")
    assert event.changes["roles_before"] == [Role.COMMITTEE_STAFF]
    assert event.changes["roles_after"] == sorted([Role.COMMITTEE_STAFF, Role.LEADERSHIP])
    # An administrator's role is refused, and nothing changes.
    sysadmin_group = Group.objects.get(name=Role.SYSADMIN)
    c.post(f"/admin/casework/user/{world.staff.pk}/change/", {"is_active": "on", "groups": [sysadmin_group.pk]})
    assert Role.SYSADMIN not in set(world.staff.groups.values_list("name", flat=True))


def test_no_administrator_changes_another_administrators_account(world, client):
    security = make_user(world.org, Role.SECURITY_ADMIN)
    sysadmin = make_user(world.org, Role.SYSADMIN)
    c = _as(client, security)
    page = c.get(f"/admin/casework/user/{sysadmin.pk}/change/")
    assert page.status_code == 200 and b'name="is_active"' not in page.content  # read-only
    c.post(f"/admin/casework/user/{sysadmin.pk}/change/", {"groups": []})
    sysadmin.refresh_from_db()
    assert sysadmin.is_active and sysadmin.groups.filter(name=Role.SYSADMIN).exists()
    superuser = User.objects.create_superuser("root-x", password="Pass-word-123", organisation=world.org)
    assert "root-x" not in c.get("/admin/casework/user/").content.decode()
    assert c.get(f"/admin/casework/user/{superuser.pk}/change/").status_code == 302


def test_unlocking_is_scoped_to_the_organisations_accounts_and_audited(world, client):
    security = make_user(world.org, Role.SECURITY_ADMIN)
    now = timezone.now()
    counters = {"failures": 9, "window_started_at": now, "expires_at": now + timedelta(days=1)}
    ours = SignInThrottle.objects.create(key=f"user:{world.staff.username.lower()}", **counters)
    theirs = SignInThrottle.objects.create(key=f"user:{world.outsider.username.lower()}", **counters)
    c = _as(client, security)
    listing = c.get("/admin/casework/signinthrottle/").content.decode()
    assert ours.key in listing and theirs.key not in listing
    c.post(f"/admin/casework/signinthrottle/{theirs.pk}/delete/", {"post": "yes"})
    assert SignInThrottle.objects.filter(pk=theirs.pk).exists()
    answer = c.post(f"/admin/casework/signinthrottle/{ours.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302 and not SignInThrottle.objects.filter(pk=ours.pk).exists()
    event = AuditEvent.objects.filter(action="admin.deleted").latest("id")
    assert event.actor_id == security.pk and event.changes["model"] == "casework.signinthrottle"


def test_the_auditor_reads_their_organisations_trail_only(world, client):
    from casework.choices import AuditAction
    from workflows.accounts import record_account_event

    auditor = make_user(world.org, Role.AUDITOR)
    case = file_case(world)
    record_account_event(
        AuditAction.ACCOUNT_LOGIN, user=world.outsider, username=world.outsider.username, source_ip=None, success=True
    )
    theirs = AuditEvent.objects.get(organisation_id=world.outsider.organisation_id, action="account.login")
    ours = AuditEvent.objects.filter(organisation_id=world.org.pk, target_id=case.pk).first()
    c = _as(client, auditor)
    assert c.get(f"/admin/casework/auditevent/{ours.pk}/change/").status_code == 200
    assert c.get(f"/admin/casework/auditevent/{theirs.pk}/change/").status_code == 302  # not found


def _options(page: str, name: str) -> list[str]:
    import re

    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no <select name={name}>"
    return re.findall(r'<option value="(\d+)"', select.group(1))
