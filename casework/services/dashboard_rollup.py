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
from django.db.models import BigIntegerField, CharField, Count, DateField, F, QuerySet, Value
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


def _month(stamp: str) -> TruncMonth:
    return TruncMonth(stamp, tzinfo=timezone.get_default_timezone(), output_field=DateField())


def _grouped(
    qs: QuerySet[Any], stamp: str, sector: Any, dimension: Any, value: Any, count: Any = None
) -> QuerySet[Any]:
    """`qs` counted per Beijing month of `stamp`, sector, dimension and value, as the roll-up's
    columns (`m`, `s`, `d`, `v`, `n`)."""
    return (
        qs.order_by()
        .annotate(m=_month(stamp), s=F(sector) if isinstance(sector, str) else sector, d=dimension, v=value)
        .values("m", "s", "d", "v")
        .annotate(n=count if count is not None else Count("pk"))
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
    # Outputs: the chart counts each output once however many months (or sectors) its cases
    # fall in, so a sum of per-month counts would count an output with cases in two months of
    # the range twice. Kept as: cases per month and sector (`output_cases:`); distinct outputs
    # per month (`outputs:`, sector NULL: the page without a sector filter) and per month and
    # sector (`outputs_s:`); and the outputs with cases in two or more months as pairs of
    # consecutive months (`_pair_statements`), from which the reader takes off the double counts
    # of the range. A row per output (and month) was the first design: a COUNT(DISTINCT) over
    # 270,000 rows, 400 ms at 1,000,000 cases; one per output month over 100,000 (350 ms).
    converted = cases.filter(output__isnull=False)
    kind = F("output__output_type")

    def named(prefix: str) -> Concat:
        return Concat(Value(prefix), kind, output_field=text)

    distinct = Count("output_id", distinct=True)
    none = Cast(Value(None), text)
    no_sector = Cast(Value(None), BigIntegerField())  # a typed NULL: an untyped one is text in a subquery
    queries.append(_grouped(converted, "submitted_at", "member__sector_id", named("output_cases:"), none))
    queries.append(_grouped(converted, "submitted_at", no_sector, named("outputs:"), none, distinct))
    queries.append(_grouped(converted, "submitted_at", "member__sector_id", named("outputs_s:"), none, distinct))
    return _rest(org, cutoff, queries)


def _pair_statements(org: int, cutoff: datetime) -> list[tuple[str, list[Any]]]:
    """The outputs with cases in two or more months, as their consecutive months: for an output
    whose cases fall in months m1 < m2 < m3, the pairs (m1, m2) and (m2, m3), counted per pair
    (`output_pair:<type>`, month m1, value m2; per sector too, `output_pair_s:`). A range of whole
    months holds a contiguous run of an output's months, so the pairs inside the range are the
    times a sum of per-month distinct counts counted that output more than once: the reader
    subtracts them with one more SUM. A few hundred rows, where one row per output month was
    over 100,000 at 1,000,000 cases."""
    converted = Case.objects.filter(organisation_id=org, submitted_at__lt=cutoff, output__isnull=False)
    # The later month as text, 'YYYY-MM-DD' (SQLite's month already is).
    next_month = "to_char(p.nm, 'YYYY-MM-DD')" if connection.vendor == "postgresql" else "p.nm"
    statements = []
    for dimension, partition, sector in (("output_pair", "d.o", "NULL"), ("output_pair_s", "d.o, d.s", "d.s")):
        annotated = converted.order_by().annotate(
            o=F("output_id"), t=F("output__output_type"), s=F("member__sector_id"), m=_month("submitted_at")
        )
        # Each output's distinct months (and sectors, for the per-sector pairs).
        fields = ("o", "t", "m") if dimension == "output_pair" else ("o", "t", "s", "m")
        sql, params = annotated.values(*fields).distinct().query.sql_with_params()
        statements.append(
            (
                f"SELECT %s, p.m, {'p.s' if sector != 'NULL' else 'CAST(NULL AS BIGINT)'}, "
                f"'{dimension}:' || p.t, {next_month}, COUNT(*) FROM ("
                f"SELECT d.t, {sector} AS s, d.m, LEAD(d.m) OVER (PARTITION BY {partition} ORDER BY d.m) AS nm "
                f"FROM ({sql}) d) p WHERE p.nm IS NOT NULL GROUP BY p.m, p.s, p.t, p.nm",
                [org, *params],
            )
        )
    return statements


def _rest(org: int, cutoff: datetime, queries: list[QuerySet[Any]]) -> list[QuerySet[Any]]:
    text = CharField()
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
            columns = f"INSERT INTO {table} (organisation_id, month, sector, dimension, value, n) "
            for qs in _queries(org, cutoff):
                sql, params = qs.query.sql_with_params()
                cursor.execute(columns + f"SELECT %s, q.m, q.s, q.d, q.v, q.n FROM ({sql}) q", (org, *params))
                rows += max(cursor.rowcount, 0)
            for pair_sql, pair_params in _pair_statements(org, cutoff):
                cursor.execute(columns + pair_sql, pair_params)
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
