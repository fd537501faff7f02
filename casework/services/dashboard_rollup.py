"""The leadership dashboard's monthly roll-up (`DashboardMonth`), rebuilt per organisation.

Why a rebuild rather than counting each transition as it happens: a case's status, decision,
reply and satisfaction change long after its submission month, and so does its member's sector;
keeping counters right through every transition (and every correction made in the admin) would
put a write on the dashboard's behalf into each of them. A rebuild reads the cases once, as the
page would, and is right by construction; its cost is one pass over the organisation's cases
per refresh (README: its time at 1,000,000 cases), paid by a worker, not by a leader waiting
for the page. What it costs the page: the months it holds can lag the cases by up to the
refresh interval (`MINQING_DASHBOARD_ROLLUP_SECONDS`) plus a refresh's own run time, which the
page says ("整月数据更新于 HH:MM"); what was filed, closed or judged after the last refresh is
always read from the cases.

Safe to run twice at once (beat's next run meeting a slow or redelivered one, two workers): an
organisation's rows are replaced in one transaction that first locks its organisation row, so a
second refresh of the same organisation waits and then replaces them again; readers see the old
rows or the new, never a mix or none (PostgreSQL's snapshots). The lock is `FOR NO KEY UPDATE`,
which does not conflict with the `FOR KEY SHARE` locks that inserting a case (or anything else
referring to the organisation) takes, so filing goes on while the refresh runs. Nothing is kept
in memory between runs. SQLite ignores the lock and has one writer at a time anyway.

How: per dimension, one `INSERT … SELECT` of the grouped counts (the ORM's GROUP BY query, run
inside the database: no rows travel through Python) of the records stamped before the cutoff,
by Beijing month: the current month too, up to the cutoff, since a page's range usually ends
today and the current month may hold many of the cases (the page reads only what came after
the cutoff live)."""

from __future__ import annotations

import time as clock
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import CharField, Count, DateField, F, QuerySet, Value
from django.db.models.functions import Cast, Concat, TruncMonth
from django.utils import timezone

from casework.choices import ClockState
from casework.models import Case, CaseClock, DashboardMonth, DashboardRollup, Organisation
from casework.reports import ROLLUP_COLUMNS

# The roll-up counts the records stamped more than this before the refresh started; the page
# reads the later ones live. A case is stamped (submitted_at = now) inside its filing
# transaction: one that committed after a refresh read, stamped before the cutoff, would be
# missed by both until the next refresh, which a minute's margin makes impossible in practice.
SETTLE = timedelta(seconds=60)


def _grouped(qs: QuerySet[Any], stamp: str, sector: str, dimension: Any, value: Any) -> QuerySet[Any]:
    """`qs` counted per Beijing month of `stamp`, sector, dimension and value, as the roll-up's
    columns (`m`, `s`, `d`, `v`, `n`)."""
    zone = timezone.get_default_timezone()
    return (
        qs.order_by()
        .annotate(
            m=TruncMonth(stamp, tzinfo=zone, output_field=DateField()),
            s=F(sector),
            d=dimension,
            v=value,
        )
        .values("m", "s", "d", "v")
        .annotate(n=Count("pk"))
    )


def _queries(org: int, cutoff: datetime) -> list[QuerySet[Any]]:
    """Every dimension's grouped query over the organisation's records before `cutoff`, each
    matching what the page's live read counts (`casework.reports`)."""
    cases = Case.objects.filter(organisation_id=org, submitted_at__lt=cutoff)
    text = CharField()
    queries = [
        _grouped(cases, "submitted_at", "member__sector_id", Value(dimension), Cast(column, text))
        for dimension, column in ROLLUP_COLUMNS.items()
    ]
    # Outputs by id: an output counts once however many months its cases fall in.
    queries.append(
        _grouped(
            cases.filter(output__isnull=False),
            "submitted_at",
            "member__sector_id",
            Concat(Value("output:"), F("output__output_type"), output_field=text),
            Cast("output_id", text),
        )
    )
    closed = Case.objects.filter(organisation_id=org, closed_at__lt=cutoff)
    queries.append(_grouped(closed, "closed_at", "member__sector_id", Value("closed"), Value(None, text)))
    # The SLA verdicts, by the day the clock stopped, as `selectors.sla_report` counts them.
    clocks = CaseClock.objects.filter(
        organisation_id=org, state=ClockState.STOPPED, stopped_at__lt=cutoff, case__committee_id__isnull=False
    )
    for dimension, met in (("clock_met", True), ("clock_late", False)):
        queries.append(
            _grouped(
                clocks.filter(is_met=met),
                "stopped_at",
                "case__member__sector_id",
                Value(dimension),
                Concat(Cast("case__committee_id", text), Value(":"), F("stage"), output_field=text),
            )
        )
    return queries


def refresh(org: int, *, now: datetime | None = None) -> DashboardRollup:
    """Replace the organisation's roll-up with its records before the cutoff (`now` less
    `SETTLE`), by Beijing month."""
    started = clock.monotonic()
    now = now or timezone.now()
    cutoff = now - SETTLE
    table = DashboardMonth._meta.db_table
    with transaction.atomic():
        Organisation.objects.select_for_update(no_key=True).filter(pk=org).first()
        DashboardMonth.objects.filter(organisation_id=org).delete()
        rows = 0
        with connection.cursor() as cursor:
            for qs in _queries(org, cutoff):
                sql, params = qs.query.sql_with_params()
                cursor.execute(
                    f"INSERT INTO {table} (organisation_id, month, sector, dimension, value, n) "
                    f"SELECT %s, q.m, q.s, q.d, q.v, q.n FROM ({sql}) q",
                    (org, *params),
                )
                rows += max(cursor.rowcount, 0)
        state, _created = DashboardRollup.objects.update_or_create(
            organisation_id=org,
            defaults={
                "cutoff": cutoff,
                "refreshed_at": now,
                "took_ms": round((clock.monotonic() - started) * 1000),
                "rows": rows,
            },
        )
    return state


def refresh_all(*, now: datetime | None = None) -> list[DashboardRollup]:
    """Every organisation's roll-up, one transaction each (a long refresh of one organisation
    does not hold back the others' new rows)."""
    return [refresh(org, now=now) for org in Organisation.objects.order_by("pk").values_list("pk", flat=True)]
