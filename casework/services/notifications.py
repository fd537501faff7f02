"""Telling people: in-app notifications and the outbox of their other channels.

`notify` is called inside the transaction of the fact it tells of (a clock marked overdue, an
escalation): the notification and its outbox rows commit or vanish with that fact, so a crash
loses neither and tells nothing that did not happen. Each notification is in-app (the user's
unread list); a user who chose email or DingTalk also gets a pending `NotificationDelivery` per
channel, which a Celery task sends after commit with retries and backoff."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from casework.choices import NotificationChannel, NotificationKind
from casework.errors import NotFound
from casework.models import Notification, NotificationDelivery, User

log = logging.getLogger("minqing.notifications")


@dataclass(frozen=True)
class Message:
    """One thing to tell one user. `dedupe_key` is unique per recipient: the same message told
    again (a task run twice) creates nothing."""

    recipient_id: int
    organisation_id: int
    kind: NotificationKind
    title: str
    body: str
    dedupe_key: str
    case_id: int | None = None


def notify_all(messages: Sequence[Message]) -> list[Notification]:
    """Record the messages and queue their deliveries; returns the notifications created (those
    already told are skipped)."""
    if not messages:
        return []
    told = set(
        Notification.objects.filter(
            recipient_id__in={m.recipient_id for m in messages}, dedupe_key__in={m.dedupe_key for m in messages}
        ).values_list("recipient_id", "dedupe_key")
    )
    fresh, seen = [], set(told)
    for m in messages:
        if (m.recipient_id, m.dedupe_key) not in seen:
            seen.add((m.recipient_id, m.dedupe_key))
            fresh.append(m)
    if not fresh:
        return []
    created = Notification.objects.bulk_create(
        [
            Notification(
                organisation_id=m.organisation_id,
                recipient_id=m.recipient_id,
                kind=m.kind,
                title=m.title[:200],
                body=m.body,
                case_id=m.case_id,
                dedupe_key=m.dedupe_key[:120],
            )
            for m in fresh
        ]
    )
    channels = dict(
        (pk, _channels(email, by_email, by_dingtalk))
        for pk, email, by_email, by_dingtalk in User.objects.filter(pk__in={m.recipient_id for m in fresh}).values_list(
            "pk", "email", "notify_by_email", "notify_by_dingtalk"
        )
    )
    now = timezone.now()
    deliveries = [
        NotificationDelivery(notification=n, channel=channel, next_attempt_at=now)
        for n in created
        for channel in channels.get(n.recipient_id, ())
    ]
    if deliveries:
        NotificationDelivery.objects.bulk_create(deliveries)
        drain_soon_after_commit()
    return created


def notify(
    *,
    recipients: Iterable[User | int],
    organisation_id: int,
    kind: NotificationKind,
    title: str,
    body: str = "",
    dedupe_key: str,
    case_id: int | None = None,
) -> list[Notification]:
    """Tell each recipient the same thing (see `notify_all`)."""
    return notify_all(
        [
            Message(
                recipient_id=r if isinstance(r, int) else r.pk,
                organisation_id=organisation_id,
                kind=kind,
                title=title,
                body=body,
                dedupe_key=dedupe_key,
                case_id=case_id,
            )
            for r in recipients
        ]
    )


def _channels(email: str, by_email: bool, by_dingtalk: bool) -> tuple[str, ...]:
    chosen = []
    if by_email and email:
        chosen.append(NotificationChannel.EMAIL)
    if by_dingtalk:
        chosen.append(NotificationChannel.DINGTALK)
    return tuple(chosen)


def drain_soon_after_commit() -> None:
    transaction.on_commit(_drain_soon)


def _drain_soon() -> None:
    """Ask a worker to send the outbox now; the periodic drain is the backstop if the broker is
    down, so a failure to ask is not an error of the case. One try, no retries: this runs in the
    request that notified, after its commit, and a broker that is down must not keep it waiting."""
    try:
        from casework.tasks import drain_outbox_task  # type: ignore[attr-defined]

        drain_outbox_task.apply_async(retry=False)
    except Exception:
        log.warning("could not ask for the outbox to be drained now; beat's drain will send it", exc_info=True)


# The recipient's own changes ------------------------------------------------------------------


def mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (again is harmless: the first time stays).
    Another user's answers as a missing one does."""
    notification = Notification.objects.filter(pk=notification_id, recipient=user).first()
    if notification is None:
        raise NotFound(code="notification_not_found")
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the user read; returns how many were."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def set_channels(
    user: User, *, email: bool | None = None, dingtalk: bool | None = None, mobile: str | None = None
) -> User:
    """Record the channels the user chose (None: unchanged). Deliveries already queued follow
    the choice too: the outbox checks it again when it sends."""
    fields = []
    if email is not None:
        user.notify_by_email = email
        fields.append("notify_by_email")
    if dingtalk is not None:
        user.notify_by_dingtalk = dingtalk
        fields.append("notify_by_dingtalk")
    if mobile is not None:
        user.mobile = mobile
        fields.append("mobile")
    if fields:
        user.save(update_fields=fields)
    return user
