"""The admin of notifications: notifications and the outbox read-only, a failed delivery retried
by hand, DingTalk robots edited (their secret masked) and tried with a test message."""

from __future__ import annotations

import pytest
from django.utils import timezone

from casework.choices import DeliveryState
from casework.models import DingTalkRobot, Notification, NotificationDelivery
from tests.notify_helpers import SECRET, RobotServer, robot, tell


@pytest.fixture
def admin_client(world, client):
    world.staff.is_staff = world.staff.is_superuser = True
    world.staff.save()
    client.force_login(world.staff)
    return client


def failed_and_sent(world):
    world.staff2.email = "chen@example.gov.cn"
    world.staff2.save()
    tell(world.staff2, key="failed")
    tell(world.staff2, key="sent")
    failed = NotificationDelivery.objects.get(notification__dedupe_key="failed")
    failed.state, failed.attempts, failed.next_attempt_at, failed.last_error = DeliveryState.FAILED, 8, None, "down"
    failed.save()
    sent = NotificationDelivery.objects.get(notification__dedupe_key="sent")
    sent.state, sent.attempts, sent.sent_at = DeliveryState.SENT, 1, timezone.now()
    sent.save()
    return failed, sent


def test_notifications_and_deliveries_are_read_only(world, admin_client):
    failed, _ = failed_and_sent(world)
    note = Notification.objects.get(dedupe_key="failed")
    assert admin_client.get("/admin/casework/notification/").status_code == 200
    detail = admin_client.get(f"/admin/casework/notification/{note.pk}/change/")
    assert detail.status_code == 200 and b'name="title"' not in detail.content
    assert admin_client.get("/admin/casework/notificationdelivery/").status_code == 200
    detail = admin_client.get(f"/admin/casework/notificationdelivery/{failed.pk}/change/")
    assert detail.status_code == 200 and b'name="state"' not in detail.content
    assert admin_client.post(f"/admin/casework/notificationdelivery/{failed.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/casework/notificationdelivery/add/").status_code == 403


def test_retry_now_requeues_only_failed_deliveries(world, admin_client, django_capture_on_commit_callbacks):
    failed, sent = failed_and_sent(world)

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            "/admin/casework/notificationdelivery/",
            {"action": "retry_now", "_selected_action": [failed.pk, sent.pk]},
        )

    assert response.status_code == 302
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert failed.state == DeliveryState.PENDING and failed.attempts == 0
    assert failed.next_attempt_at <= timezone.now()
    assert sent.state == DeliveryState.SENT and sent.attempts == 1
    assert len(callbacks) == 1  # the drain is asked for after commit


def test_robots_are_edited_with_the_secret_masked(world, admin_client):
    response = admin_client.post(
        "/admin/casework/dingtalkrobot/add/",
        {
            "organisation": world.org.pk,
            "committee": world.committee.pk,
            "name": "社法委工作群",
            "webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abc",
            "secret": SECRET,
            "message_format": "markdown",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    created = DingTalkRobot.objects.get(name="社法委工作群")
    assert created.secret == SECRET
    page = admin_client.get(f"/admin/casework/dingtalkrobot/{created.pk}/change/").content.decode()
    assert 'type="password"' in page


def test_a_robot_of_a_committee_of_another_organisation_is_refused(world, admin_client):
    from casework.models import Committee

    foreign = Committee.objects.exclude(organisation=world.org).first()
    response = admin_client.post(
        "/admin/casework/dingtalkrobot/add/",
        {
            "organisation": world.org.pk,
            "committee": foreign.pk,
            "name": "错配",
            "webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=abc",
            "secret": SECRET,
            "message_format": "text",
            "is_active": "on",
        },
    )
    assert response.status_code == 200 and "专门委员会须属于该组织" in response.content.decode()
    assert not DingTalkRobot.objects.filter(name="错配").exists()


def test_the_test_message_action_reaches_the_robot(world, admin_client):
    server = RobotServer().start()
    try:
        created = robot(world.org, server.url)
        response = admin_client.post(
            "/admin/casework/dingtalkrobot/", {"action": "send_test", "_selected_action": [created.pk]}, follow=True
        )
    finally:
        server.stop()
    assert "测试消息已发送" in response.content.decode()
    (received,) = server.received
    assert received.signature_ok and received.body["msgtype"] == "markdown"
