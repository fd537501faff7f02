"""Server-rendered pages (Chinese first). Thin: they read through the selectors, act through the
same workflow actions as the API, and draw each transition a user may do from its declaration
(its form, its words, its button), so the page offers exactly what the API offers."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from casework import access, reports, selectors
from casework.choices import SLA_FILTERS, WAITING_ON_MEMBER, AuditAction, CaseStatus, Role, Stage, Urgency
from casework.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from casework.models import Case, User
from casework.pii import mask_phone
from config.http import attachment, client_ip
from workflows import actions, audit_trail, notifications, output_actions, personal_data
from workflows.case_lifecycle import CASE, Intake
from workflows.declare import Transition
from workflows.inputs import FieldError, Ref, clean_search

from . import exports, form_guards
from .admin_access import admin_roles_of
from .forms import (
    DashboardFilterForm,
    NotificationSettingsForm,
    PeriodForm,
    add_domain_error,
    form_for,
    initial_of,
    posted,
)

# The queue page shows this many a page, most urgent first; claim-next takes from the top.
QUEUE_PAGE_ROWS = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# The home page's case list shows this many a page; "older" pages on by id (a keyset cursor).
HOME_PAGE_ROWS = 50
HOME_TASKS_SHOWN = 10


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
    selectors.with_clocks(cases)  # each row says its stage's clock in words
    mine = [c for c in cases if c.member_id == member_id] if member_id is not None else []
    if "status" not in filters:
        # Unless asked for by status, what waits on the member is shown once, in its own section.
        mine = [c for c in mine if c.status not in WAITING_ON_MEMBER]
    waiting = selectors.waiting_on_member(user, limit=HOME_PAGE_ROWS)
    return render(
        request,
        "home.html",
        {
            "is_member": member_id is not None,
            "is_staff_member": bool(queues),
            "is_leader": is_leader,
            "is_office": Role.PROPOSAL_OFFICE in access.roles_of(user),
            "is_liaison": access.is_liaison(user),
            "admin_roles": admin_roles_of(user),
            "administers": user.is_superuser or bool(admin_roles_of(user)),
            "signatures_waiting": selectors.my_signatures_waiting(user, limit=HOME_PAGE_ROWS),
            # What the committee asked and constituents waiting to be told, then (after the
            # signatures) the member's own drafts: the order of what each holds up.
            "waiting": [c for c in waiting if c.status != CaseStatus.DRAFT],
            "drafts": [c for c in waiting if c.status == CaseStatus.DRAFT],
            "contacts": selectors.my_contacts_last_filed(user) if member_id is not None else [],
            "my_cases": mine,
            "other_cases": [c for c in cases if c.member_id != member_id],
            "queues": queues,
            "teams": selectors.headed_committees(user) if queues else [],
            # The card shows the most urgent few; the tasks page (my-tasks) has them all.
            "my_tasks": selectors.my_tasks(user, limit=HOME_TASKS_SHOWN) if queues else [],
            "my_tasks_shown": HOME_TASKS_SHOWN,
            "now": timezone.now(),
            "filters": filters,
            "filtered": bool(filters) or "before" in request.GET,
            "search_error": search_error,
            "statuses": CaseStatus.choices,
            "older": urlencode({**filters, "before": cases[-1].pk}) if len(cases) == HOME_PAGE_ROWS else None,
            "query": urlencode(filters),
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
    back = _safe_next(request)
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
            t.name,
            case_id=case.pk,
            actor=user,
            data=posted(t.input, form),
            source_ip=client_ip(request),
            check=form_guards.unchanged_since(request),
        )
    except NotFound as error:
        if error.code == "case_not_found":
            raise Http404 from None
        if back:
            return _back_with(request, back, error)
        add_domain_error(form, error)
    except InvalidInput as error:
        if back:
            return _back_with(request, back, error)
        add_domain_error(form, error)
    except DomainError as error:
        if back:
            return _back_with(request, back, error)
        # Not the user's to do now (someone claimed it first, the status moved on): say so above
        # the case as it now stands.
        messages.error(request, str(error.message))
        return redirect("case-page", case_id=case.pk)
    else:
        messages.success(request, str(t.done))
        if back:
            return redirect(back)
        if access.visible_cases(user).filter(pk=done.pk).exists():
            return redirect("case-page", case_id=case.pk)
        return redirect("home")  # the transition took the case out of the user's sight (a transfer)
    return _render_case(request, _case_or_404(user, case_id), failed=(t.name, form))


def _safe_next(request: HttpRequest) -> str:
    """Where a form posted from another page (the team page's reassign) returns to: a path of
    this site only, else nowhere (the case page, as usual)."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


def _back_with(request: HttpRequest, back: str, error: DomainError) -> HttpResponse:
    """A form posted from another page failed: say why there, nothing having changed."""
    messages.error(request, str(error.message))
    return redirect(back)


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
    once = form_guards.new_once()
    # Filed between meetings on a phone: the cursor starts in the title, and a concern filed from
    # a constituent's row on the home page has them ticked already.
    form.fields["title"].widget.attrs["autofocus"] = True
    if request.method != "POST":
        contact = request.GET.get("contact", "")
        if contact.isascii() and contact.isdigit() and len(contact) <= 18:
            form.initial["contacts"] = [int(contact)]  # only a roster's contact is a choice at all
        categories = form.fields["category"].choices  # type: ignore[attr-defined]
        if len(categories) == 2:  # "请选择" and the organisation's only category
            form.initial["category"] = categories[1][0]
    if request.method == "POST":
        sent = form_guards.Once(request)
        try:
            case = actions.file_case(
                actor=user,
                data=posted(spec, form) | {"submit": True},
                source_ip=client_ip(request),
                first=sent.first(),
                then=sent.then(),
            )
        except IntegrityError as error:
            # Sent again (a double tap, a resend): what the first one filed, nothing filed twice.
            messages.info(request, _("这条民情已经提交过，没有重复提交。"))
            return redirect("case-page", case_id=sent.earlier(error))
        except DomainError as error:
            add_domain_error(form, error)
            once = request.POST.get(form_guards.ONCE, once)  # nothing was filed: the same key again
        else:
            messages.success(request, Intake.done)
            return redirect("case-page", case_id=case.pk)
    return render(request, "case_new.html", {"form": form, "once": once})


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


def _queue_or_404(user: User, committee_id: int) -> dict[str, Any]:
    queue = next((q for q in selectors.queues_for(user) if q["id"] == committee_id), None)
    if queue is None:
        raise Http404
    return queue


def _queue_filters(request: HttpRequest, user: User, committee_id: int) -> tuple[selectors.QueueFilters, str | None]:
    """The queue's filters from the query string, as `_home_filters` reads the home list's: an
    unknown value is ignored and a refused search text searches nothing and says why."""
    search_error = None
    try:
        query = clean_search(request.GET.get("q", ""))
    except FieldError as error:
        query, search_error = "", error.message
    try:
        return selectors.queue_filters(user, committee_id, request.GET, q=query), search_error
    except NotFound:
        raise Http404 from None


def _cursor(request: HttpRequest) -> tuple[datetime | None, int] | None:
    """The keyset of a "next page" link: `after` is the last row's time and id ("none" for a
    task whose due time could not be reckoned). One that cannot be read starts from the top."""
    moment, _sep, last = request.GET.get("after", "").rpartition("_")
    if not (last.isascii() and last.isdigit() and len(last) <= 18) or not moment:
        return None
    if moment == "none":
        return None, int(last)
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return None
    return (parsed, int(last)) if parsed.tzinfo is not None else None


def _next_cursor(rows: list[dict], limit: int, key: str = "due_at") -> str | None:
    if len(rows) < limit:
        return None
    last = rows[-1]
    moment = last["due_at"] if key == "due_at" else last["case"]["submitted_at"] or last["started_at"]
    return f"{moment or 'none'}_{last['clock']}"


@login_required
def queue_page(request: HttpRequest, committee_id: int) -> HttpResponse:
    """A committee's queue as its staff work it: filtered (stage, category, township, urgency,
    time limit, whose tasks, a search text), most urgent first, fifty a page by a keyset
    ("next page" carries the last row's due time and id); the unclaimed rows can be ticked and
    claimed together, and the filtered queue taken away as a spreadsheet."""
    user = _user(request)
    queue = _queue_or_404(user, committee_id)
    filters, search_error = _queue_filters(request, user, committee_id)
    staff = selectors.queue_staff(user, committee_id)
    tasks = selectors.queue_page(
        user, committee_id, filters=filters, after=_cursor(request), limit=QUEUE_PAGE_ROWS, describe=True
    )
    names = {u.pk: str(u) for u in staff}
    for task in tasks:
        task["owner_name"] = names.get(task["owner"], _("其他工作人员")) if task["owner"] else ""
    params = filters.as_params()
    after = _next_cursor(tasks, QUEUE_PAGE_ROWS)
    return render(
        request,
        "queue.html",
        {
            "queue": queue,
            "tasks": tasks,
            "filters": filters,
            "filtered": bool(params),
            "values": {k: request.GET.get(k, "") for k in ("stage", "category", "township", "urgency", "sla", "q")},
            "claimed": filters.claimed,
            "search_error": search_error,
            "stages": [(s.value, s.label) for s in selectors.QUEUE_STAGES],
            "categories": selectors.categories(user),
            "townships": selectors.townships(user),
            "urgencies": Urgency.choices,
            "staff": [u for u in staff if u.pk != user.pk],
            "query": urlencode(params),
            "next_page": urlencode({**params, "after": after}) if after else None,
            "paged": "after" in request.GET,
            "bulk_max": actions.BULK_CLAIM_MAX,
            "max_rows": selectors.QUEUE_EXPORT_MAX_ROWS,
        },
    )


def _back_to(request: HttpRequest, fallback: str) -> HttpResponse:
    """Back to the page the form was posted from (its filters and page kept) when it is `fallback`
    with another query, else to `fallback` itself."""
    target = request.POST.get("next", "")
    if target.startswith(fallback + "?") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


def _case_ids(request: HttpRequest) -> list[int]:
    return [int(v) for v in request.POST.getlist("case") if v.isascii() and v.isdigit() and 0 < len(v) <= 18]


@require_POST
@login_required
def queue_claim(request: HttpRequest, committee_id: int) -> HttpResponse:
    """Claim the ticked tasks of a queue, all or none: when any one can no longer be claimed by
    the user, nothing is, and the page says which and why."""
    user = _user(request)
    _queue_or_404(user, committee_id)
    back = reverse("queue-page", args=[committee_id])
    try:
        claimed = actions.claim_many(
            committee_id=committee_id, case_ids=_case_ids(request), actor=user, source_ip=client_ip(request)
        )
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, str(error.message))
        for refused in error.details.get("refused", ()):
            messages.error(
                request,
                _("#%(id)s %(title)s：%(reason)s")
                % {"id": refused["case"], "title": refused["title"] or "", "reason": refused["reason"]},
            )
        return _back_to(request, back)
    messages.success(request, _("已认领 %(n)d 件，可在“我已认领”中查看。") % {"n": len(claimed)})
    return _back_to(request, back)


