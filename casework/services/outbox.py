"""Draining the notification outbox: sending each pending `NotificationDelivery` by its channel.

`notify` writes the outbox rows in the transaction of the fact they tell of; `drain` sends them
afterwards, from a worker, so a mail server or a DingTalk robot that is down or slow never holds
up or undoes a case. How a drain goes:

1. Claim: in one short transaction, the pending rows whose time has come (the `delivery_pending`
   index), oldest first, `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL so two drains never
   take the same row; their `next_attempt_at` is moved to the end of a lease, which is what
   keeps other drains off them once the transaction (and its row locks) ends. SQLite has no
   row locks, but its writers take the database's one write lock in turn, which serialises
   claims just as well.
2. Send, outside any transaction: the network is never waited on with a lock held.
3. Mark, right after each send, in its own short transaction: sent (with `sent_at`), or a retry
   after an exponential backoff with jitter and the error in `last_error`, or, after
   `MINQING_NOTIFY_MAX_ATTEMPTS` attempts, failed. The mark only applies to a row still under
   this drain's lease (the lease's end is the drain's token).

Delivery is at least once, not exactly once: a worker that dies after a send and before its
mark leaves the row claimed; when the lease runs out another drain sends it again. The window is
one send, since each mark is committed at once. A drain that nears the end of its lease hands
its unsent rows back rather than send after another drain may have claimed them."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.choices import DeliveryState, NotificationChannel
from casework.models import DingTalkRobot, Notification, NotificationDelivery, User

from . import dingtalk

log = logging.getLogger("minqing.notifications")


class DeliveryError(Exception):
    """A send that did not go. `permanent`: trying again cannot help (no address, no robot), so
    the row fails at once instead of using up its retries."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class DrainCounts:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    handed_back: int = 0


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: base * 2**(attempts-1), capped, plus up to a
    quarter more at random (jitter), so rows that failed together do not all come back together."""
    base = settings.MINQING_NOTIFY_BACKOFF_SECONDS
    seconds = min(base * 2 ** max(attempts - 1, 0), settings.MINQING_NOTIFY_BACKOFF_MAX_SECONDS)
    return timedelta(seconds=seconds * (1 + random.uniform(0, 0.25)))


def _claim(limit: int, now: datetime, lease_until: datetime) -> list[int]:
    with transaction.atomic():
        due = NotificationDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        if ids:
            NotificationDelivery.objects.filter(pk__in=ids).update(next_attempt_at=lease_until)
    return ids


def drain(limit: int | None = None) -> DrainCounts:
    """Send up to `limit` due deliveries (default `MINQING_NOTIFY_BATCH`); see the module's words."""
    limit = limit if limit is not None else settings.MINQING_NOTIFY_BATCH
    now = timezone.now()
    lease = settings.MINQING_NOTIFY_LEASE_SECONDS
    # Microseconds at random make the lease's end this drain's own token.
    lease_until = now + timedelta(seconds=lease, microseconds=random.randrange(1, 1_000_000))
    stop_at = time.monotonic() + lease - _longest_send()
    counts = DrainCounts()
    ids = _claim(limit, now, lease_until)
    counts.claimed = len(ids)
    for position, delivery_id in enumerate(ids):
        if time.monotonic() > stop_at:
            counts.handed_back = _hand_back(ids[position:], lease_until)
            break
        outcome = _send_one(delivery_id, lease_until)
        if outcome is not None:
            setattr(counts, outcome, getattr(counts, outcome) + 1)
    if counts.claimed:
        log.info("通知发送: %s", counts)
    return counts


def _longest_send() -> int:
    """How long one send may take, so a drain stops while its lease still covers the last one."""
    return max(settings.MINQING_DINGTALK_TIMEOUT, getattr(settings, "EMAIL_TIMEOUT", None) or 10) + 5


def _hand_back(ids: list[int], lease_until: datetime) -> int:
    return NotificationDelivery.objects.filter(pk__in=ids, next_attempt_at=lease_until).update(
        next_attempt_at=timezone.now()
    )


def _send_one(delivery_id: int, lease_until: datetime) -> str | None:
    delivery = (
        NotificationDelivery.objects.select_related("notification__recipient", "notification__case")
        .filter(pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at=lease_until)
        .first()
    )
    if delivery is None:
        return None  # changed since the claim (the admin, another drain after our lease): not ours
    try:
        send(delivery)
    except Exception as error:
        permanent = isinstance(error, DeliveryError) and error.permanent
        return _mark_failure(delivery, lease_until, _describe(error), permanent=permanent)
    _mark(delivery, lease_until, state=DeliveryState.SENT, sent_at=timezone.now(), last_error="")
    return "sent"


def _describe(error: Exception) -> str:
    if isinstance(error, DeliveryError | dingtalk.DingTalkError):
        return str(error)[:500]
    return f"{type(error).__name__}: {error}"[:500]


