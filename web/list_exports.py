"""Any list of the pages as a spreadsheet: the home page's case list (with its filters), the
proposal office's desk (each of its lists), a department's desk and the referrals. Each export
is the page's own list, read through the same selector with the same scope, so it holds exactly
what its viewer sees there, only longer: at most EXPORT_MAX_ROWS rows, and the title says so
when there were more.

The constituents are never in an export (they are personal data): the cases go out with their
titles, categories and places, not who raised them. Each export is audited, as the audit
trail's own export is, with which list, its filters and the row count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework import access, selectors
from casework.choices import CaseStatus, SlaState
from casework.errors import NotFound, PermissionDenied
from casework.models import User
from config.http import client_ip
from workflows import audit_trail

from . import exports
from .views import _home_filters

# An export is a working list, not an archive: past this many rows it is cut short and says so.
EXPORT_MAX_ROWS = 5000


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _when(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return timezone.localtime(moment).strftime(fmt) if moment else ""


def _capped(rows: list[Any]) -> tuple[list[Any], bool]:
    """Rows read with one to spare: the first EXPORT_MAX_ROWS, and whether there were more."""
    return rows[:EXPORT_MAX_ROWS], len(rows) > EXPORT_MAX_ROWS


def _respond(
    request: HttpRequest,
    *,
    name: str,
    title: str,
    described: str,
    filters: dict[str, str],
    read: Callable[[], list[Any]],
    headers: list[str],
    to_row: Callable[[Any], list[Any]],
) -> HttpResponse:
    """Read (audited), cap, and send the list as a workbook named after its title and the day."""
    rows, truncated = audit_trail.export_list(
        _user(request), name=name, filters=filters, read=lambda: _capped(read()), source_ip=client_ip(request)
    )
    subtitle = described or _("全部")
    if truncated:
        subtitle += _("；仅含前 %(n)d 条，请缩小筛选范围") % {"n": EXPORT_MAX_ROWS}
    today = timezone.localdate().isoformat()
    content = exports.workbook(title, subtitle, headers, [to_row(r) for r in rows])
    return exports.xlsx_response(f"{title}-{today}.xlsx", content)


# The home page's case list -----------------------------------------------------------------------

SLA_WORDS = {SlaState.WARNING: gettext_lazy("即将超期"), SlaState.BREACHED: gettext_lazy("已超期")}


@login_required
def cases_export(request: HttpRequest) -> HttpResponse:
    """The cases of the home page's list with its filters (status, time limit, text), newest
    first: a member's own, a committee's staff their committee's, a leader the organisation's, as
    `access.visible_cases` scopes them for the page. A refused search text is refused here too
    (400), rather than exported as the whole list."""
    user = _user(request)
    filters, search_error = _home_filters(request)
    if search_error:
        return HttpResponse(str(search_error), status=400, content_type="text/plain; charset=utf-8")

    def read() -> list[Any]:
        cases = selectors.case_list(
            user,
            status=filters.get("status"),
            sla=filters.get("sla"),
            q=filters.get("q", ""),
            limit=EXPORT_MAX_ROWS + 1,
        )
        return selectors.with_clocks(cases)

    described = "，".join(
        part
        for part in (
            _("状态：%(s)s") % {"s": CaseStatus(filters["status"]).label} if "status" in filters else "",
            _("时限：%(s)s") % {"s": SLA_WORDS[SlaState(filters["sla"])]} if "sla" in filters else "",
            _("查找：%(q)s") % {"q": filters["q"]} if "q" in filters else "",
        )
        if part
    )
    title = _("民情案件")
    headers = [_("案件编号"), _("标题"), _("状态"), _("当前环节时限"), _("期限至"), _("类别"), _("乡镇街道")]
    headers += [_("受理委办"), _("反映委员"), _("紧急程度"), _("提交时间")]

    def to_row(case: Any) -> list[Any]:
        clock = case.clock
        return [
            case.pk,
            case.title,
            case.get_status_display(),
            f"{clock.get_stage_display()}：{clock.words}" if clock else "",
            f"{clock.last_day:%Y-%m-%d} 24:00" if clock and clock.last_day else "",
            str(case.category),
            str(case.township or ""),
            str(case.committee),
            str(case.member),
            case.get_urgency_display(),
            _when(case.submitted_at),
        ]

    return _respond(
        request,
        name="cases",
        title=title,
        described=described,
        filters=filters,
        read=read,
        headers=headers,
        to_row=to_row,
    )


# The desks ---------------------------------------------------------------------------------------

OFFICE_LISTS = {
    "submitted": gettext_lazy("待审查的提案"),
    "filed": gettext_lazy("已立案待交办"),
    "objected": gettext_lazy("承办单位提出异议，待改办"),
    "extensions": gettext_lazy("待审批的延期申请"),
}


@login_required
def office_desk_export(request: HttpRequest, name: str) -> HttpResponse:
    """One list of the proposal office's desk, the oldest waiting first. The office's only."""
    user = _user(request)
    if name not in OFFICE_LISTS:
        raise Http404

    def read() -> list[Any]:
        return selectors.office_desk_list(user, name, limit=EXPORT_MAX_ROWS + 1)

    if name in ("submitted", "filed"):
        when = _("提交时间") if name == "submitted" else _("立案时间")
        headers = [_("提案编号"), _("标题"), _("状态"), _("委办"), _("重点提案"), when]

        def to_row(o: Any) -> list[Any]:
            moment = o.submitted_at if name == "submitted" else o.decided_at
            return [o.number, o.title, o.get_status_display(), str(o.committee or ""), _yes(o.is_key), _when(moment)]

    else:
        headers = [_("提案编号"), _("标题"), _("承办单位"), _("承办方式"), _("答复期限")]
        headers += [_("异议理由")] if name == "objected" else [_("申请延至")]

        def to_row(o: Any) -> list[Any]:  # an assignment
            last = o.objection if name == "objected" else (f"{o.extension_until:%Y-%m-%d}" if o.extension_until else "")
            return [o.output.number, o.output.title, str(o.department), o.get_role_display(), _when(o.due_at), last]

    try:  # a refused read rolls back its audit event with it
        return _respond(
            request,
            name=f"office-desk:{name}",
            title=str(OFFICE_LISTS[name]),
            described="",
            filters={},
            read=read,
            headers=headers,
            to_row=to_row,
        )
    except (PermissionDenied, NotFound):
        raise Http404 from None


def _yes(value: bool) -> str:
    return _("是") if value else _("否")


@login_required
def department_desk_export(request: HttpRequest) -> HttpResponse:
    """A liaison's desk: their department's assignments, the open ones first. A liaison's only."""
    user = _user(request)
    now = timezone.now()

    def read() -> list[Any]:
        return selectors.department_desk(user, limit=EXPORT_MAX_ROWS + 1)

    headers = [_("提案编号"), _("标题"), _("状态"), _("承办方式"), _("办理轮次"), _("答复期限"), _("是否超期")]
    headers += [_("延期申请"), _("答复类别")]

    def to_row(a: Any) -> list[Any]:
        overdue = bool(a.is_open and a.due_at and a.due_at < now)
        return [
            a.output.number,
            a.output.title,
            a.get_status_display(),
            a.get_role_display(),
            a.round,
            _when(a.due_at),
            _yes(overdue),
            a.get_extension_state_display() if a.extension_state else "",
            a.get_reply_class_display() if a.reply_class else "",
        ]

    try:
        return _respond(
            request,
            name="department-desk",
            title=_("%(name)s · 承办工作台") % {"name": user.department},
            described="",
            filters={},
            read=read,
            headers=headers,
            to_row=to_row,
        )
    except (PermissionDenied, NotFound):
        raise Http404 from None


@login_required
def referrals_export(request: HttpRequest) -> HttpResponse:
    """The info reports sent up to the user's organisation, waiting for its decision, newest
    first: for the staff who decide on them (anyone else: not found), as the page."""
    user = _user(request)
    if user.organisation_id is None or not access.may_decide_referrals(user):
        raise Http404

    def read() -> list[Any]:
        return selectors.referrals(user, limit=EXPORT_MAX_ROWS + 1)

    headers = [_("编号"), _("标题"), _("状态"), _("报送单位"), _("委办")]

    def to_row(o: Any) -> list[Any]:
        return [o.number, o.title, o.get_status_display(), str(o.organisation), str(o.committee or "")]

    return _respond(
        request,
        name="referrals",
        title=_("下级报送的社情民意信息"),
        described="",
        filters={},
        read=read,
        headers=headers,
        to_row=to_row,
    )
