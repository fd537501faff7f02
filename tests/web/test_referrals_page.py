"""An info report sent up reaches the parent organisation's staff: they are told, and find it in
their referral queue page, from which they decide on it; nobody else has the page."""

from __future__ import annotations

import pytest
from django.test import Client

from casework.models import Notification
from tests.helpers import do, do_output, file

pytestmark = pytest.mark.django_db


def sent_up(world):
    case = file(
        world.member.user,
        title="校门口拥堵",
        description="上下学时段拥堵。",
        category=world.category.pk,
        contacts=world.contact_ids()[:1],
    )
    do("accept", case.pk, world.staff)
    case = do("convert", case.pk, world.staff, output_type="info_report", title="关于校门口拥堵的建议")
    output = case.output_id
    do_output("edit", output, world.staff, analysis="分析", suggestion="建议")
    do_output("submit", output, world.staff)
    do_output("use", output, world.staff)
    do_output("send_up", output, world.staff)
    return output


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_parent_staff_are_told_and_find_it_in_their_queue(world):
    output = sent_up(world)
    told = Notification.objects.filter(recipient=world.outsider)
    assert told.count() == 1 and "关于校门口拥堵的建议" in told.get().title
    assert not Notification.objects.filter(recipient=world.staff, title__contains="下级报送").exists()

    page = logged_in(world.outsider).get("/referrals/")
    html = page.content.decode()
    assert page.status_code == 200 and f'href="/outputs/{output}/"' in html and 'href="/referrals/"' in html
    detail = logged_in(world.outsider).get(f"/outputs/{output}/").content.decode()
    assert f"/outputs/{output}/do/adopt/" in detail


def test_nobody_else_has_the_page(world):
    sent_up(world)
    for user in (world.member.user, world.leader):
        response = logged_in(user).get("/referrals/")
        assert response.status_code == 404
    # The sending organisation's staff have a (for them empty) queue of their own, not this report.
    html = logged_in(world.staff).get("/referrals/").content.decode()
    assert "关于校门口拥堵的建议" not in html
