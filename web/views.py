"""Server-rendered pages (Chinese first). Thin: they read through the selectors, act through the
same workflow actions as the API, and draw each transition a user may do from its declaration
(its form, its words, its button), so the page offers exactly what the API offers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework import access, reports, selectors
from casework.choices import SLA_FILTERS, WAITING_ON_MEMBER, AuditAction, CaseStatus, Role, Stage
from casework.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from casework.models import Case, User
from casework.pii import mask_phone
from config.http import attachment, client_ip
from workflows import actions, audit_trail, notifications, output_actions, personal_data
from workflows.case_lifecycle import CASE, Intake
from workflows.declare import Transition
from workflows.inputs import FieldError, Ref, clean_search

from . import exports
from .forms import DashboardFilterForm, NotificationSettingsForm, add_domain_error, form_for, initial_of, posted

# The queue page shows this many of the most urgent; claim-next takes from the top.
QUEUE_PAGE_ROWS = 100


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# The home page's case list shows this many a page; "older" pages on by id (a keyset cursor).
HOME_PAGE_ROWS = 50


def _home_filters(request: HttpRequest) -> tuple[dict[str, str], str | None]:
    """The home list's filters from the query string, each kept only if it is a value the list
    knows: an unknown status or time limit is ignored (the list shows unfiltered), and a search
    text is checked as every typed text is; a refused one searches nothing and says why."""
    filters: dict[str, str] = {}
    status = request.GET.get("status", "")
    if status in CaseStatus.values:
        filters["status"] = status
    sla = request.GET.get("sla", "")
    if sla in SLA_FILTERS:
        filters["sla"] = sla
    search_error = None
    try:
        query = clean_search(request.GET.get("q", ""))
    except FieldError as error:
        query, search_error = "", error.message
    if query:
        filters["q"] = query
    return filters, search_error


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What waits on a member first (never filtered), then the cases the user may see, newest
    first, fifty a page, filtered by status, time limit and text."""
    user = _user(request)
    member_id = access.member_id_of(user)
    queues = selectors.queues_for(user)
    is_leader = Role.LEADERSHIP in access.roles_of(user)
    filters, search_error = _home_filters(request)
    cases = selectors.case_list(
        user,
        status=filters.get("status"),
        sla=filters.get("sla"),
        q=filters.get("q", ""),
        before_id=_before(request),
        limit=HOME_PAGE_ROWS,
    )
    mine = [c for c in cases if c.member_id == member_id] if member_id is not None else []
    if "status" not in filters:
        # Unless asked for by status, what waits on the member is shown once, in its own section.
        mine = [c for c in mine if c.status not in WAITING_ON_MEMBER]
    return render(
        request,
        "home.html",
        {
            "is_member": member_id is not None,
            "is_staff_member": bool(queues),
            "is_leader": is_leader,
            "is_office": Role.PROPOSAL_OFFICE in access.roles_of(user),
            "is_liaison": access.is_liaison(user),
            "signatures_waiting": selectors.my_signatures_waiting(user, limit=HOME_PAGE_ROWS),
            "waiting": selectors.waiting_on_member(user, limit=HOME_PAGE_ROWS),
            "my_cases": mine,
            "other_cases": [c for c in cases if c.member_id != member_id],
            "queues": queues,
            "my_tasks": selectors.my_tasks(user, limit=50) if queues else [],
            "now": timezone.now(),
            "filters": filters,
            "filtered": bool(filters) or "before" in request.GET,
            "search_error": search_error,
            "statuses": CaseStatus.choices,
            "older": urlencode({**filters, "before": cases[-1].pk}) if len(cases) == HOME_PAGE_ROWS else None,
        },
    )


def _case_or_404(user: User, case_id: int) -> Case:
    try:
        return selectors.case_detail(user, case_id)
    except NotFound:
        raise Http404 from None


