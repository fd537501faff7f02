"""The notification outbox: channels chosen by the user, each delivery sent once, a failed one
retried with backoff and given up after the configured attempts, DingTalk's signature and
message as DingTalk documents them, and a failing channel never holding up or undoing a case."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from casework import tasks
from casework.choices import DeliveryState, NotificationChannel, NotificationKind
from casework.models import Case, DingTalkRobot, Notification, NotificationDelivery
from casework.services import dingtalk
from casework.services.notifications import notify
from casework.services.outbox import backoff, drain, robot_for
from tests.helpers import do
from tests.notify_helpers import SECRET, RobotServer, robot, tell
from tests.workflows.test_case_flow import file_case


@pytest.fixture
def server():
    running = RobotServer().start()
    yield running
    running.stop()


@pytest.fixture
def no_backoff(settings):
    settings.MINQING_NOTIFY_BACKOFF_SECONDS = 60
    settings.MINQING_NOTIFY_MAX_ATTEMPTS = 3


def due_now() -> None:
    """Bring every waiting retry forward to now, as time passing would."""
    NotificationDelivery.objects.filter(state=DeliveryState.PENDING).update(next_attempt_at=timezone.now())


def by_email(user, address="zhang@example.gov.cn"):
    user.email = address
    user.notify_by_email = True
    user.notify_by_dingtalk = False
    user.save()
    return user


def by_dingtalk(user, mobile="13800000001"):
    user.email = ""
    user.notify_by_dingtalk = True
    user.mobile = mobile
    user.save()
    return user


# Channels as the user chose them ------------------------------------------------------------


def test_notify_queues_only_the_channels_the_user_chose(world):
    both = world.staff
    both.email, both.notify_by_email, both.notify_by_dingtalk = "a@example.gov.cn", True, True
    both.save()
    in_app_only = world.staff2
    in_app_only.email, in_app_only.notify_by_email, in_app_only.notify_by_dingtalk = "b@example.gov.cn", False, False
    in_app_only.save()
    no_address = world.leader  # email chosen (the default) but no address: no email delivery
    assert no_address.notify_by_email and not no_address.email

    for user in (both, in_app_only, no_address):
        tell(user)

    def channels(user):
        return sorted(
            NotificationDelivery.objects.filter(notification__recipient=user).values_list("channel", flat=True)
        )

    assert channels(both) == [NotificationChannel.DINGTALK, NotificationChannel.EMAIL]
    assert channels(in_app_only) == []
    assert channels(no_address) == []
    assert Notification.objects.filter(recipient__in=[both, in_app_only, no_address]).count() == 3


# Email ---------------------------------------------------------------------------------------


def test_a_title_with_a_line_break_is_one_subject_line(world):
    tell(by_email(world.staff), title="案件已超期\n（第二行）")
    assert drain().sent == 1
    assert mail.outbox[0].subject == "案件已超期 （第二行）"


def test_the_outbox_sends_an_email_once(world):
    user = by_email(world.staff)
    tell(user, title="案件已超期", body="审核已超期 1 个工作日。")

    first = drain()
    second = drain()

    assert (first.claimed, first.sent) == (1, 1)
    assert (second.claimed, second.sent) == (0, 0)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["zhang@example.gov.cn"]
    assert mail.outbox[0].subject == "案件已超期"
    assert "审核已超期 1 个工作日。" in mail.outbox[0].body
    delivery = NotificationDelivery.objects.get()
    assert delivery.state == DeliveryState.SENT and delivery.sent_at is not None and delivery.attempts == 1


def test_a_delivery_not_yet_due_waits(world):
    tell(by_email(world.staff))
    NotificationDelivery.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=5))

    assert drain().claimed == 0
    assert mail.outbox == []


def test_a_channel_turned_off_after_queueing_is_not_used(world):
    user = by_email(world.staff)
    tell(user)
    user.notify_by_email = False
    user.save()

    counts = drain()

    assert counts.failed == 1 and mail.outbox == []
    assert "turned email off" in NotificationDelivery.objects.get().last_error


def test_a_failing_mail_server_is_retried_with_backoff_then_sent(world, settings, monkeypatch, no_backoff):
    tell(by_email(world.staff))
    calls = {"n": 0}

    def flaky_send_mail(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionRefusedError("mail server down")
        return mail.send_mail(*args, **kwargs)

    monkeypatch.setattr("casework.services.outbox.send_mail", flaky_send_mail)
    before = timezone.now()

    assert drain().retrying == 1
    delivery = NotificationDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
    assert "mail server down" in delivery.last_error
    wait = delivery.next_attempt_at - before
    assert timedelta(seconds=60) <= wait <= timedelta(seconds=76), wait
    assert drain().claimed == 0  # not before its time

    due_now()
    assert drain().sent == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT and delivery.attempts == 2 and delivery.last_error == ""
    assert len(mail.outbox) == 1


def test_backoff_doubles_with_jitter_and_has_a_ceiling(settings):
    settings.MINQING_NOTIFY_BACKOFF_SECONDS = 10
    settings.MINQING_NOTIFY_BACKOFF_MAX_SECONDS = 100
    for attempts, base in ((1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (12, 100)):
        waits = [backoff(attempts).total_seconds() for _ in range(50)]
        assert all(base <= w <= base * 1.25 for w in waits), (attempts, min(waits), max(waits))
        assert len(set(waits)) > 1  # jitter: not all the same


def test_a_delivery_is_given_up_after_the_configured_attempts(world, monkeypatch, no_backoff):
    tell(by_email(world.staff))

    def down(*args, **kwargs):
        raise TimeoutError("timed out")

    monkeypatch.setattr("casework.services.outbox.send_mail", down)
    outcomes = []
    for _ in range(3):
        due_now()
        counts = drain()
        outcomes.append((counts.retrying, counts.failed))

    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    delivery = NotificationDelivery.objects.get()
    assert delivery.state == DeliveryState.FAILED and delivery.attempts == 3 and delivery.next_attempt_at is None
    assert "TimeoutError" in delivery.last_error
    due_now()
    assert drain().claimed == 0  # failed rows are left alone


def test_one_failing_delivery_does_not_stop_the_others(world, monkeypatch):
    tell(by_email(world.staff, "bad@example.gov.cn"))
    tell(by_email(world.staff2, "good@example.gov.cn"))

    def picky(subject, body, sender, to):
        if to == ["bad@example.gov.cn"]:
            raise OSError("mailbox unavailable")
        return mail.send_mail(subject, body, sender, to)

    monkeypatch.setattr("casework.services.outbox.send_mail", picky)
    counts = drain()

    assert (counts.sent, counts.retrying) == (1, 1)
    assert [m.to for m in mail.outbox] == [["good@example.gov.cn"]]


def test_a_drain_nearing_the_end_of_its_lease_hands_the_rest_back(world, settings):
    tell(by_email(world.staff))
    settings.MINQING_NOTIFY_LEASE_SECONDS = 1  # shorter than one send may take: nothing is sent

    counts = drain()

    assert (counts.claimed, counts.sent, counts.handed_back) == (1, 0, 1)
    delivery = NotificationDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 0
    assert delivery.next_attempt_at <= timezone.now()  # due again at once
    assert mail.outbox == []


# DingTalk ------------------------------------------------------------------------------------


def test_the_signature_is_the_one_dingtalk_documents():
    # HMAC-SHA256 over "<timestamp>\n<secret>" keyed with the secret, base64, URL-encoded;
    # the expected value computed independently of the module's code path.
    import base64
    import hashlib
    import hmac
    import urllib.parse

    timestamp = 1700000000000
    digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert dingtalk.sign(SECRET, timestamp) == urllib.parse.quote_plus(base64.b64encode(digest).decode())
    url = dingtalk.signed_url("https://oapi.dingtalk.com/robot/send?access_token=abc", SECRET, timestamp)
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000&sign=")
    assert dingtalk.signed_url("https://robot.example/send", SECRET, timestamp).startswith(
        "https://robot.example/send?timestamp="
    )


def test_a_dingtalk_message_is_signed_and_mentions_the_recipient(world, server):
    robot(world.org, server.url)
    user = by_dingtalk(world.member.user, "13800000001")
    tell(user, title="案件即将超期", body="审核还剩 1 个工作日。")

    assert drain().sent == 1

    (received,) = server.received
    assert received.signature_ok, received.query
    assert received.path == "/robot/send" and received.query["access_token"] == "tok123"
    assert abs(int(received.query["timestamp"]) - timezone.now().timestamp() * 1000) < 60_000
    assert received.body["msgtype"] == "markdown"
    assert received.body["markdown"]["title"] == "案件即将超期"
    assert "审核还剩 1 个工作日。" in received.body["markdown"]["text"]
    assert "@13800000001" in received.body["markdown"]["text"]
    assert received.body["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}
    assert NotificationDelivery.objects.get().state == DeliveryState.SENT


def test_a_text_robot_gets_a_text_message_and_no_mention_without_a_mobile(world, server):
    robot(world.org, server.url, fmt=DingTalkRobot.Format.TEXT)
    tell(by_dingtalk(world.member.user, mobile=""), title="标题", body="内容")

    drain()

    (received,) = server.received
    assert received.signature_ok
    assert received.body == {
        "msgtype": "text",
        "text": {"content": "标题\n内容"},
        "at": {"atMobiles": [], "isAtAll": False},
    }


def test_a_dingtalk_refusal_is_retried_with_backoff_then_sent(world, no_backoff):
    server = RobotServer(
        answers=[(200, {"errcode": 130101, "errmsg": "send too fast"}), (200, {"errcode": 0, "errmsg": "ok"})]
    ).start()
    try:
        robot(world.org, server.url)
        tell(by_dingtalk(world.member.user))

        assert drain().retrying == 1
        delivery = NotificationDelivery.objects.get()
        assert "130101" in delivery.last_error and delivery.next_attempt_at > timezone.now() + timedelta(seconds=59)
        due_now()
        assert drain().sent == 1
    finally:
        server.stop()
    assert len(server.received) == 2 and all(r.signature_ok for r in server.received)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)


def test_an_http_error_from_the_robot_is_a_failure(world, no_backoff):
    server = RobotServer(answers=[(502, {"message": "bad gateway"})]).start()
    try:
        robot(world.org, server.url)
        tell(by_dingtalk(world.member.user))
        assert drain().retrying == 1
    finally:
        server.stop()
    assert "HTTP 502" in NotificationDelivery.objects.get().last_error


def test_the_robot_of_the_recipients_committee_is_chosen_over_the_organisations(world):
    org_robot = robot(world.org, "https://robot.example/org")
    committee_robot = robot(world.org, "https://robot.example/committee", committee=world.committee)
    robot(world.org, "https://robot.example/other", committee=world.other_committee)

    assert robot_for(world.staff) == committee_robot  # staff of world.committee
    assert robot_for(world.member.user) == org_robot  # a member works in no committee
    DingTalkRobot.objects.filter(pk=org_robot.pk).update(is_active=False)
    assert robot_for(world.member.user) is None


def test_no_robot_is_retried_so_one_set_up_later_still_gets_it(world, server, no_backoff):
    tell(by_dingtalk(world.member.user))
    assert drain().retrying == 1
    assert "no active DingTalk robot" in NotificationDelivery.objects.get().last_error

    robot(world.org, server.url)
    due_now()
    assert drain().sent == 1 and len(server.received) == 1


# The case that notified is never held up or undone -----------------------------------------


def test_a_failing_channel_neither_blocks_nor_rolls_back_the_case(
    world, monkeypatch, django_capture_on_commit_callbacks, no_backoff
):
    """The notification is written in the case's transaction; the send runs after commit (here
    in process, as an eager worker would) against a robot that is down, and fails on its own."""
    robot(world.org, "http://127.0.0.1:9/robot/send?access_token=down")  # port 9: nothing listens
    staff = by_dingtalk(world.staff)
    case = file_case(world)
    ran = []
    monkeypatch.setattr(
        tasks.drain_outbox_task, "apply_async", lambda **options: ran.append(tasks.drain_outbox_task.apply())
    )

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            do("claim", case.pk, staff)
            tell(staff, key=f"claimed-{case.pk}")

    assert len(ran) == 1 and ran[0].result["retrying"] == 1
    assert Case.objects.get(pk=case.pk).clocks.get().assignee_id == staff.pk
    delivery = NotificationDelivery.objects.get(notification__recipient=staff)
    assert delivery.state == DeliveryState.PENDING and "unreachable" in delivery.last_error


def test_a_broker_that_is_down_does_not_fail_the_transaction(world, monkeypatch, django_capture_on_commit_callbacks):
    asked = []

    def broker_down(**options):
        asked.append(options)
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.drain_outbox_task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tell(by_email(world.staff))

    assert len(callbacks) == 1
    assert asked == [{"retry": False}]  # one try: the request that notified does not wait on a broker
    assert NotificationDelivery.objects.get().state == DeliveryState.PENDING  # beat's drain sends it later


def test_the_task_drains_and_reports(world):
    tell(by_email(world.staff))
    result = tasks.drain_outbox_task.apply().result
    assert result["sent"] == 1 and result["claimed"] == 1
    assert json.loads(json.dumps(result)) == result  # a plain value a result backend can keep


def test_beat_drains_the_outbox_every_minute_by_default(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["notifications-drain"]
    assert entry == {"task": "casework.notifications_drain", "schedule": 60}
    assert tasks.drain_outbox_task.name == "casework.notifications_drain"
    assert tasks.drain_outbox_task.ignore_result


def test_an_email_ends_with_a_link_to_the_case_when_the_site_address_is_set(world, settings):
    settings.MINQING_SITE_URL = "https://minqing.example.gov.cn"
    user = by_email(world.staff)
    case = file_case(world)
    notify(
        recipients=[user],
        organisation_id=user.organisation_id,
        kind=NotificationKind.CLOCK_BREACH,
        title="已超期",
        body="审核已超期。",
        dedupe_key="link-case",
        case_id=case.pk,
    )
    tell(user, key="link-digest", title="3 件案件即将超期")
    assert drain().sent == 2
    bodies = sorted(message.body for message in mail.outbox)
    assert any(b.endswith(f"查看：https://minqing.example.gov.cn/cases/{case.pk}/") for b in bodies), bodies
    assert any(b.endswith("查看：https://minqing.example.gov.cn/notifications/") for b in bodies), bodies


def test_without_the_site_address_an_email_carries_no_link(world):
    user = by_email(world.staff)
    tell(user, body="审核已超期。")
    drain()
    assert mail.outbox[0].body == "审核已超期。"
