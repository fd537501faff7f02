"""The leadership dashboard's figures: one GROUP BY query per chart over the cases of the
leader's organisation submitted within a date range (Beijing days, both included), optionally
only those of members of one sector. Each chart comes back as a small table (a label column and
one or more count columns), which is what the page draws, what it shows as the chart's text
equivalent and what the spreadsheet export writes, so the three can never disagree.

The case queries read the `case_org_submitted` covering index (organisation, submitted_at,
with every grouped column included), so on PostgreSQL they are index-only scans of the range."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils.timezone import get_current_timezone, localdate
from django.utils.translation import gettext as _

from casework import access, selectors
from casework.choices import CaseStatus, Decision, FeedbackMethod, OutputType, Role, Satisfaction, Stage
from casework.errors import InvalidInput, NotFound, PermissionDenied
from casework.models import Case, CaseCategory, Sector, Township, User

# The longest range the dashboard reads at once: ten years of months is already a long trend.
MAX_RANGE_DAYS = 3700


@dataclass(frozen=True)
class Filters:
    first: date
    last: date
    sector_id: int | None = None
    sector_name: str = ""

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
    return start, end


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


def chart_status(org: int, filters: Filters) -> Chart:
    counts = _counted(_cases(org, filters), "status")
    return _by_choice("status", _("案件所处环节"), "bar", _("环节"), CaseStatus, counts)


def chart_sector(org: int, filters: Filters) -> Chart:
    counts = _counted(_cases(org, filters), "member__sector_id")
    names = dict(Sector.objects.filter(organisation_id=org).values_list("pk", "name"))
    return _by_name("sector", _("各界别反映案件"), _("界别"), names, counts)


def chart_category(org: int, filters: Filters) -> Chart:
    counts = _counted(_cases(org, filters), "category_id")
    names = dict(CaseCategory.objects.filter(organisation_id=org).values_list("pk", "name"))
    return _by_name("category", _("案件类别"), _("类别"), names, counts)


def chart_township(org: int, filters: Filters) -> Chart:
    counts = _counted(_cases(org, filters), "township_id")
    names = dict(Township.objects.filter(organisation_id=org).values_list("pk", "name"))
    return _by_name("township", _("各乡镇街道案件"), _("乡镇街道"), names, counts)


def _clocks(user: User, filters: Filters) -> dict[str, Any]:
    return selectors.sla_report(user, first=filters.first, last=filters.last, sector_id=filters.sector_id)


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
    counts = {kind: (outputs, cases) for kind, outputs, cases in qs}
    rows = [[str(name), *counts[value]] for value, name in OutputType.choices if value in counts]
    return Chart("outputs", _("转化成果（按类型）"), "bar", _("成果类型"), [_("成果数"), _("涉及案件数")], rows)


def chart_decision(org: int, filters: Filters) -> Chart:
    counts = _counted(_cases(org, filters), "decision")
    return _by_choice("decision", _("审核决定"), "pie", _("审核决定"), Decision, counts)


def chart_reply(org: int, filters: Filters) -> Chart:
    counts = _counted(_cases(org, filters), "feedback_method")
    return _by_choice("reply", _("反馈群众方式"), "pie", _("反馈方式"), FeedbackMethod, counts)


def chart_satisfaction(org: int, filters: Filters) -> Chart:
    counts = _counted(_cases(org, filters), "satisfaction")
    return _by_choice("satisfaction", _("群众满意度"), "pie", _("满意度"), Satisfaction, counts)


def chart_trend(org: int, filters: Filters) -> Chart:
    """Cases submitted and cases closed per month (Beijing months) within the range; a case
    closed in the range is counted in its month whenever it was submitted."""
    zone = get_current_timezone()
    start, end = _bounds(filters)
    filed = _counted(
        _cases(org, filters).annotate(month=TruncMonth("submitted_at", tzinfo=zone)),
        "month",
    )
    closed_qs = Case.objects.filter(organisation_id=org, closed_at__gte=start, closed_at__lt=end)
    if filters.sector_id is not None:
        closed_qs = closed_qs.filter(member__sector_id=filters.sector_id)
    closed = _counted(closed_qs.annotate(month=TruncMonth("closed_at", tzinfo=zone)), "month")
    months: list[str] = []
    cursor = date(filters.first.year, filters.first.month, 1)
    while cursor <= filters.last:
        months.append(f"{cursor.year:04d}-{cursor.month:02d}")
        cursor = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)

    def by_month(counts: dict[Any, int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for moment, n in counts.items():
            day = moment.astimezone(zone).date() if isinstance(moment, datetime) else moment
            key = f"{day.year:04d}-{day.month:02d}"
            out[key] = out.get(key, 0) + n
        return out

    f, c = by_month(filed), by_month(closed)
    rows = [[m, f.get(m, 0), c.get(m, 0)] for m in months]
    return Chart("trend", _("月度趋势"), "line", _("月份"), [_("提交"), _("办结")], rows)


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


def chart(user: User, key: str, filters: Filters) -> Chart:
    """One chart, for its export."""
    org = check_reader(user)
    if key in CASE_CHARTS:
        return CASE_CHARTS[key](org, filters)
    if key in CLOCK_CHARTS:
        return CLOCK_CHARTS[key](user, filters)
    raise NotFound(_("没有这个图表。"), code="chart_not_found")


def dashboard(user: User, filters: Filters) -> list[Chart]:
    """Every chart of the page; the SLA report is read once for both clock charts."""
    org = check_reader(user)
    clocks = _clocks(user, filters)
    charts: dict[str, Chart] = {key: fn(org, filters) for key, fn in CASE_CHARTS.items()}
    charts["clocks_stage"] = _clock_chart_from(clocks, "stage")
    charts["clocks_committee"] = _clock_chart_from(clocks, "committee")
    return [charts[key] for key in CHART_KEYS]


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