def _panel(
    request: HttpRequest, user: User, case: Case, transitions: list[Transition], failed: tuple[str, Any] | None
) -> list[dict[str, Any]]:
    """A form per transition the user may do now; the one that just failed keeps what was typed
    and shows why."""
    panel = []
    first_primary = next((t for t in transitions if t.tone == "primary" and t.input.fields), None)
    for t in transitions:
        typed = request.GET.get(f"{t.name}-q", "")
        # The search text is checked as the API's `q` is; a refused one searches nothing and says why.
        query, search_error = typed, None
        try:
            query = clean_search(typed)
        except FieldError as error:
            query, search_error = "", error.message
        if failed is not None and failed[0] == t.name:
            form = failed[1]
        else:
            form = form_for(
                t.input,
                user=user,
                case=case,
                prefix=t.name,
                initial=initial_of(t.input, case),
                query=query,
                may_set=lambda field: actions.may_set(user, case, field),
            )
        searches = [f.name for f in t.input.fields if isinstance(f, Ref) and f.searchable]
        panel.append(
            {
                "transition": t,
                "form": form,
                "search": searches[0] if searches else None,
                "query": typed,
                "search_error": search_error,
                # Open: the one that just failed or was searched in, else the first main step.
                "open": failed[0] == t.name if failed is not None else t is first_primary or search_error is not None,
            }
        )
    return panel


def _render_case(request: HttpRequest, case: Case, failed: tuple[str, Any] | None = None) -> HttpResponse:
    user = _user(request)
    task = actions.open_task(case)
    transitions = actions.available(user, case, task)
    held_by = None
    if task is not None and task.owner_id not in (None, user.pk) and access.is_case_staff(user, case):
        held_by = User.objects.filter(pk=task.owner_id).first()
    events = selectors.case_events(user, case.pk, limit=500)
    return render(
        request,
        "case.html",
        {
            "case": case,
            "task": task,
            "events": events,
            "clocks": selectors.case_clocks(case),
            "now": timezone.now(),
            "show_contact_names": access.may_see_contact_names(user, case),
            "contact_rows": [
                {"contact": c, "phone": mask_phone(c.phone), "may_reveal": access.may_reveal_contact(user, c)}
                for c in case.contacts.all()
            ],
            "panel": _panel(request, user, case, transitions, failed),
            "held_by": held_by,
        },
    )


@login_required
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    return _render_case(request, _case_or_404(_user(request), case_id))


@require_POST
@login_required
def case_transition(request: HttpRequest, case_id: int, name: str) -> HttpResponse:
    user = _user(request)
    try:
        t = CASE[name]
    except NotFound:
        raise Http404 from None
    if not t.is_public:
        raise Http404
    case = _case_or_404(user, case_id)
    form = form_for(
        t.input,
        user=user,
        case=case,
        data=request.POST,
        prefix=t.name,
        initial=initial_of(t.input, case),
        may_set=lambda field: actions.may_set(user, case, field),
    )
    try:
        done = actions.perform(
            t.name, case_id=case.pk, actor=user, data=posted(t.input, form), source_ip=client_ip(request)
        )
    except NotFound as error:
        if error.code == "case_not_found":
            raise Http404 from None
        add_domain_error(form, error)
    except InvalidInput as error:
        add_domain_error(form, error)
    except DomainError as error:
        # Not the user's to do now (someone claimed it first, the status moved on): say so above
        # the case as it now stands.
        messages.error(request, str(error.message))
        return redirect("case-page", case_id=case.pk)
    else:
        messages.success(request, str(t.done))
        if access.visible_cases(user).filter(pk=done.pk).exists():
            return redirect("case-page", case_id=case.pk)
        return redirect("home")  # the transition took the case out of the user's sight (a transfer)
    return _render_case(request, _case_or_404(user, case_id), failed=(t.name, form))


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    member = getattr(user, "member", None)
    if member is None or member.organisation_id != user.organisation_id:
        return render(request, "case_new.html", {"form": None}, status=403)
    spec = Intake.input
    hidden = ("committee", "submit")  # chosen by the category; the page files straight away
    form = form_for(spec, user=user, data=request.POST if request.method == "POST" else None)
    for name in hidden:
        form.fields.pop(name)
    if request.method == "POST":
        try:
            case = actions.file_case(
                actor=user, data=posted(spec, form) | {"submit": True}, source_ip=client_ip(request)
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, Intake.done)
            return redirect("case-page", case_id=case.pk)
    return render(request, "case_new.html", {"form": form})


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@login_required
def output_docx(request: HttpRequest, output_id: int) -> HttpResponse:
    """The output as a Word document to download, audited; 404 for anyone who may not see it."""
    try:
        name, content = output_actions.export_docx(
            output_id=output_id, actor=_user(request), source_ip=client_ip(request)
        )
    except NotFound:
        raise Http404 from None
    return attachment(content, name, DOCX)