def _task_row(task: dict) -> list[Any]:
    case = task["case"]
    return [
        case["id"],
        case["title"],
        task["stage_label"],
        case["category"]["name"],
        case["township"]["name"] if case["township"] else "",
        task["urgency_label"],
        case["member"]["name"],
        timezone.localtime(task["submitted"]).strftime("%Y-%m-%d %H:%M") if task["submitted"] else "",
        timezone.localtime(task["due"]).strftime("%Y-%m-%d %H:%M") if task["due"] else "",
        str(task["words"]),
        task.get("owner_name", ""),
    ]


def _task_headers() -> list[str]:
    return [
        _("编号"),
        _("标题"),
        _("环节"),
        _("类别"),
        _("乡镇街道"),
        _("紧急程度"),
        _("委员"),
        _("提交时间"),
        _("到期时间"),
        _("时限"),
        _("认领人"),
    ]


def _describe_queue_filters(user: User, filters: selectors.QueueFilters, names: dict[int, str]) -> str:
    """The filter in words, for the sheet's title row (offices paste these into reports)."""
    claimed = {
        selectors.CLAIMED_NONE: _("待认领"),
        selectors.CLAIMED_MINE: _("我已认领"),
        selectors.CLAIMED_ANYONE: _("全部（含已认领）"),
    }
    parts = [
        str(claimed[filters.claimed])
        if filters.claimed in claimed
        else _("%(name)s 已认领") % {"name": names.get(int(filters.claimed), "")}
    ]
    if filters.stage:
        parts.append(_("环节：%(v)s") % {"v": Stage(filters.stage).label})
    if filters.category_id is not None:
        name = selectors.categories(user).filter(pk=filters.category_id).values_list("name", flat=True).first()
        parts.append(_("类别：%(v)s") % {"v": name or ""})
    if filters.township_id is not None:
        name = selectors.townships(user).filter(pk=filters.township_id).values_list("name", flat=True).first()
        parts.append(_("乡镇街道：%(v)s") % {"v": name or ""})
    if filters.urgency:
        parts.append(_("紧急程度：%(v)s") % {"v": Urgency(filters.urgency).label})
    if filters.sla:
        parts.append(_("即将超期") if filters.sla == "warning" else _("已超期"))
    if filters.q:
        parts.append(_("查找：%(v)s") % {"v": filters.q})
    return "，".join(str(p) for p in parts)


