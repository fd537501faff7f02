"""The leadership dashboard's figures: one GROUP BY query per chart over the cases of the
leader's organisation submitted within a date range (Beijing days, both included), optionally
only those of members of one sector. Each chart comes back as a small table (a label column and
one or more count columns), which is what the page draws, what it shows as the chart's text
equivalent and what the spreadsheet export writes, so the three can never disagree.

The case queries read the `case_org_submitted` covering index (organisation, submitted_at,
with every grouped column included), so on PostgreSQL they are index-only scans of the range.
Still, their time grows with the cases in the range (seconds for a year at 1,000,000 cases), so
`read` takes the months the monthly roll-up holds (`DashboardMonth`, rebuilt by
`casework.services.dashboard_rollup`) from it and reads only the rest from the cases: the
partial months at the range's ends and what was stamped after the roll-up's cutoff. Without a
roll-up it reads everything from the cases; a test holds the two reads equal."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils.timezone import get_current_timezone, localdate
from django.utils.translation import gettext as _

from casework import access, selectors
from casework.choices import CaseStatus, ClockState, Decision, FeedbackMethod, OutputType, Role, Satisfaction, Stage
from casework.errors import InvalidInput, NotFound, PermissionDenied
from casework.models import (
    Case,
    CaseCategory,
    CaseClock,
    Committee,
    DashboardMonth,
    DashboardRollup,
    Member,
    Sector,
    Township,
    User,
)

# The longest range the dashboard reads at once: ten years of months is already a long trend.
MAX_RANGE_DAYS = 3700


@dataclass(frozen=True)
class Filters:
    first: date
    last: date
    sector_id: int | None = None
    sector_name: str = ""
    # A piece of the range as instants (`read` splits a range at the roll-up's cutoff): when set,
    # these bound the records read instead of the days' midnights.
    since: datetime | None = None
    until: datetime | None = None

    def describe(self) -> str:
        """The filter in words, for a chart's title row in its export."""
        sector = self.sector_name or _("全部界别")
        return _("%(first)s 至 %(last)s（提交日期）· %(sector)s") % {
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "sector": sector,
        }