@require_POST
@login_required
def queue_claim_next(request: HttpRequest, committee_id: int) -> HttpResponse:
    try:
        claimed = actions.claim_next(committee_id=committee_id, actor=_user(request), source_ip=client_ip(request))
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect("home")
    if claimed is None:
        messages.info(request, _("队列中暂无待认领的案件。"))
        return redirect("home")
    messages.success(request, _("已认领队列中最紧急的案件。"))
    return redirect("case-page", case_id=claimed.case_id)


@login_required
def queue_page(request: HttpRequest, committee_id: int) -> HttpResponse:
    """A committee's unclaimed tasks, most urgent first, each clock in plain words; filtered to
    the nearly due or the overdue."""
    user = _user(request)
    sla = request.GET.get("sla") or None
    if sla not in (None, *SLA_FILTERS):
        sla = None  # an unknown filter shows the whole queue rather than an error page
    queue = next((q for q in selectors.queues_for(user) if q["id"] == committee_id), None)
    if queue is None:
        raise Http404
    try:
        tasks = selectors.queue_clocks(user, committee_id, sla=sla, limit=QUEUE_PAGE_ROWS)
    except NotFound:
        raise Http404 from None
    return render(
        request,
        "queue.html",
        {"queue": queue, "tasks": tasks, "sla": sla, "limit": QUEUE_PAGE_ROWS, "full": len(tasks) == QUEUE_PAGE_ROWS},
    )


# Notifications and the profile ----------------------------------------------------------------

NOTIFICATIONS_PER_PAGE = 30


def _before(request: HttpRequest) -> int | None:
    raw = request.GET.get("before", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


@login_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first, thirty a page ("earlier" pages on by id)."""
    user = _user(request)
    unread_only = request.GET.get("unread") == "1"
    rows = selectors.notifications(
        user, unread_only=unread_only, before_id=_before(request), limit=NOTIFICATIONS_PER_PAGE
    )
    return render(
        request,
        "notifications.html",
        {
            "rows": rows,
            "unread_only": unread_only,
            "unread": selectors.unread_count(user),
            "earlier": rows[-1].pk if len(rows) == NOTIFICATIONS_PER_PAGE else None,
        },
    )


def _back(request: HttpRequest) -> HttpResponse:
    """Back where the form was posted from (this site only), else the notifications page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("notifications")


@require_POST
@login_required
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    try:
        notification = notifications.mark_read(_user(request), notification_id)
    except NotFound:
        raise Http404 from None
    if request.POST.get("open") and notification.case_id:
        return redirect("case-page", case_id=notification.case_id)
    return _back(request)


@require_POST
@login_required
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    marked = notifications.mark_all_read(_user(request))
    messages.success(request, _("已将 %(n)d 条通知标记为已读。") % {"n": marked})
    return _back(request)


@require_POST
@login_required
def contact_reveal(request: HttpRequest, contact_id: int) -> HttpResponse:
    """A constituent's clear contact details, shown once on a page of their own (never cached,
    as no page is) after the reveal has been audited; a POST, so a link or a prefetch never
    reveals anything."""
    try:
        revealed = personal_data.reveal_contact(_user(request), contact_id, source_ip=client_ip(request))
    except NotFound:
        raise Http404 from None
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = ""
    return render(request, "contact_reveal.html", {"contact": revealed, "back": back})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The user's own settings: the channels they are told by besides in-app."""
    user = _user(request)
    current = selectors.notification_settings(user)
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST)
        try:
            notifications.update_settings(user, form.values())
        except InvalidInput as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("通知设置已保存。"))
            return redirect("profile")
    else:
        form = NotificationSettingsForm(initial=current)
    return render(request, "profile.html", {"form": form, "settings": current})


