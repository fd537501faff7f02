"""Running the output lifecycles' transitions: the one way in for every change to an output, a
proposal's assignment or a signature (the API, the pages, the demo data all come through here).

`perform` runs one in one transaction: it checks the input, locks the output (and any other
output the transition names, then any case it names: the one lock order,
`casework.services.locks`), checks the transition is allowed now (`refusal`, the same check
`available` answers with), applies the domain effect, writes the audit event on the output's
stream, and tells the gathered cases when the transition is an outcome event (`declare.Tell`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from casework import access, documents
from casework.choices import AuditAction, CaseStatus
from casework.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from casework.models import Assignment, Case, Output, OutputFile, OutputSigner, User
from casework.services import clocks, locks
from casework.services.audit import audit_case, audit_output

from . import engine, propagate
from .declare import Lifecycle, Move, Transition
from .inputs import refused_character
from .output_lifecycle import ASSIGNMENT, SIGNATURE, lifecycle_of

# The longest outcome a case takes (its receive_outcome input).
OUTCOME_MAX = 5000


@dataclass(frozen=True)
class Kind:
    """A kind of record of the output lifecycles: how to find its output and its lifecycle."""

    name: str
    model: type[Model]
    lifecycle: Callable[[Any], Lifecycle]
    not_found: str
    keyword: str  # the name the domain effects take the record by


KINDS: dict[str, Kind] = {
    "output": Kind("output", Output, lifecycle_of, "output_not_found", "output"),
    "assignment": Kind("assignment", Assignment, lambda record: ASSIGNMENT, "assignment_not_found", "assignment"),
    "signature": Kind("signature", OutputSigner, lambda record: SIGNATURE, "signature_not_found", "signer"),
}
_NOT_FOUND = {
    "output": lambda: _("成果不存在。"),
    "assignment": lambda: _("交办不存在。"),
    "signature": lambda: _("署名不存在。"),
}


def refusal(lifecycle: Lifecycle, t: Transition, user: User, record: Any) -> DomainError | None:
    """Why `user` may not do `t` to `record` now, or None when they may."""
    status = lifecycle.status_of(record)
    if status not in t.statuses:
        return TransitionNotAllowed(
            _("当前状态为「%(status)s」，不能执行「%(action)s」。")
            % {"status": lifecycle.display_of(record), "action": t.label},
            details={"status": status},
        )
    parties = t.parties(status)
    if not any(party.includes(user, record) for party in parties):
        return PermissionDenied(code=parties[0].refusal)
    for rule in t.rules:
        if not rule.holds(record):
            return TransitionNotAllowed(rule.says(record), details={"status": status})
    return None


def available(user: User, record: Any, kind: str = "output") -> list[Transition]:
    """The transitions `user` may do to `record` now, in declaration order."""
    lifecycle = KINDS[kind].lifecycle(record)
    return [t for t in lifecycle.public() if refusal(lifecycle, t, user, record) is None]


def held_back(user: User, record: Any, kind: str = "output") -> list[tuple[Transition, str]]:
    """The transitions `user` could do to `record` now but for one of their further conditions
    that is `explained`, each with what that condition says: a page shows why the step is not offered (the proposal
    cannot be assigned while its text names a constituent), rather than leaving it out unsaid."""
    lifecycle = KINDS[kind].lifecycle(record)
    held = []
    status = lifecycle.status_of(record)
    for t in lifecycle.public():
        if status not in t.statuses or not any(p.includes(user, record) for p in t.parties(status)):
            continue
        failing = next((rule for rule in t.rules if not rule.holds(record)), None)
        if failing is not None and failing.explained:
            held.append((t, str(failing.says(record))))
    return held


def _output_id_of(kind: str, record_id: int) -> int | None:
    if kind == "output":
        return record_id
    return KINDS[kind].model.objects.filter(pk=record_id).values_list("output_id", flat=True).first()


def _type_of(output_id: int | None) -> str | None:
    # The type never changes, so it can be read before the lock to know which lifecycle applies.
    return Output.objects.filter(pk=output_id).values_list("output_type", flat=True).first()


def _missing(kind: str) -> NotFound:
    return NotFound(_NOT_FOUND[kind](), code=KINDS[kind].not_found)


def perform(
    kind: str,
    name: str,
    *,
    record_id: int,
    actor: User,
    data: Any = None,
    source_ip: str | None = None,
    check: Callable[[Output], None] | None = None,
    first: Callable[[], None] | None = None,
    then: Callable[[Output], None] | None = None,
) -> Output:
    """Do the transition `name` to the record `kind`/`record_id` as `actor`, and answer its output.
    Raises a DomainError (and changes nothing) when the input is bad, the record is not one the
    actor may see, or the transition is not theirs to do now. `check` runs on the locked output
    before anything else is decided; `first` and `then`: as for the case transitions."""
    spec = KINDS[kind]
    output_id = _output_id_of(kind, record_id)
    output_type = _type_of(output_id)
    if output_type is None:
        raise _missing(kind)
    lifecycle = spec.lifecycle(Output(output_type=output_type))
    if name not in lifecycle:
        raise NotFound(_("没有名为「%(n)s」的流转。") % {"n": name}, code="unknown_transition")
    t = lifecycle[name]
    if not t.is_public:
        raise NotFound(_("没有名为「%(n)s」的流转。") % {"n": name}, code="unknown_transition")
    values = t.input.clean(data)
    with transaction.atomic():
        if first is not None:
            first()
        named_outputs = [
            values[f.name] for f in t.input.fields if getattr(f, "locks", "") == "output" and values.get(f.name)
        ]
        named_cases = [
            values[f.name] for f in t.input.fields if getattr(f, "locks", "") == "case" and values.get(f.name)
        ]
        locked = locks.acquire(actor, outputs=[output_id, *named_outputs], cases=named_cases)
        output = locked.outputs.get(output_id)  # type: ignore[arg-type]
        if output is None:
            raise _missing(kind)
        record: Any = output
        if kind != "output":
            record = spec.model.objects.select_for_update().filter(pk=record_id, output_id=output.pk).first()
            if record is None:
                raise _missing(kind)
            record.output = output
        if check is not None:
            check(output)
        error = refusal(lifecycle, t, actor, record)
        if error is not None:
            raise error
        for field in t.input.fields:
            lock_kind = getattr(field, "locks", "")
            if lock_kind and values.get(field.name) is not None:
                found = (locked.cases if lock_kind == "case" else locked.outputs).get(values[field.name])
                if found is None:
                    raise NotFound(
                        _("所选的「%(f)s」不存在。") % {"f": field.label},
                        code=f"{field.name}_not_found",
                        details={"field": field.name},
                    )
                values[field.name] = found
        task = None
        if t.move is Move.REOPEN:
            case = values["case"]
            task = engine.open_task(case.pk) if case.status == CaseStatus.OUTCOME else None
        changes = t.apply_effect({spec.keyword: record, "actor": actor}, values, source_ip)
        if changes is not None:
            if kind != "output":
                changes = {kind: record.pk, **changes}
            audit_output(output, actor, t.audit, changes, source_ip)
        if t.move is Move.REOPEN:
            _reopen(values["case"], task, output, actor, source_ip)
        if t.tells is not None:
            told = t.tells.to(record if kind == "output" else output) if kind == "output" else output
            tell_cases(
                told,
                actor,
                event=t.audit,
                summary=t.tells.summary(record),
                moves=bool(t.tells.moves(record)),
                source_ip=source_ip,
            )
        if then is not None:
            then(output)
    return output


def _reopen(case: Case, task: engine.Task | None, output: Output, actor: User, source_ip: str | None) -> None:
    if task is None:
        raise Conflict(_("案件的流程与状态不一致，请联系管理员。"), code="out_of_step")
    revived = engine.reopen_conversion(case, task)
    clocks.follow(case, left=CaseStatus.OUTCOME, opened=revived.ref, undone=True)
    audit_case(
        case,
        actor,
        AuditAction.OUTPUT_CASE_RELEASED,
        {"status": [CaseStatus.OUTCOME, CaseStatus.CONVERSION], "output": output.pk},
        source_ip,
    )


def tell_cases(
    output: Output, actor: User | None, *, event: str, summary: str, moves: bool, source_ip: str | None = None
) -> int:
    """Write the output's event onto the timeline of every case it gathered; when `moves`, the
    cases waiting for an outcome move to feedback with `summary` as their outcome. All of them
    at once, in the same statements however many (`propagate.tell_cases`)."""
    return propagate.tell_cases(
        output,
        actor,
        event=event,
        summary=summary,
        moves=moves,
        outcome=summary[:OUTCOME_MAX] if moves else "",
        source_ip=source_ip,
    )


def visible_record(user: User, kind: str, record_id: int) -> Any:
    """A record of the output lifecycles the user may see (its output is one they may see)."""
    spec = KINDS[kind]
    if kind == "output":
        record = access.visible_outputs(user).filter(pk=record_id).first()
    else:
        record = (
            spec.model.objects.filter(pk=record_id, output__in=access.visible_outputs(user))
            .select_related("output")
            .first()
        )
    if record is None:
        raise _missing(kind)
    return record


# Files a department replies with ------------------------------------------------------------------

ATTACHABLE = (".pdf", ".ofd", ".doc", ".docx", ".wps", ".xls", ".xlsx", ".jpg", ".jpeg", ".png")
ATTACH_STATUSES = ("assigned", "accepted")


def attach_file(
    *,
    assignment_id: int,
    actor: User,
    upload: Any,
    source_ip: str | None = None,
    first: Callable[[], None] | None = None,
    then: Callable[[Output], None] | None = None,
) -> OutputFile:
    """Attach a file (the signed reply letter, a photo of the work done) to a department's own
    assignment before it replies. The file is checked (present, not too large, a kind offices
    send), kept with its SHA-256, and the attachment audited on the output's stream, all or
    nothing: a refused or failed attachment leaves no row and no file."""
    from django.conf import settings

    name = str(getattr(upload, "name", "") or "").strip()
    if upload is None or not name:
        raise InvalidInput(_("请选择要上传的文件。"), code="file_required", details={"field": "file"})
    limit = settings.MINQING_MAX_UPLOAD_BYTES
    if upload.size == 0:
        raise InvalidInput(_("文件是空的。"), code="file_empty", details={"field": "file"})
    if upload.size > limit:
        raise InvalidInput(
            _("文件不能超过 %(n)d MB。") % {"n": limit // (1024 * 1024)},
            code="file_too_large",
            details={"field": "file"},
        )
    if not name.lower().endswith(ATTACHABLE):
        raise InvalidInput(
            _("只能上传以下类型的文件：%(k)s。") % {"k": " ".join(ATTACHABLE)},
            code="file_type_refused",
            details={"field": "file"},
        )
    if refused_character(name, multiline=False) is not None or len(name) > 200:
        raise InvalidInput(
            _("文件名含有不允许的字符或过长，请改名后再上传。"), code="file_name_refused", details={"field": "file"}
        )
    output_id = _output_id_of("assignment", assignment_id)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    stored: list[OutputFile] = []
    try:
        with transaction.atomic():
            if first is not None:
                first()
            output = locks.acquire(actor, outputs=[output_id] if output_id else []).outputs.get(output_id)  # type: ignore[arg-type]
            if output is None:
                raise _missing("assignment")
            assignment = Assignment.objects.select_for_update().filter(pk=assignment_id, output=output).first()
            if assignment is None:
                raise _missing("assignment")
            assignment.output = output
            if not access.is_department_of(actor, assignment):
                raise PermissionDenied(code="not_your_department")
            if assignment.status not in ATTACH_STATUSES:
                raise TransitionNotAllowed(
                    _("当前状态为「%(s)s」，不能再上传附件。") % {"s": assignment.get_status_display()},
                    details={"status": assignment.status},
                )
            upload.seek(0)
            row = OutputFile(
                output=output,
                assignment=assignment,
                name=name,
                size=upload.size,
                sha256=digest.hexdigest(),
                uploaded_by=actor,
            )
            row.file.save(name, upload, save=False)
            stored.append(row)
            row.save()
            audit_output(
                output,
                actor,
                AuditAction.ASSIGNMENT_FILE_ADDED,
                {"assignment": assignment.pk, "file": row.pk, "name": name, "size": row.size, "sha256": row.sha256},
                source_ip,
            )
            if then is not None:
                then(output)
    except BaseException:
        for row in stored:
            row.file.delete(save=False)
        raise
    return row


# The output as a document ----------------------------------------------------------------------------


def export_docx(*, output_id: int, actor: User, source_ip: str | None = None) -> tuple[str, bytes]:
    """The output as a Word document (its file name and its bytes) for whoever may see it; the
    export is audited on the output's stream, with its size and digest, in the transaction that
    reads the output under its lock, so an export that happened is always on the trail. Anyone
    else is told the output does not exist, and nothing is written."""
    with transaction.atomic():
        output = locks.acquire(actor, outputs=[output_id]).outputs.get(output_id)
        if output is None:
            raise _missing("output")
        content = documents.output_docx(output)
        name = documents.docx_filename(output)
        audit_output(
            output,
            actor,
            AuditAction.OUTPUT_EXPORTED,
            {
                "format": "docx",
                "name": name,
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "status": output.status,
            },
            source_ip,
        )
    return name, content


__all__ = [
    "KINDS",
    "attach_file",
    "available",
    "export_docx",
    "perform",
    "refusal",
    "tell_cases",
    "visible_record",
]