@dataclass
class Chart:
    key: str
    title: str
    kind: str  # "bar", "pie" or "line": how the page draws it
    label: str  # the heading of the label column
    series: list[str]  # the headings of the count columns
    rows: list[list[Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "kind": self.kind,
            "label": self.label,
            "series": self.series,
            "rows": self.rows,
        }


def default_range(today: date | None = None) -> tuple[date, date]:
    """From the first day of the month eleven months ago to today: a year of months."""
    today = today or localdate()
    month = today.month - 11
    year = today.year
    if month < 1:
        month += 12
        year -= 1
    return date(year, month, 1), today


def check_reader(user: User) -> int:
    """Leadership only (the committees have their own queue pages and SLA report); the
    organisation the figures are scoped to."""
    if Role.LEADERSHIP not in access.roles_of(user):
        raise PermissionDenied(_("只有主席会议成员可以查看领导驾驶舱。"), code="not_leadership")
    return access.organisation_id_of(user)


def filters_for(user: User, *, first: date | None, last: date | None, sector_id: int | None) -> Filters:
    """Checked filters: a range that runs forwards and is not absurdly long, a sector of the
    leader's own organisation."""
    org = check_reader(user)
    default_first, default_last = default_range()
    first = first or default_first
    last = last or default_last
    if first > last:
        raise InvalidInput(_("开始日期不能晚于结束日期。"), code="range_reversed")
    if (last - first).days > MAX_RANGE_DAYS:
        raise InvalidInput(_("日期范围不能超过十年。"), code="range_too_long")
    name = ""
    if sector_id is not None:
        name = Sector.objects.filter(organisation_id=org, pk=sector_id).values_list("name", flat=True).first() or ""
        if not name:
            raise NotFound(_("没有这个界别。"), code="sector_not_found")
    return Filters(first, last, sector_id, name)


def sectors(user: User) -> list[tuple[int, str]]:
    """The sectors of the leader's organisation, for the filter's choices."""
    org = check_reader(user)
    return list(Sector.objects.filter(organisation_id=org).order_by("name").values_list("pk", "name"))


def _bounds(filters: Filters) -> tuple[datetime, datetime]:
    zone = get_current_timezone()
    start = datetime.combine(filters.first, time.min, tzinfo=zone)
    end = datetime.combine(filters.last, time.min, tzinfo=zone) + timedelta(days=1)
    return filters.since or start, filters.until or end


def _cases(org: int, filters: Filters) -> QuerySet[Case]:
    start, end = _bounds(filters)
    qs = Case.objects.filter(organisation_id=org, submitted_at__gte=start, submitted_at__lt=end)
    if filters.sector_id is not None:
        qs = qs.filter(member__sector_id=filters.sector_id)
    return qs


def _counted(qs: QuerySet[Case], column: str) -> dict[Any, int]:
    return {key: n for key, n in qs.order_by().values_list(column).annotate(n=Count("pk")).values_list(column, "n")}


def _by_choice(key: str, title: str, kind: str, label: str, choices: Any, counts: dict[Any, int]) -> Chart:
    """A chart over a fixed list of choices, in the list's order, leaving out those with none
    (an empty value, e.g. a case not yet decided, is not a class of its own)."""
    rows = [[str(name), counts[value]] for value, name in choices.choices if counts.get(value)]
    return Chart(key, title, kind, label, [_("案件数")], rows)


def _by_name(key: str, title: str, label: str, names: dict[int, str], counts: dict[Any, int]) -> Chart:
    """A chart over named things (sectors, categories, townships), most cases first."""
    pairs = [(names.get(pk, str(pk)) if pk is not None else _("未填写"), n) for pk, n in counts.items() if n]
    pairs.sort(key=lambda pair: (-pair[1], pair[0]))
    rows: list[list[Any]] = [[name, n] for name, n in pairs]
    return Chart(key, title, "bar", label, [_("案件数")], rows)


def _status_chart(counts: dict[Any, int]) -> Chart:
    return _by_choice("status", _("案件所处环节"), "bar", _("环节"), CaseStatus, counts)


def _sector_chart(names: dict[int, str], counts: dict[Any, int]) -> Chart:
    return _by_name("sector", _("各界别反映案件"), _("界别"), names, counts)


def _category_chart(names: dict[int, str], counts: dict[Any, int]) -> Chart:
    return _by_name("category", _("案件类别"), _("类别"), names, counts)


def _township_chart(names: dict[int, str], counts: dict[Any, int]) -> Chart:
    return _by_name("township", _("各乡镇街道案件"), _("乡镇街道"), names, counts)


def _decision_chart(counts: dict[Any, int]) -> Chart:
    return _by_choice("decision", _("审核决定"), "pie", _("审核决定"), Decision, counts)


def _reply_chart(counts: dict[Any, int]) -> Chart:
    return _by_choice("reply", _("反馈群众方式"), "pie", _("反馈方式"), FeedbackMethod, counts)


def _satisfaction_chart(counts: dict[Any, int]) -> Chart:
    return _by_choice("satisfaction", _("群众满意度"), "pie", _("满意度"), Satisfaction, counts)


def chart_status(org: int, filters: Filters) -> Chart:
    return _status_chart(_counted(_cases(org, filters), "status"))


def chart_sector(org: int, filters: Filters) -> Chart:
    names = dict(Sector.objects.filter(organisation_id=org).values_list("pk", "name"))
    return _sector_chart(names, _counted(_cases(org, filters), "member__sector_id"))


def chart_category(org: int, filters: Filters) -> Chart:
    names = dict(CaseCategory.objects.filter(organisation_id=org).values_list("pk", "name"))
    return _category_chart(names, _counted(_cases(org, filters), "category_id"))


def chart_township(org: int, filters: Filters) -> Chart:
    names = dict(Township.objects.filter(organisation_id=org).values_list("pk", "name"))
    return _township_chart(names, _counted(_cases(org, filters), "township_id"))


def chart_decision(org: int, filters: Filters) -> Chart:
    return _decision_chart(_counted(_cases(org, filters), "decision"))


def chart_reply(org: int, filters: Filters) -> Chart:
    return _reply_chart(_counted(_cases(org, filters), "feedback_method"))


def chart_satisfaction(org: int, filters: Filters) -> Chart:
    return _satisfaction_chart(_counted(_cases(org, filters), "satisfaction"))


def _month_keys(counts: dict[Any, int]) -> dict[str, int]:
    """Counts by a Beijing month (an aware datetime truncated to it) as 'YYYY-MM'."""
    zone = get_current_timezone()
    out: dict[str, int] = {}
    for moment, n in counts.items():
        day = moment.astimezone(zone).date() if isinstance(moment, datetime) else moment
        key = f"{day.year:04d}-{day.month:02d}"
        out[key] = out.get(key, 0) + n
    return out


def _closed_by_month(org: int, filters: Filters) -> dict[str, int]:
    """Cases closed within the range per Beijing month, whenever they were submitted (the
    `case_org_closed` index)."""
    start, end = _bounds(filters)
    qs = Case.objects.filter(organisation_id=org, closed_at__gte=start, closed_at__lt=end)
    if filters.sector_id is not None:
        qs = qs.filter(member__sector_id=filters.sector_id)
    return _month_keys(_counted(qs.annotate(month=TruncMonth("closed_at", tzinfo=get_current_timezone())), "month"))


def _trend_chart(filters: Filters, filed: dict[str, int], closed: dict[str, int]) -> Chart:
    months: list[str] = []
    cursor = date(filters.first.year, filters.first.month, 1)
    while cursor <= filters.last:
        months.append(f"{cursor.year:04d}-{cursor.month:02d}")
        cursor = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
    rows: list[list[Any]] = [[m, filed.get(m, 0), closed.get(m, 0)] for m in months]
    return Chart("trend", _("月度趋势"), "line", _("月份"), [_("提交"), _("办结")], rows)


def chart_trend(org: int, filters: Filters) -> Chart:
    """Cases submitted and cases closed per month (Beijing months) within the range."""
    month = TruncMonth("submitted_at", tzinfo=get_current_timezone())
    filed = _month_keys(_counted(_cases(org, filters).annotate(month=month), "month"))
    return _trend_chart(filters, filed, _closed_by_month(org, filters))


def _clocks(user: User, filters: Filters) -> dict[str, Any]:
    return selectors.sla_report(
        user, first=filters.first, last=filters.last, sector_id=filters.sector_id, include_running=False
    )


def chart_clocks_stage(user: User, filters: Filters) -> Chart:
    """Clocks that ended within the range (by the day they stopped, as the SLA report counts
    them): met and late per stage, all committees together."""
    return _clock_chart_from(_clocks(user, filters), "stage")


def chart_clocks_committee(user: User, filters: Filters) -> Chart:
    return _clock_chart_from(_clocks(user, filters), "committee")


def chart_outputs(org: int, filters: Filters) -> Chart:
    """Conversion into outputs: of the cases in range that were converted, the outputs they went
    into, by type, and how many cases went into them."""
    qs = (
        _cases(org, filters)
        .filter(output__isnull=False)
        .order_by()
        .values_list("output__output_type")
        .annotate(outputs=Count("output_id", distinct=True), cases=Count("pk"))
    )
    return _outputs_chart({kind: (outputs, cases) for kind, outputs, cases in qs})


def _outputs_chart(counts: dict[str, tuple[int, int]]) -> Chart:
    rows = [[str(name), *counts[value]] for value, name in OutputType.choices if value in counts]
    return Chart("outputs", _("转化成果（按类型）"), "bar", _("成果类型"), [_("成果数"), _("涉及案件数")], rows)


CASE_CHARTS: dict[str, Callable[[int, Filters], Chart]] = {
    "status": chart_status,
    "sector": chart_sector,
    "category": chart_category,
    "township": chart_township,
    "outputs": chart_outputs,
    "decision": chart_decision,
    "reply": chart_reply,
    "satisfaction": chart_satisfaction,
    "trend": chart_trend,
}
CLOCK_CHARTS: dict[str, Callable[[User, Filters], Chart]] = {
    "clocks_stage": chart_clocks_stage,
    "clocks_committee": chart_clocks_committee,
}
# The page's order.
CHART_KEYS = (
    "trend",
    "status",
    "sector",
    "category",
    "township",
    "clocks_stage",
    "clocks_committee",
    "outputs",
    "decision",
    "reply",
    "satisfaction",
)


# What each chart is drawn from: "cases" (the one scan's grouping sets), "closed" (cases closed
# per month), "outputs", "clocks" (the SLA verdicts).
_PARTS: dict[str, frozenset[str]] = {
    **{key: frozenset({"cases"}) for key in ("status", "sector", "category", "township", "decision", "reply")},
    "satisfaction": frozenset({"cases"}),
    "trend": frozenset({"cases", "closed"}),
    "outputs": frozenset({"outputs"}),
    "clocks_stage": frozenset({"clocks"}),
    "clocks_committee": frozenset({"clocks"}),
}


@dataclass
class Counts:
    """What the charts are drawn from, added up over the pieces of a range (the roll-up's whole
    months and the live partial months): every figure is a sum over months except the number of
    outputs, an output's cases possibly falling in several months, so the outputs are kept by id
    (`output_ids`) or, for the roll-up, as a distinct count with its ids checked against the live
    pieces' (`_add_rolled_outputs`)."""

    cases: dict[str, dict[Any, int]] = field(default_factory=lambda: {key: {} for key, _expr in _SETS})
    closed: dict[str, int] = field(default_factory=dict)
    # Output type -> output id -> cases, from the live pieces.
    output_ids: dict[str, dict[int, int]] = field(default_factory=dict)
    # Output type -> [outputs, cases] from the roll-up, not counting outputs the live pieces hold.
    outputs_rolled: dict[str, list[int]] = field(default_factory=dict)
    # (committee id, stage) -> [met, late].
    clocks: dict[tuple[int, str], list[int]] = field(default_factory=dict)

    def add_cases(self, key: str, value: Any, n: int) -> None:
        table = self.cases[key]
        table[value] = table.get(value, 0) + n

    def add_clock(self, committee: int, stage: str, met: int, late: int) -> None:
        pair = self.clocks.setdefault((committee, stage), [0, 0])
        pair[0] += met
        pair[1] += late


@dataclass
class Reading:
    """The charts asked for, and how they were read: "rollup" when whole months came from the
    roll-up (`refreshed_at` says when it was made, `months` which months it gave), "live" when
    every case was read."""

    charts: list[Chart]
    path: str
    refreshed_at: datetime | None = None
    months: tuple[date, date] | None = None  # [first month, end month) from the roll-up


def chart(user: User, key: str, filters: Filters) -> Chart:
    """One chart, for its export: read the way the page reads it, so the two agree."""
    if key not in _PARTS:
        check_reader(user)
        raise NotFound(_("没有这个图表。"), code="chart_not_found")
    return read(user, filters, keys=(key,)).charts[0]


def dashboard(user: User, filters: Filters) -> list[Chart]:
    """Every chart of the page, in its order."""
    return read(user, filters).charts


def read(user: User, filters: Filters, *, keys: tuple[str, ...] = CHART_KEYS, use_rollup: bool = True) -> Reading:
    """The charts `keys` for the range: the whole months the roll-up holds from it, the rest
    (the partial months at the range's ends, the months since the last refresh, at least the
    current one) from the cases; or all of it from the cases when there is no roll-up yet (a
    fresh install) or `use_rollup` is off. Either way the same figures (a test holds them equal),
    except that a case whose status, decision, reply or satisfaction changed since the last
    refresh is still counted as it was in a month the roll-up gave (README: the staleness bound)."""
    org = check_reader(user)
    parts: set[str] = set().union(*(_PARTS[key] for key in keys))
    use_rollup = use_rollup and settings.MINQING_DASHBOARD_ROLLUP_SECONDS > 0
    state = _rollup_state(org) if use_rollup else None
    split = _split(filters, state.cutoff) if state is not None else None
    counts = Counts()
    if split is None:
        _add_live(counts, user, org, filters, parts)
    else:
        for since, until in split.live:
            _add_live(counts, user, org, replace(filters, since=since, until=until), parts)
        _add_rolled(counts, org, filters.sector_id, split.months, split.covered, parts)
    charts = _assemble(org, filters, counts, parts)
    return Reading(
        [charts[key] for key in keys],
        "live" if split is None else "rollup",
        state.refreshed_at if state is not None and split is not None else None,
        split.months if split is not None else None,
    )


def _rollup_state(org: int) -> DashboardRollup | None:
    return DashboardRollup.objects.filter(organisation_id=org).first()


def _month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass(frozen=True)
class _Split:
    months: tuple[date, date]  # the roll-up's months [first, end), as first-of-month days
    live: list[tuple[datetime, datetime]]  # the rest, [since, until) instants read from the cases
    covered: tuple[datetime, datetime]  # the instants the roll-up's months hold, [first, cutoff or end)


def _split(filters: Filters, cutoff: datetime) -> _Split | None:
    """Which part of the range the roll-up gives and which the cases. The roll-up holds every
    record before `cutoff` (its last refresh, less a settling minute) by Beijing month: the whole
    months before the cutoff's month, and that month up to the cutoff. A month of the range comes
    from it when the range covers it whole, or, for the cutoff's month, when the range starts by
    its first day and runs past the cutoff (nothing is submitted in the future, so a range ending
    today covers all of the current month there is); the rest is read live: the partial month at
    the range's start, and from the cutoff (or the partial last month) to the range's end. None
    when no month qualifies (a range within a month, or all of it after the cutoff)."""
    zone = get_current_timezone()

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone)

    start, end = _bounds(filters)
    cut_month = _month_start(cutoff.astimezone(zone).date())
    first = filters.first if filters.first.day == 1 else _next_month(filters.first)
    after_last = filters.last + timedelta(days=1)
    if end >= cutoff:
        last_end, tail = _next_month(cut_month), cutoff
    else:
        last_end = min(after_last if after_last.day == 1 else _month_start(filters.last), cut_month)
        tail = midnight(last_end)
    if first >= last_end:
        return None
    live = [(start, midnight(first))] if start < midnight(first) else []
    if tail < end:
        live.append((tail, end))
    return _Split((first, last_end), live, (midnight(first), min(midnight(last_end), cutoff)))


