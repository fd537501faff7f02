"""Two drains at once on a real PostgreSQL: SKIP LOCKED and the lease keep every delivery to one
drain, so none is sent twice."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.core import mail
from django.db import connection

from casework.choices import DeliveryState
from casework.models import NotificationDelivery
from casework.services.outbox import drain
from tests.notify_helpers import tell

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """These tests commit, so `notify` asks a worker to drain on commit: the tests drain
    themselves, and nothing is published to a broker."""
    from casework import tasks

    monkeypatch.setattr(tasks.drain_outbox_task, "apply_async", lambda **options: None)


def test_two_concurrent_drains_never_send_a_row_twice(world, monkeypatch, settings):
    # Small batches: sixty claims each, so the two drains' claims overlap again and again (a drain
    # without SKIP LOCKED and the lease's token sends rows twice here).
    settings.MINQING_NOTIFY_BATCH = 2
    users = [world.staff, world.staff2, world.other_staff, world.leader]
    for i, user in enumerate(users):
        user.email = f"user{i}@example.gov.cn"
        user.save()
    for n in range(30):
        for user in users:
            tell(user, key=f"k{n}", title=f"第 {n} 条通知")
    total = NotificationDelivery.objects.count()
    assert total == 120

    sent: list[tuple[str, str]] = []

    def slow_send_mail(subject, body, sender, to):
        time.sleep(0.002)  # the network: long enough that the drains overlap
        sent.append((to[0], subject + body))
        return 1

    monkeypatch.setattr("casework.services.outbox.send_mail", slow_send_mail)
    barrier = threading.Barrier(2)
    claimed = [0, 0]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            while True:
                counts = drain()
                claimed[i] += counts.claimed
                if counts.claimed == 0:
                    return
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert not errors, errors
    assert claimed[0] + claimed[1] == total
    assert all(claimed), claimed  # both drains took part
    deliveries = NotificationDelivery.objects.all()
    assert all(d.state == DeliveryState.SENT and d.attempts == 1 for d in deliveries)
    assert len(sent) == total
    per_message = Counter(sent)
    assert max(per_message.values()) == 1, per_message.most_common(3)
    assert mail.outbox == []  # the patched sender was the only way out


def test_a_drain_skips_rows_another_transaction_holds_instead_of_waiting(world):
    world.staff.email = "zhang@example.gov.cn"
    world.staff.save()
    for n in range(4):
        tell(world.staff, key=f"k{n}", title=f"第 {n} 条通知")
    held = list(NotificationDelivery.objects.order_by("id").values_list("id", flat=True)[:2])
    locked, release = threading.Event(), threading.Event()

    def holder() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                list(NotificationDelivery.objects.select_for_update().filter(pk__in=held))
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        started = time.monotonic()
        counts = drain()
        elapsed = time.monotonic() - started
    finally:
        release.set()
        thread.join(timeout=30)

    assert counts.claimed == 2 and counts.sent == 2
    assert elapsed < 5, elapsed  # it did not wait for the holder
    assert set(NotificationDelivery.objects.filter(state=DeliveryState.PENDING).values_list("id", flat=True)) == set(
        held
    )
    assert len(mail.outbox) == 2