def _mark_failure(delivery: NotificationDelivery, lease_until: datetime, error: str, *, permanent: bool) -> str:
    attempts = delivery.attempts + 1
    if permanent or attempts >= settings.MINQING_NOTIFY_MAX_ATTEMPTS:
        log.warning("通知发送失败，不再重试 (delivery %s, %s attempts): %s", delivery.pk, attempts, error)
        _mark(delivery, lease_until, state=DeliveryState.FAILED, last_error=error, next_attempt_at=None)
        return "failed"
    log.info("通知发送失败，稍后重试 (delivery %s, attempt %s): %s", delivery.pk, attempts, error)
    _mark(delivery, lease_until, last_error=error, next_attempt_at=timezone.now() + backoff(attempts))
    return "retrying"


def _mark(delivery: NotificationDelivery, lease_until: datetime, **changes: object) -> None:
    """Record the outcome of one attempt at once (its own transaction), if the row is still ours."""
    with transaction.atomic():
        NotificationDelivery.objects.filter(
            pk=delivery.pk, state=DeliveryState.PENDING, next_attempt_at=lease_until
        ).update(attempts=delivery.attempts + 1, **changes)


# The channels --------------------------------------------------------------------------------


def send(delivery: NotificationDelivery) -> None:
    """Send one delivery by its channel, as its recipient stands now (their address, their
    choice: a channel turned off since the row was queued is not used)."""
    notification = delivery.notification
    recipient = notification.recipient
    if delivery.channel == NotificationChannel.EMAIL:
        if not recipient.notify_by_email:
            raise DeliveryError("the recipient has turned email off", permanent=True)
        if not recipient.email:
            raise DeliveryError("the recipient has no email address", permanent=True)
        subject = " ".join(notification.title.split())  # a header is one line
        send_mail(subject, with_link(notification, notification.body or notification.title), None, [recipient.email])
    elif delivery.channel == NotificationChannel.DINGTALK:
        if not recipient.notify_by_dingtalk:
            raise DeliveryError("the recipient has turned DingTalk off", permanent=True)
        robot = robot_for(recipient, notification.case.committee_id if notification.case else None)
        if robot is None:
            raise DeliveryError("no active DingTalk robot for the recipient's committee or organisation")
        payload = dingtalk.message(
            robot.message_format, notification.title, with_link(notification, notification.body), recipient.mobile
        )
        dingtalk.post(robot, payload)
    else:
        raise DeliveryError(f"unknown channel {delivery.channel!r}", permanent=True)


def with_link(notification: Notification, text: str) -> str:
    """The text with where to read more at its end: the case's page, or the notifications page
    for a digest of several, when the site's address is configured (MINQING_SITE_URL); as it is
    otherwise (a message sent out of the site cannot guess its address)."""
    site = settings.MINQING_SITE_URL
    if not site:
        return text
    path = f"/cases/{notification.case_id}/" if notification.case_id else "/notifications/"
    return f"{text}\n\n{_('查看')}：{site}{path}"


def robot_for(user: User, case_committee_id: int | None = None) -> DingTalkRobot | None:
    """The robot a message to `user` goes to: that of a committee they work in (the case's
    committee first, when they work in it), else their organisation's own. A robot missing is
    not permanent: one may be set up in the admin before the retries run out."""
    if user.organisation_id is None:
        return None
    committees = set(user.staffed_committees.values_list("pk", flat=True)) | set(
        user.headed_committees.values_list("pk", flat=True)
    )
    robots = DingTalkRobot.objects.filter(organisation_id=user.organisation_id, is_active=True).filter(
        Q(committee__isnull=True) | Q(committee_id__in=committees)
    )
    by_committee = {robot.committee_id: robot for robot in robots}
    if case_committee_id in committees and case_committee_id in by_committee:
        return by_committee[case_committee_id]
    for committee_id in sorted(c for c in by_committee if c is not None):
        return by_committee[committee_id]
    return by_committee.get(None)


# By hand (the admin) -------------------------------------------------------------------------


def retry_failed(delivery_ids: list[int]) -> int:
    """Give failed deliveries a fresh round of attempts, due now; returns how many. Pending
    and sent rows are left as they are. The drain is asked for after commit."""
    from .notifications import drain_soon_after_commit

    retried = NotificationDelivery.objects.filter(pk__in=delivery_ids, state=DeliveryState.FAILED).update(
        state=DeliveryState.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    if retried:
        drain_soon_after_commit()
    return retried


def send_test_message(robot: DingTalkRobot) -> str | None:
    """Post a test message to `robot` now; the error, or None when DingTalk took it."""
    try:
        dingtalk.post(robot, dingtalk.message(robot.message_format, "民情：测试消息", "钉钉群机器人已接通。"))
    except dingtalk.DingTalkError as error:
        return str(error)
    return None