def _add_live(counts: Counts, user: User, org: int, filters: Filters, parts: set[str]) -> None:
    """Add the figures of a range read from the cases (and the clocks)."""
    if "cases" in parts:
        if connection.vendor == "postgresql":
            found = _one_scan(org, filters)
        else:
            found = _each_column(org, filters)
        for key, table in found.items():
            for value, n in table.items():
                counts.add_cases(key, value, n)
    if "closed" in parts:
        for month, n in _closed_by_month(org, filters).items():
            counts.closed[month] = counts.closed.get(month, 0) + n
    if "outputs" in parts:
        qs = (
            _cases(org, filters)
            .filter(output__isnull=False)
            .order_by()
            .values_list("output__output_type", "output_id")
            .annotate(n=Count("pk"))
        )
        for kind, output, n in qs:
            ids = counts.output_ids.setdefault(kind, {})
            ids[output] = ids.get(output, 0) + n
    if "clocks" in parts:
        if filters.since is None and filters.until is None:
            for row in _clocks(user, filters)["rows"]:
                counts.add_clock(row["committee"]["id"], row["stage"], row["met"], row["late"])
        else:
            for committee, stage, met, late in _clock_verdicts(org, filters):
                counts.add_clock(committee, stage, met, late)


def _clock_verdicts(org: int, filters: Filters) -> QuerySet[CaseClock, tuple[int, str, int, int]]:
    """The SLA report's verdicts (`selectors.sla_report`, which takes whole days) for a piece of
    the range given as instants: met and late per committee and stage of the clocks that stopped
    within it. Committees of other organisations are dropped when the charts are drawn, as the
    report leaves them out."""
    start, end = _bounds(filters)
    clocks = CaseClock.objects.filter(
        organisation_id=org, state=ClockState.STOPPED, is_met__isnull=False, stopped_at__gte=start, stopped_at__lt=end
    )
    if filters.sector_id is not None:
        clocks = clocks.filter(case__member__sector_id=filters.sector_id)
    return (
        clocks.order_by()
        .values_list("case__committee_id", "stage")
        .annotate(met=Count("pk", filter=Q(is_met=True)), late=Count("pk", filter=Q(is_met=False)))
    )