# The leadership dashboard ---------------------------------------------------------------------


def _dashboard_filters(request: HttpRequest, user: User) -> tuple[DashboardFilterForm, reports.Filters, bool]:
    """The filter the page or export was asked for. Leadership only: anyone else gets the page
    that does not exist. A bad filter is reported on the form and the default range is shown."""
    try:
        sectors = reports.sectors(user)
    except (PermissionDenied, NotFound):
        raise Http404 from None
    form = DashboardFilterForm(request.GET or None, sectors=sectors)
    if request.GET and form.is_valid():
        data = form.cleaned_data
        try:
            sector = int(data["sector"]) if data.get("sector") else None
            return form, reports.filters_for(user, first=data["first"], last=data["last"], sector_id=sector), True
        except DomainError as error:
            form.add_error(None, str(error.message))
    return form, reports.filters_for(user, first=None, last=None, sector_id=None), not request.GET


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Every chart of the leader's organisation, each with its table (the chart's text
    equivalent) and its download; the data the charts draw travels as JSON the page's script
    reads, never as inline script."""
    user = _user(request)
    form, filters, _valid = _dashboard_filters(request, user)
    if not form.is_bound:
        form.initial = {"first": filters.first, "last": filters.last}
    reading = reports.read(user, filters)
    charts = [c.as_dict() for c in reading.charts]
    query = urlencode(
        {
            "first": filters.first.isoformat(),
            "last": filters.last.isoformat(),
            **({"sector": str(filters.sector_id)} if filters.sector_id is not None else {}),
        }
    )
    return render(
        request,
        "dashboard.html",
        {
            "form": form,
            "filters": filters,
            "charts": charts,
            "query": query,
            "reading": reading,
            "refreshed": _refreshed_label(reading.refreshed_at),
        },
    )


def _refreshed_label(at: datetime | None) -> str:
    """When the roll-up's whole months were counted, in Beijing time: the time alone if today,
    else with its date (a roll-up that stopped being refreshed must not pass for today's)."""
    if at is None:
        return ""
    local = timezone.localtime(at)
    return f"{local:%H:%M}" if local.date() == timezone.localdate() else f"{local:%Y-%m-%d %H:%M}"


@login_required
def dashboard_export(request: HttpRequest, chart: str) -> HttpResponse:
    """One chart's table as a spreadsheet, with the same filter as the page it was taken from;
    a bad filter is refused (400) rather than exported as something else."""
    user = _user(request)
    form, filters, valid = _dashboard_filters(request, user)
    if request.GET and not valid:
        errors = "；".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    if chart == "sla":
        title, headers, rows = _sla_table(user, filters)
    else:
        try:
            table = reports.chart(user, chart, filters)
        except NotFound:
            raise Http404 from None
        title, headers, rows = table.title, [table.label, *table.series], table.rows
    content = exports.workbook(title, filters.describe(), headers, rows)
    name = f"{title}-{filters.first.isoformat()}-{filters.last.isoformat()}.xlsx"
    return exports.xlsx_response(name, content)


def _sla_table(user: User, filters: reports.Filters) -> tuple[str, list[str], list[list[Any]]]:
    """The whole SLA report as a table: per committee and stage, the verdicts of the clocks that
    stopped in the range and the clocks running now (which the charts leave out)."""
    report = selectors.sla_report(user, first=filters.first, last=filters.last, sector_id=filters.sector_id)
    headers = [_("委办"), _("环节"), _("按时"), _("超时"), _("按时率"), _("计时中"), _("临近到期"), _("已超期")]
    rows: list[list[Any]] = [
        [
            r["committee"]["name"],
            str(Stage(r["stage"]).label),
            r["met"],
            r["late"],
            r["compliance"],
            r["open"],
            r["warning"],
            r["overdue"],
        ]
        for r in report["rows"]
    ]
    return _("时限报表"), headers, rows


# The audit trail for its auditor --------------------------------------------------------------


AUDIT_PER_PAGE = 50


def _audit_filters(request: HttpRequest, user: User) -> selectors.AuditFilters:
    """Auditors only: anyone else gets the page that does not exist, as for the dashboard."""
    try:
        selectors.auditor_only(user)
    except PermissionDenied:
        raise Http404 from None
    return selectors.audit_filters(request.GET)


@login_required
def audit_page(request: HttpRequest) -> HttpResponse:
    """The organisation's audit events, newest first, with the API's filters and an "older" link
    (keyset: `before` is the id of the last event shown). A bad filter is reported, not widened."""
    user = _user(request)
    error = None
    rows: list[dict[str, Any]] = []
    filters = selectors.AuditFilters()
    try:
        filters = _audit_filters(request, user)
        raw_before = request.GET.get("before", "")
        if raw_before and (not raw_before.isascii() or not raw_before.isdigit() or len(raw_before) > 18):
            raise InvalidInput(_("翻页参数无效。"), code="invalid_cursor", details={"field": "before"})
        rows = selectors.audit_events(
            user, filters, before_id=int(raw_before) if raw_before else None, limit=AUDIT_PER_PAGE
        )
    except InvalidInput as bad:
        error = str(bad.message)
    for r in rows:
        r["changes_text"] = json.dumps(r["changes"], ensure_ascii=False, sort_keys=True)
    query = urlencode(filters.as_params())
    older = urlencode({**filters.as_params(), "before": rows[-1]["id"]}) if len(rows) == AUDIT_PER_PAGE else None
    context = {
        "rows": rows,
        "error": error,
        "values": {k: request.GET.get(k, "") for k in ("action", "actor", "from", "to", "stream", "success")},
        "actions": AuditAction.choices,
        "query": query,
        "older": older,
        "max_rows": selectors.AUDIT_EXPORT_MAX_ROWS,
    }
    return render(request, "audit.html", context, status=400 if error else 200)


@login_required
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered events as a spreadsheet (at most AUDIT_EXPORT_MAX_ROWS, newest first); the
    export is itself audited. A bad filter is refused (400) rather than exported as something else."""
    user = _user(request)
    try:
        filters = _audit_filters(request, user)
    except InvalidInput as bad:
        return HttpResponse(str(bad.message), status=400, content_type="text/plain; charset=utf-8")
    rows, truncated = audit_trail.export_events(user, filters, source_ip=client_ip(request))
    headers = [_("编号"), _("时间"), _("操作"), _("操作人"), _("操作人编号"), _("对象类型"), _("对象")]
    headers += [_("来源地址"), _("成功"), _("链"), _("序号"), _("变更")]
    table = [
        [
            r["id"],
            r["occurred_at"].strftime("%Y-%m-%d %H:%M:%S"),
            r["action_label"],
            r["actor"]["name"] if r["actor"] else "",
            r["actor"]["id"] if r["actor"] else "",
            r["target_type"],
            r["target_id"],
            r["source_ip"] or "",
            _("是") if r["success"] else _("否"),
            r["stream"],
            r["seq"],
            json.dumps(r["changes"], ensure_ascii=False, sort_keys=True),
        ]
        for r in rows
    ]
    described = "，".join(f"{k}={v}" for k, v in filters.as_params().items()) or _("全部")
    if truncated:
        described += _("；仅含最新的 %(n)d 条") % {"n": selectors.AUDIT_EXPORT_MAX_ROWS}
    today = timezone.localdate().isoformat()
    return exports.xlsx_response(
        f"{_('审计记录')}-{today}.xlsx", exports.workbook(_("审计记录"), described, headers, table)
    )
