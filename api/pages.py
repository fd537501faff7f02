"""Server-rendered pages (Chinese first). Thin: they call the same selectors and actions as the
API, parse forms and show what the domain answers; the rules stay in casework/ and workflows/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from casework import selectors
from casework.choices import CaseStatus, ClockState, Role, Stage
from casework.errors import DomainError, NotFound
from casework.models import Case, User
from casework.services import access
from workflows import actions
from workflows.selectors import open_tasks

from .forms import (
    AcceptForm,
    AnswerInfoForm,
    CaseFileForm,
    EmptyForm,
    FeedbackForm,
    RedirectForm,
    RejectForm,
    RequestInfoForm,
    ResolveForm,
    TransitionForm,
    add_domain_error,
)
from .views import client_ip

# How each audit action of a case reads on its timeline.
ACTION_LABELS: dict[str, Promise] = {
    "case.created": _("保存草稿"),
    "case.submitted": _("提交反映"),
    "case.updated": _("修改案件"),
    "case.claimed": _("认领"),
    "case.released": _("放弃认领"),
    "case.accepted": _("受理转化"),
    "case.needs_info": _("要求补充材料"),
    "case.info_answered": _("补充材料"),
    "case.rejected": _("不予受理"),
    "case.redirected": _("转其他渠道"),
    "case.resolved": _("直接解决"),
    "case.merged": _("合并至其他案件"),
    "case.merge_received": _("并入重复案件"),
    "case.converted": _("成果转化"),
    "case.outcome_received": _("收到办理结果"),
    "case.closed": _("反馈群众，办结"),
    "case.sent_back": _("退回上一步"),
    "case.outcome_followed": _("随主案件获得办理结果"),
}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    member_id = access.member_id_of(user)
    queues = selectors.queues_for(user)
    is_leader = Role.LEADERSHIP in access.roles_of(user)
    cases = selectors.case_list(user, limit=50)
    return render(
        request,
        "home.html",
        {
            "is_member": member_id is not None,
            "is_staff_member": bool(queues),
            "is_leader": is_leader,
            "my_cases": [c for c in cases if c.member_id == member_id] if member_id is not None else [],
            "other_cases": [c for c in cases if c.member_id != member_id],
            "queues": queues,
            "my_tasks": selectors.my_tasks(user, limit=50) if queues else [],
            "now": timezone.now(),
        },
    )


def _case_or_404(user: User, case_id: int) -> Case:
    try:
        return selectors.case_detail(user, case_id)
    except NotFound:
        raise Http404 from None


def _review_panel(user: User, case: Case, clocks: list[Any]) -> dict[str, Any] | None:
    """What the committee's staff may do on the case now; None for everyone else."""
    if case.status != CaseStatus.REVIEW or not access.is_committee_staff(user, case.committee_id):
        return None
    review = next((t for t in open_tasks(case.pk) if t["name"] == "review"), None)
    if review is None:
        return None
    holder = next(
        (c.assignee for c in clocks if c.stage == Stage.REVIEW and c.state == ClockState.RUNNING and c.assignee_id),
        None,
    )
    owner = review["owner"]
    return {
        "can_claim": owner is None,
        "can_release": owner == user.pk,
        "can_decide": owner in (None, user.pk),
        "held_by": (holder or _("其他工作人员")) if owner not in (None, user.pk) else None,
        "accept": AcceptForm(case=case, auto_id="accept_%s"),
        "request_info": RequestInfoForm(case=case, auto_id="info_%s"),
        "reject": RejectForm(case=case, auto_id="reject_%s"),
        "redirect": RedirectForm(case=case, auto_id="redirect_%s"),
        "resolve": ResolveForm(case=case, auto_id="resolve_%s"),
    }


def _member_panel(user: User, case: Case) -> dict[str, Any] | None:
    if not access.is_case_member(user, case):
        return None
    if case.status == CaseStatus.NEEDS_INFO:
        return {"answer_info": AnswerInfoForm(case=case, auto_id="answer_%s")}
    if case.status == CaseStatus.FEEDBACK:
        return {"feedback": FeedbackForm(case=case, auto_id="feedback_%s")}
    return None


@login_required
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    user = _user(request)
    case = _case_or_404(user, case_id)
    events = selectors.case_events(user, case_id, limit=500)
    for event in events:
        event.label = ACTION_LABELS.get(event.action, event.action)  # type: ignore[attr-defined]
    clocks = selectors.case_clocks(case)
    return render(
        request,
        "case.html",
        {
            "case": case,
            "events": events,
            "clocks": clocks,
            "now": timezone.now(),
            # PIPL: a constituent's name goes beyond their member only with their consent.
            "show_contact_names": access.is_case_member(user, case) or case.consent_to_share,
            "review": _review_panel(user, case, clocks),
            "member_panel": _member_panel(user, case),
        },
    )


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    member = getattr(user, "member", None)
    if member is None or member.organisation_id != user.organisation_id:
        return render(request, "case_new.html", {"form": None}, status=403)
    form = CaseFileForm(request.POST or None, member=member)
    if request.method == "POST" and form.is_valid():
        try:
            case = actions.case_file(actor=user, submit=True, source_ip=client_ip(request), **form.action_kwargs())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("已提交，案件进入委办审核。"))
            return redirect("case-page", case_id=case.pk)
    return render(request, "case_new.html", {"form": form})


# name in the URL → (its form, the workflow action, what to say when done)
TRANSITIONS: dict[str, tuple[type[TransitionForm], Callable[..., Any], Promise]] = {
    "claim": (EmptyForm, actions.case_claim, _("已认领，请在到期前处理。")),
    "release": (EmptyForm, actions.case_release, _("已放弃认领，案件回到队列。")),
    "accept": (AcceptForm, actions.case_accept, _("已受理，案件进入成果转化。")),
    "request_info": (RequestInfoForm, actions.case_request_info, _("已请委员补充材料，审核计时暂停。")),
    "reject": (RejectForm, actions.case_reject, _("已不予受理，待委员反馈群众。")),
    "redirect": (RedirectForm, actions.case_redirect, _("已转其他渠道，待委员反馈群众。")),
    "resolve": (ResolveForm, actions.case_resolve, _("已直接解决，待委员反馈群众。")),
    "answer_info": (AnswerInfoForm, actions.case_answer_info, _("补充材料已提交，案件回到委办审核。")),
    "feedback": (FeedbackForm, actions.case_record_feedback, _("已记录反馈情况，案件办结。")),
}


def _field_error(label: Any, error: str) -> str:
    return gettext("%(field)s：%(error)s") % {"field": label, "error": error}


@require_POST
@login_required
def case_transition(request: HttpRequest, case_id: int, name: str) -> HttpResponse:
    entry = TRANSITIONS.get(name)
    if entry is None:
        raise Http404
    form_class, action, done = entry
    user = _user(request)
    case = _case_or_404(user, case_id)
    form = form_class(request.POST, case=case)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else None
            for error in errors:
                messages.error(request, _field_error(label, error) if label else error)
        return redirect("case-page", case_id=case.pk)
    try:
        action(case_id=case.pk, actor=user, source_ip=client_ip(request), **form.action_kwargs())
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, done)
    return redirect("case-page", case_id=case.pk)


@require_POST
@login_required
def queue_claim_next(request: HttpRequest, committee_id: int) -> HttpResponse:
    try:
        claimed = actions.queue_claim_next(
            committee_id=committee_id, actor=_user(request), source_ip=client_ip(request)
        )
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