def _each_column(org: int, filters: Filters) -> dict[str, dict[Any, int]]:
    """The one scan's tables by one GROUP BY each (SQLite, which has no GROUPING SETS)."""
    qs = _cases(org, filters)
    month = TruncMonth("submitted_at", tzinfo=get_current_timezone())
    return {
        "status": _counted(qs, "status"),
        "sector": _counted(qs, "member__sector_id"),
        "category": _counted(qs, "category_id"),
        "township": _counted(qs, "township_id"),
        "decision": _counted(qs, "decision"),
        "reply": _counted(qs, "feedback_method"),
        "satisfaction": _counted(qs, "satisfaction"),
        "trend": _month_keys(_counted(qs.annotate(month=month), "month")),
    }


# The roll-up's dimensions that hold one case column each, and the one scan's key they fill.
ROLLUP_COLUMNS = {
    "status": "status",
    "category": "category_id",
    "township": "township_id",
    "decision": "decision",
    "reply": "feedback_method",
    "satisfaction": "satisfaction",
}
_ID_COLUMNS = {"category", "township"}  # held as text in the roll-up; ids on the charts


def _add_rolled(
    counts: Counts,
    org: int,
    sector_id: int | None,
    months: tuple[date, date],
    covered: tuple[datetime, datetime],
    parts: set[str],
) -> None:
    """Add the roll-up's whole months [first, end): three small GROUP BYs over its rows of the
    organisation and range (the `dashboard_month_org` index), none over the cases."""
    rows = DashboardMonth.objects.filter(organisation_id=org, month__gte=months[0], month__lt=months[1])
    if sector_id is not None:
        rows = rows.filter(sector=sector_id)
    wanted: list[str] = []
    if "cases" in parts:
        wanted += list(ROLLUP_COLUMNS)
    if "clocks" in parts:
        wanted += ["clock_met", "clock_late"]
    if wanted:
        summed = rows.filter(dimension__in=wanted).order_by().values_list("dimension", "value").annotate(n=Sum("n"))
        for dimension, value, n in summed:
            if dimension in ROLLUP_COLUMNS:
                counts.add_cases(dimension, int(value) if value is not None and dimension in _ID_COLUMNS else value, n)
            else:
                committee, stage = value.split(":", 1)
                met = dimension == "clock_met"
                counts.add_clock(int(committee), stage, n if met else 0, 0 if met else n)
    by_month = ["status"] if "cases" in parts else []
    if "closed" in parts:
        by_month.append("closed")
    if by_month:
        # Every case has one status: the status rows by month and sector are the cases filed
        # per month (the trend) and per sector.
        summed = (
            rows.filter(dimension__in=by_month)
            .order_by()
            .values_list("dimension", "month", "sector")
            .annotate(n=Sum("n"))
        )
        for dimension, month, sector, n in summed:
            key = f"{month.year:04d}-{month.month:02d}"
            if dimension == "closed":
                counts.closed[key] = counts.closed.get(key, 0) + n
            else:
                counts.add_cases("trend", key, n)
                counts.add_cases("sector", sector, n)
    if "outputs" in parts:
        _add_rolled_outputs(counts, org, sector_id, rows, months, covered)