@login_required
def queue_export(request: HttpRequest, committee_id: int) -> HttpResponse:
    """The filtered queue as a spreadsheet, most urgent first (at most QUEUE_EXPORT_MAX_ROWS;
    the sheet says so when cut short)."""
    user = _user(request)
    queue = _queue_or_404(user, committee_id)
    filters, _search_error = _queue_filters(request, user, committee_id)
    rows, truncated = audit_trail.export_list(
        user,
        name=f"queue:{committee_id}",
        filters={k: v for k, v in request.GET.items() if k != "after"},
        read=lambda: selectors.queue_export_rows(user, committee_id, filters),
        source_ip=client_ip(request),
    )
    names = {u.pk: str(u) for u in selectors.queue_staff(user, committee_id)}
    for task in rows:
        task["owner_name"] = names.get(task["owner"], _("其他工作人员")) if task["owner"] else ""
    described = _describe_queue_filters(user, filters, names)
    if truncated:
        described += _("；仅含最紧急的 %(n)d 条") % {"n": selectors.QUEUE_EXPORT_MAX_ROWS}
    title = _("%(name)s 工作队列") % {"name": queue["name"]}
    today = timezone.localdate().isoformat()
    content = exports.workbook(title, described, _task_headers(), [_task_row(t) for t in rows])
    return exports.xlsx_response(f"{title}-{today}.xlsx", content)


