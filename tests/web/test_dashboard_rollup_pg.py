"""Two refreshes of the dashboard's roll-up at once (two workers, or beat's next run meeting a
redelivered task) on PostgreSQL: they queue on the organisation row's lock, so the rows are
replaced twice, never written twice, and filing a case does not wait for a refresh."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from casework.choices import CaseStatus
from casework.models import Case, DashboardMonth, DashboardRollup, Organisation
from casework.services import dashboard_rollup

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BEIJING = ZoneInfo("Asia/Shanghai")


def test_two_refreshes_at_once_write_the_rows_once(world):
    start = datetime(2025, 1, 1, 12, tzinfo=BEIJING)
    for i in range(40):
        Case.objects.create(
            organisation=world.org,
            member=world.member,
            title="路灯不亮",
            description="晚上看不见",
            category=world.category,
            committee=world.committee,
            created_by=world.member.user,
            status=CaseStatus.REVIEW if i % 2 else CaseStatus.CLOSED,
            submitted_at=start + timedelta(days=9 * i),
        )
    dashboard_rollup.refresh(world.org.pk)
    once = sorted(DashboardMonth.objects.values_list("month", "sector", "dimension", "value", "n"))
    assert once

    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def refresh() -> None:
        try:
            barrier.wait()
            dashboard_rollup.refresh(world.org.pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def file_one() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '3s'")
                Case.objects.create(
                    organisation=world.org,
                    member=world.member,
                    title="新案件",
                    description="刷新期间提交",
                    category=world.category,
                    committee=world.committee,
                    created_by=world.member.user,
                    status=CaseStatus.REVIEW,
                    submitted_at=start,
                )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    # Hold the organisation's lock while both refreshes start, so they truly meet at it.
    with transaction.atomic():
        Organisation.objects.select_for_update(no_key=True).get(pk=world.org.pk)
        threads = [threading.Thread(target=refresh) for _ in range(2)]
        for thread in threads:
            thread.start()
        barrier.wait()
        # Filing goes on meanwhile, from another connection: inserting a case takes only a
        # key-share lock on the organisation row, which the refresh's lock does not block.
        filer = threading.Thread(target=file_one)
        filer.start()
        filer.join(30)
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    twice = sorted(DashboardMonth.objects.values_list("month", "sector", "dimension", "value", "n"))
    # The same rows as one refresh (plus the case filed meanwhile, in January 2025), none doubled.
    assert len(twice) == len(once)
    assert sum(r[4] for r in twice if r[2] == "status") == sum(r[4] for r in once if r[2] == "status") + 1
    assert DashboardRollup.objects.filter(organisation=world.org).count() == 1