def _add_rolled_outputs(
    counts: Counts,
    org: int,
    sector_id: int | None,
    rows: QuerySet[DashboardMonth],
    months: tuple[date, date],
    covered: tuple[datetime, datetime],
) -> None:
    """The roll-up's outputs, each counted once (`casework.services.dashboard_rollup` says how
    they are kept): the distinct outputs of each month added up, less, for an output with cases
    in k months of the range, its k - 1 extra counts (its consecutive pairs of months inside the
    range); and less the outputs the live pieces found
    too (an output with cases both in a live piece and in the roll-up's months: `covered`, the
    instants the roll-up's months of the range hold), looked up by id in the cases (few)."""
    suffix = "" if sector_id is None else "_s"
    kinds: dict[str, list[int]] = {}
    summed = (
        rows.filter(
            dimension__in=[f"{prefix}:{kind}" for prefix in ("output_cases", f"outputs{suffix}") for kind in OutputType]
        )
        .order_by()
        .values_list("dimension")
        .annotate(n=Sum("n"))
    )
    for dimension, n in summed:
        prefix, kind = dimension.split(":", 1)
        kinds.setdefault(kind, [0, 0])[0 if prefix.startswith("outputs") else 1] += n
    # Each pair of consecutive months of one output inside the range is one time the sum above
    # counted it again (the pair's first month is in the range by `rows`; its second must be).
    pairs = (
        rows.filter(
            dimension__in=[f"output_pair{suffix}:{kind}" for kind in OutputType], value__lt=months[1].isoformat()
        )
        .order_by()
        .values_list("dimension")
        .annotate(n=Sum("n"))
    )
    for dimension, n in pairs:
        kinds.setdefault(dimension.split(":", 1)[1], [0, 0])[0] -= n
    live = [output for ids in counts.output_ids.values() for output in ids]
    if live:
        cases = Case.objects.filter(
            organisation_id=org, output_id__in=live, submitted_at__gte=covered[0], submitted_at__lt=covered[1]
        )
        if sector_id is not None:
            cases = cases.filter(member__sector_id=sector_id)
        shared = set(cases.values_list("output_id", flat=True).distinct())
        for kind, ids in counts.output_ids.items():
            kinds.setdefault(kind, [0, 0])[0] -= sum(1 for output in ids if output in shared)
    for kind, (n_outputs, n_cases) in kinds.items():
        pair = counts.outputs_rolled.setdefault(kind, [0, 0])
        pair[0] += n_outputs
        pair[1] += n_cases


