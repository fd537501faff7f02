"""Reports leadership and committees read."""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casework import selectors
from casework.errors import InvalidInput
from workflows.inputs import MAX_ID

from . import serializers as s

DATE = {"type": "string", "format": "date", "maxLength": 10}

# The longest range one report reads: ten years of terms, well past any question asked of it.
MAX_REPORT_DAYS = 3660


def _day(request: Request, name: str, default: date) -> date:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            _("「%(f)s」应为日期，如 2026-01-31。") % {"f": name}, code="invalid_date", details={"field": name}
        ) from None


def _committee(request: Request) -> int | None:
    raw = request.query_params.get("committee")
    if raw in (None, ""):
        return None
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise InvalidInput(_("委办编号无效。"), code="invalid_committee", details={"field": "committee"})
    return int(raw)


class SlaReportView(APIView):
    one_role_only = True  # committee staff, heads, the proposal office and leadership; others 403

    @extend_schema(
        operation_id="reports_sla",
        summary="时限达标情况（按委办和环节）",
        description=_(
            "期间内（按北京时间的日期，含首尾两日）结束并有结论的时限中按时完成的比例，以及现在计时中、"
            "即将超期和已超期的数量。主席会议成员和提案委员会看本组织全部委办，委办工作人员和主任看本委办。"
        ),
        parameters=[
            OpenApiParameter("from", DATE, description=_("起始日期，默认当年 1 月 1 日")),
            OpenApiParameter("to", DATE, description=_("截止日期（含），默认今天")),
            OpenApiParameter(
                "committee", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, description=_("只看一个委办")
            ),
        ],
        responses=s.SlaReportOut,
    )
    def get(self, request: Request) -> Response:
        today = timezone.localdate()
        first = _day(request, "from", today.replace(month=1, day=1))
        last = _day(request, "to", today)
        if first > last:
            raise InvalidInput(_("起始日期晚于截止日期。"), code="invalid_range", details={"field": "from"})
        if (last - first).days > MAX_REPORT_DAYS:
            raise InvalidInput(
                _("一次最多查询 %(n)d 天。") % {"n": MAX_REPORT_DAYS}, code="range_too_long", details={"field": "to"}
            )
        report = selectors.sla_report(request.user, first=first, last=last, committee_id=_committee(request))  # type: ignore[arg-type]
        return Response(s.SlaReportOut(report).data)
