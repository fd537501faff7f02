"""The pages of the output lifecycles: an output with its signatures, its assignments and their
files, each with the forms its viewer may use now; the proposal office's desk; a department
liaison's desk; and the file download.

As the case pages: they read through the selectors and act through the one way in
(`workflows.output_actions`), and every form is drawn from the declared transition the user may
do to that record now, so the page offers exactly what the API offers."""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from casework import access, selectors
from casework.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from casework.models import Assignment, Output, OutputFile, User
from config.http import client_ip
from workflows import output_actions
from workflows.declare import Transition
from workflows.inputs import FieldError, Ref, clean_search

from . import form_guards
from .forms import add_domain_error, form_for, initial_of, posted

# Where each kind's transitions are posted to.
URL_NAMES = {"output": "output-transition", "assignment": "assignment-transition", "signature": "signature-transition"}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@dataclass
class Failed:
    """The form that was just posted and refused: it is shown again with what was typed."""

    kind: str
    record_id: int
    name: str
    form: forms.Form
    shown: bool = field(default=False)


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("附件"), help_text=gettext_lazy("正式答复函、落实情况照片等。"))

    def __init__(self, *args: Any, prefix_id: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", f"{prefix_id}_%s" if prefix_id else "id_%s")
        super().__init__(*args, **kwargs)


def _form_id(kind: str, record: Any, name: str) -> str:
    return f"{kind}{record.pk}-{name}"


def _forms(request: HttpRequest, user: User, record: Any, kind: str, failed: Failed | None) -> list[dict[str, Any]]:
    """A form per transition `user` may do to `record` now; the one just refused keeps what was
    typed and says why."""
    rows = []
    for t in output_actions.available(user, record, kind):
        prefix = _form_id(kind, record, t.name)
        searches = [f.name for f in t.input.fields if isinstance(f, Ref) and f.searchable]
        # A searchable choice (the proposal to merge into) is narrowed by the text searched for,
        # checked as every typed text is; a refused one searches nothing and says why.
        typed = request.GET.get(f"{prefix}-q", "") if searches else ""
        query, search_error = "", None
        try:
            query = clean_search(typed)
        except FieldError as error:
            search_error = error.message
        if failed is not None and (failed.kind, failed.record_id, failed.name) == (kind, record.pk, t.name):
            form, is_open = failed.form, True
            failed.shown = True
        else:
            form = form_for(
                t.input, user=user, case=record, prefix=prefix, initial=initial_of(t.input, record), query=query
            )
            is_open = bool(typed) or (failed is None and t.tone == "primary")
        rows.append(
            {
                "transition": t,
                "form": form,
                "open": is_open,
                "id": prefix,
                "action": reverse(URL_NAMES[kind], args=[record.pk, t.name]),
                "search": bool(searches),
                "query": typed,
                "search_error": search_error,
            }
        )
    return rows


def _output_or_404(user: User, output_id: int) -> Output:
    try:
        return selectors.output_detail(user, output_id)
    except NotFound:
        raise Http404 from None


def render_output(
    request: HttpRequest,
    output: Output,
    failed: Failed | None = None,
    upload: tuple[int, UploadForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The output as its viewer sees it, with each record's forms for them."""
    user = _user(request)
    now = timezone.now()
    signers = list(output.signers.select_related("user").prefetch_related("ratings"))
    for signer in signers:
        signer.output = output
        signer.rating_rows = sorted(signer.ratings.all(), key=lambda r: r.round)  # type: ignore[attr-defined]
        signer.forms = _forms(request, user, signer, "signature", failed)  # type: ignore[attr-defined]
    assignments = list(output.assignments.select_related("department").prefetch_related("files"))
    for a in assignments:
        a.output = output
        a.file_rows = list(a.files.all())  # type: ignore[attr-defined]
        a.is_open = a.status in output_actions.ATTACH_STATUSES  # type: ignore[attr-defined]
        a.overdue = bool(a.is_open and a.due_at and a.due_at < now)  # type: ignore[attr-defined]
        a.forms = _forms(request, user, a, "assignment", failed)  # type: ignore[attr-defined]
        a.upload = None  # type: ignore[attr-defined]
        if a.is_open and access.is_department_of(user, a):  # type: ignore[attr-defined]
            a.upload = upload[1] if upload and upload[0] == a.pk else UploadForm(prefix_id=f"upload{a.pk}")  # type: ignore[attr-defined]
    panel = _forms(request, user, output, "output", failed)
    # A refusal of a form the user is no longer offered is said above the page.
    stray = []
    if failed is not None and not failed.shown:
        stray = [str(e) for errors in failed.form.errors.values() for e in errors]
    merged_into = None
    if output.merged_into_id and access.visible_outputs(user).filter(pk=output.merged_into_id).exists():
        merged_into = output.merged_into
    return render(
        request,
        "output.html",
        {
            "output": output,
            "cases": selectors.output_cases(user, output),
            "events": selectors.output_events(output),
            "panel": panel,
            "held_back": output_actions.held_back(user, output),
            "signers": signers,
            "assignments": assignments,
            "merged_into": merged_into,
            "stray_errors": stray,
            "now": now,
        },
        status=status,
    )


@login_required
def output_page(request: HttpRequest, output_id: int) -> HttpResponse:
    return render_output(request, _output_or_404(_user(request), output_id))


def _act(request: HttpRequest, kind: str, record_id: int, name: str) -> HttpResponse:
    """Do one transition of an output lifecycle from a page's form: back to the output on
    success; the form again with the reason when the input is refused; the page with the
    reason above it when the step is not the user's to do now."""
    user = _user(request)
    try:
        record = output_actions.visible_record(user, kind, record_id)
    except NotFound:
        raise Http404 from None
    output = record if kind == "output" else record.output
    lifecycle = output_actions.KINDS[kind].lifecycle(output)
    if name not in lifecycle:
        raise Http404
    t: Transition = lifecycle[name]
    if not t.is_public:
        raise Http404
    prefix = _form_id(kind, record, t.name)
    form = form_for(
        t.input, user=user, case=record, data=request.POST, prefix=prefix, initial=initial_of(t.input, record)
    )
    try:
        output_actions.perform(
            kind,
            t.name,
            record_id=record.pk,
            actor=user,
            data=posted(t.input, form),
            source_ip=client_ip(request),
            check=form_guards.unchanged_since(request),
        )
    except NotFound as error:
        if error.code == output_actions.KINDS[kind].not_found or error.code == "output_not_found":
            raise Http404 from None
        add_domain_error(form, error)
    except InvalidInput as error:
        add_domain_error(form, error)
    except DomainError as error:
        # Not the user's to do now (someone did it first, the status moved on): said above the
        # output as it now stands.
        messages.error(request, str(error.message))
        return redirect("output-page", output_id=output.pk)
    else:
        messages.success(request, str(t.done))
        if access.visible_outputs(user).filter(pk=output.pk).exists():
            return redirect("output-page", output_id=output.pk)
        return redirect("home")
    failed = Failed(kind, record.pk, t.name, form)
    return render_output(request, _output_or_404(user, output.pk), failed=failed)


@require_POST
@login_required
def output_transition(request: HttpRequest, output_id: int, name: str) -> HttpResponse:
    return _act(request, "output", output_id, name)


@require_POST
@login_required
def assignment_transition(request: HttpRequest, assignment_id: int, name: str) -> HttpResponse:
    return _act(request, "assignment", assignment_id, name)


@require_POST
@login_required
def signature_transition(request: HttpRequest, signature_id: int, name: str) -> HttpResponse:
    return _act(request, "signature", signature_id, name)


@require_POST
@login_required
def assignment_file_upload(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """A department attaches a file to its own assignment (before replying)."""
    user = _user(request)
    try:
        assignment: Assignment = output_actions.visible_record(user, "assignment", assignment_id)
    except NotFound:
        raise Http404 from None
    form = UploadForm(request.POST, request.FILES, prefix_id=f"upload{assignment.pk}")
    try:
        row = output_actions.attach_file(
            assignment_id=assignment.pk, actor=user, upload=request.FILES.get("file"), source_ip=client_ip(request)
        )
    except NotFound:
        raise Http404 from None
    except InvalidInput as error:
        add_domain_error(form, error)
        output = _output_or_404(user, assignment.output_id)
        return render_output(request, output, upload=(assignment.pk, form))
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect("output-page", output_id=assignment.output_id)
    messages.success(request, _("已上传附件「%(name)s」。") % {"name": row.name})
    return redirect("output-page", output_id=assignment.output_id)


@login_required
def output_file(request: HttpRequest, file_id: int) -> HttpResponse | FileResponse:
    """An output's file, for whoever may see the output (anyone else: not found). Always a
    download, never shown inline: the browser is told not to guess its type."""
    row = (
        OutputFile.objects.filter(pk=file_id, output__in=access.visible_outputs(_user(request)))
        .only("file", "name")
        .first()
    )
    if row is None:
        raise Http404
    try:
        handle = row.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = mimetypes.guess_type(row.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", row.name)
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row.name)}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


# The desks ---------------------------------------------------------------------------------------


@login_required
def office_desk(request: HttpRequest) -> HttpResponse:
    """The proposal office's desk: what waits on its review, assignment and decisions."""
    try:
        desk = selectors.office_desk(_user(request))
    except (PermissionDenied, NotFound):
        raise Http404 from None
    return render(request, "office_desk.html", {"desk": desk, "limit": selectors.DESK_ROWS})


@login_required
def department_desk(request: HttpRequest) -> HttpResponse:
    """A department liaison's desk: its department's assignments, open first, soonest due first."""
    user = _user(request)
    try:
        rows = selectors.department_desk(user)
    except (PermissionDenied, NotFound):
        raise Http404 from None
    now = timezone.now()
    for a in rows:
        a.overdue = bool(a.is_open and a.due_at and a.due_at < now)  # type: ignore[attr-defined]
        a.objectable = bool(a.status == "assigned" and a.objection_until and now <= a.objection_until)  # type: ignore[attr-defined]
    return render(
        request,
        "department_desk.html",
        {"rows": rows, "department": user.department, "now": now, "limit": selectors.DESK_ROWS},
    )


@login_required
def referrals(request: HttpRequest) -> HttpResponse:
    """The info reports lower organisations sent up to the user's, waiting for its decision: for
    the staff who decide on them here (anyone else: not found)."""
    user = _user(request)
    if user.organisation_id is None or not access.may_decide_referrals(user):
        raise Http404
    return render(request, "referrals.html", {"rows": selectors.referrals(user, limit=selectors.DESK_ROWS)})