def _assemble(org: int, filters: Filters, counts: Counts, parts: set[str]) -> dict[str, Chart]:
    charts: dict[str, Chart] = {}
    if "cases" in parts:
        found = counts.cases
        names = {
            "sector": dict(Sector.objects.filter(organisation_id=org).values_list("pk", "name")),
            "category": dict(CaseCategory.objects.filter(organisation_id=org).values_list("pk", "name")),
            "township": dict(Township.objects.filter(organisation_id=org).values_list("pk", "name")),
        }
        charts.update(
            status=_status_chart(found["status"]),
            sector=_sector_chart(names["sector"], found["sector"]),
            category=_category_chart(names["category"], found["category"]),
            township=_township_chart(names["township"], found["township"]),
            decision=_decision_chart(found["decision"]),
            reply=_reply_chart(found["reply"]),
            satisfaction=_satisfaction_chart(found["satisfaction"]),
            trend=_trend_chart(filters, found["trend"], counts.closed),
        )
    if "outputs" in parts:
        totals = {kind: list(pair) for kind, pair in counts.outputs_rolled.items()}
        for kind, ids in counts.output_ids.items():
            pair = totals.setdefault(kind, [0, 0])
            pair[0] += len(ids)
            pair[1] += sum(ids.values())
        charts["outputs"] = _outputs_chart({kind: (o, c) for kind, (o, c) in totals.items() if c})
    if "clocks" in parts:
        committees = dict(Committee.objects.filter(organisation_id=org).values_list("pk", "name"))
        report = {
            "rows": [
                {
                    "committee": {"id": committee, "name": committees[committee]},
                    "stage": stage,
                    "met": met,
                    "late": late,
                }
                for (committee, stage), (met, late) in counts.clocks.items()
                if committee in committees
            ]
        }
        charts["clocks_stage"] = _clock_chart_from(report, "stage")
        charts["clocks_committee"] = _clock_chart_from(report, "committee")
    return charts