# A user's own claimed tasks ---------------------------------------------------------------------

MY_TASKS_PER_PAGE = 50


def _staff_or_404(user: User) -> list[dict[str, Any]]:
    """The queues the user works; the page that does not exist for anyone who works none."""
    queues = selectors.queues_for(user)
    if not queues:
        raise Http404
    return queues


def _task_order(request: HttpRequest) -> str:
    order = request.GET.get("order", "")
    return order if order in selectors.MY_TASK_ORDERS else "due"


@login_required
def my_tasks_page(request: HttpRequest) -> HttpResponse:
    """The tasks the user has claimed in all their committees, most urgent first or longest
    waiting first, fifty a page by a keyset; each can be released back to its queue."""
    user = _user(request)
    queues = _staff_or_404(user)
    order = _task_order(request)
    tasks = selectors.my_task_page(user, order=order, after=_cursor(request), limit=MY_TASKS_PER_PAGE)
    names = {q["id"]: q["name"] for q in queues}
    for task in tasks:
        task["queue_name"] = names.get(task["queue"], "")
    after = _next_cursor(tasks, MY_TASKS_PER_PAGE, "due_at" if order == "due" else "submitted")
    params = {"order": order} if order != "due" else {}
    return render(
        request,
        "my_tasks.html",
        {
            "tasks": tasks,
            "order": order,
            "query": urlencode(params),
            "next_page": urlencode({**params, "after": after}) if after else None,
            "paged": "after" in request.GET,
            "several_queues": len(queues) > 1,
            "max_rows": selectors.QUEUE_EXPORT_MAX_ROWS,
        },
    )