# The columns the one scan groups by, each its own grouping set: (chart, SQL expression).
_SETS: tuple[tuple[str, str], ...] = (
    ("status", "c.status"),
    ("sector", "m.sector_id"),
    ("category", "c.category_id"),
    ("township", "c.township_id"),
    ("decision", "c.decision"),
    ("reply", "c.feedback_method"),
    ("satisfaction", "c.satisfaction"),
    # The zone is written into the statement (checked to be a zone's name): PostgreSQL matches a
    # grouping expression to the selected one by its text, and a parameter would differ.
    ("trend", "to_char(c.submitted_at AT TIME ZONE '{zone}', 'YYYY-MM')"),
)


def _one_scan(org: int, filters: Filters) -> dict[str, dict[Any, int]]:
    """The counts of the cases' charts from one pass over the range (GROUPING SETS, PostgreSQL):
    each chart a grouping set of the same scan, told apart by GROUPING(). Scanning the range
    once instead of once per chart is most of a live read's time. Outputs (a join to a small
    subset) and the cases closed per month (another range) keep their own queries."""
    start, end = _bounds(filters)
    zone = str(get_current_timezone())
    if not re.fullmatch(r"[A-Za-z0-9_/+-]+", zone):
        raise ValueError(f"not a time zone's name: {zone!r}")
    exprs = [expr.format(zone=zone) for _key, expr in _SETS]
    columns = ", ".join(exprs)
    sets = ", ".join(f"({expr})" for expr in exprs)
    sector = "AND m.sector_id = %(sector)s" if filters.sector_id is not None else ""
    sql = f"""
        SELECT {columns}, GROUPING({columns}) AS g, COUNT(*)
        FROM {Case._meta.db_table} c JOIN {Member._meta.db_table} m ON m.id = c.member_id
        WHERE c.organisation_id = %(org)s AND c.submitted_at >= %(start)s AND c.submitted_at < %(end)s {sector}
        GROUP BY GROUPING SETS ({sets})
    """
    params: dict[str, Any] = {"org": org, "start": start, "end": end, "sector": filters.sector_id}
    counts: dict[str, dict[Any, int]] = {key: {} for key, _expr in _SETS}
    full = (1 << len(_SETS)) - 1
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            grouping, n = row[-2], row[-1]
            for i, (key, _expr) in enumerate(_SETS):
                if grouping == full ^ (1 << (len(_SETS) - 1 - i)):
                    counts[key][row[i]] = n
    return counts


def _clock_chart_from(report: dict[str, Any], by: str) -> Chart:
    totals: dict[str, list[int]] = {}
    for row in report["rows"]:
        name = row["stage"] if by == "stage" else row["committee"]["name"]
        pair = totals.setdefault(name, [0, 0])
        pair[0] += row["met"]
        pair[1] += row["late"]
    if by == "stage":
        rows = [[str(label), *totals[value]] for value, label in Stage.choices if sum(totals.get(value, [0]))]
        return Chart(
            "clocks_stage", _("各环节按时与超时（按办结日期）"), "stack", _("环节"), [_("按时"), _("超时")], rows
        )
    rows = [[name, met, late] for name, (met, late) in sorted(totals.items()) if met + late]
    return Chart(
        "clocks_committee", _("各委办按时与超时（按办结日期）"), "stack", _("委办"), [_("按时"), _("超时")], rows
    )