@login_required
def my_tasks_export(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _staff_or_404(user)
    order = _task_order(request)
    rows, truncated = audit_trail.export_list(
        user,
        name="my_tasks",
        filters={"order": order},
        read=lambda: selectors.my_task_export_rows(user, order=order),
        source_ip=client_ip(request),
    )
    for task in rows:
        task["owner_name"] = str(user)
    described = _("按到期时间") if order == "due" else _("按提交时间")
    if truncated:
        described += _("；仅含前 %(n)d 条") % {"n": selectors.QUEUE_EXPORT_MAX_ROWS}
    today = timezone.localdate().isoformat()
    content = exports.workbook(_("我已认领的任务"), described, _task_headers(), [_task_row(t) for t in rows])
    return exports.xlsx_response(f"{_('我已认领的任务')}-{today}.xlsx", content)


@require_POST
@login_required
def task_release(request: HttpRequest, case_id: int) -> HttpResponse:
    """Give a claimed task back to its queue (the declared `release`), then back to the list."""
    user = _user(request)
    _staff_or_404(user)
    back = reverse("my-tasks")
    try:
        actions.perform("release", case_id=case_id, actor=user, source_ip=client_ip(request))
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, str(CASE["release"].done))
    return _back_to(request, back)


# A committee head's team page -------------------------------------------------------------------


def _period(request: HttpRequest) -> tuple[PeriodForm, date, date]:
    """The range the team page's figures cover: the one asked for, else the last 30 days."""
    today = timezone.localdate()
    first, last = today - timedelta(days=29), today
    form = PeriodForm(request.GET or None)
    if form.is_bound and form.is_valid():
        first = form.cleaned_data.get("first") or first
        last = form.cleaned_data.get("last") or last
        if first > last:  # one end given, past the other's default
            first, last = last, first
    if not form.is_bound:
        form.initial = {"first": first, "last": last}
    return form, first, last


@login_required
def team_page(request: HttpRequest, committee_id: int) -> HttpResponse:
    """A committee head's view of their team: who holds which tasks of the queue and how they
    stand against their deadlines, what waits unclaimed, a form on each task to hand it to a
    member of the team (the declared `reassign`, posted to the case's transition route), and the
    committee's figures for a range of days. 404 to anyone but the committee's head."""
    user = _user(request)
    try:
        team = selectors.team_page(user, committee_id)
    except NotFound:
        raise Http404 from None
    form, first, last = _period(request)
    figures = selectors.committee_figures(user, committee_id, first=first, last=last)
    for r in figures["sla"]["rows"] if figures["sla"] else ():
        r["stage_label"] = Stage(r["stage"]).label
    reassign = CASE["reassign"]
    return render(
        request,
        "team.html",
        {
            "team": team,
            "committee": team["committee"],
            "figures": figures,
            "form": form,
            "reassign": reassign,
            "fields": {f.name: f for f in reassign.input.fields},
            "here": request.get_full_path(),
        },
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
