"""The plenary speech (大会发言) lifecycle's effects: its signers (as a proposal's, each confirms
from their own login; a sector's speech has the sector's convener among them), its form (given
by its signers: a sector's, a joint one of several members, or one member's), submission inside
a session's solicitation window, numbered per term and session, and its selection as an oral
speech (with its minutes) or a written one, or not used. Private to the workflow layer
(`workflows/output_lifecycle.py`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from casework.choices import OutputStatus, SpeechForm, SpeechSelection, SpeechUse
from casework.errors import InvalidInput, TransitionNotAllowed
from casework.models import Output, Session, User
from casework.services import numbering, outputs, proposals

Changes = dict[str, Any]


def _bad(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, details={"field": field})


def form_of(output: Output) -> str:
    if output.sector_id is not None:
        return SpeechForm.SECTOR
    return SpeechForm.JOINT if output.signers.count() > 1 else SpeechForm.INDIVIDUAL


def set_signers(
    *,
    output: Output,
    actor: User,
    first: int,
    co_signers: list[int],
    sector: int | None = None,
    convener: int | None = None,
) -> Changes:
    """As a proposal's signers; the speech's form follows from them."""
    changes = proposals.set_signers(
        output=output, actor=actor, first=first, co_signers=co_signers, sector=sector, convener=convener
    )
    output.speech_form = form_of(output)
    output.save(update_fields=["speech_form"])
    return {**changes, "form": output.speech_form}


# The solicitation window --------------------------------------------------------------------------


def _windows(organisation_id: int) -> Any:
    return (
        Session.objects.filter(
            term__organisation_id=organisation_id,
            speeches_open_on__isnull=False,
            speeches_close_on__isnull=False,
        )
        .select_related("term")
        .order_by("-speeches_open_on")
    )


def soliciting(organisation_id: int, day: date) -> Session | None:
    """The session whose plenary speeches are being solicited on `day`."""
    return _windows(organisation_id).filter(speeches_open_on__lte=day, speeches_close_on__gte=day).first()


def window_open(output: Output) -> bool:
    return soliciting(output.organisation_id, timezone.localdate()) is not None


def window_words(output: Output) -> str:
    """Why a speech cannot be submitted today: the window not yet open, closed, or none at all."""
    today = timezone.localdate()
    windows = _windows(output.organisation_id)
    coming = windows.filter(speeches_open_on__gt=today).order_by("speeches_open_on").first()
    if coming is not None:
        return _("%(s)s大会发言征集时间为 %(a)s 至 %(b)s，尚未开始，不能提交。") % {
            "s": coming,
            "a": coming.speeches_open_on.isoformat(),
            "b": coming.speeches_close_on.isoformat(),
        }
    last = windows.filter(speeches_close_on__lt=today).order_by("-speeches_close_on").first()
    if last is not None:
        return _("%(s)s大会发言征集时间为 %(a)s 至 %(b)s，已经截止，不能提交。") % {
            "s": last,
            "a": last.speeches_open_on.isoformat(),
            "b": last.speeches_close_on.isoformat(),
        }
    return _("目前没有开放大会发言征集，不能提交。")


# Submission and selection -------------------------------------------------------------------------


def submit(*, output: Output, actor: User) -> Changes:
    """Submit the signed speech in the open solicitation window: it belongs to that session and
    is numbered in its term and session's series."""
    if not output.text_length:
        raise _bad("body", _("大会发言还没有正文，请先填写。"), "empty_text")
    outputs.check_length(output, submitting=True)
    session = soliciting(output.organisation_id, timezone.localdate())
    if session is None:  # the window closed since the guard looked
        raise TransitionNotAllowed(window_words(output), details={"status": output.status})
    output.session = session
    output.term = session.term
    output.series = numbering.speech_series(output.organisation_id, session.term.number, session.number)
    output.number_seq = numbering.take(output.series)
    output.number = numbering.speech_number(session.term.number, session.number, output.number_seq)
    output.speech_form = form_of(output)
    output.status = OutputStatus.SUBMITTED
    output.submitted_at = timezone.now()
    output.submitted_by = actor
    output.save(
        update_fields=[
            "session",
            "term",
            "series",
            "number_seq",
            "number",
            "speech_form",
            "status",
            "submitted_at",
            "submitted_by",
        ]
    )
    return {
        "status": [OutputStatus.DRAFT, OutputStatus.SUBMITTED],
        "number": output.number,
        "session": session.pk,
        "form": output.speech_form,
    }


def select(*, output: Output, actor: User, selection: str, minutes: int | None = None, note: str = "") -> Changes:
    """Select the speech to be given orally (for at most the organisation's oral minutes) or in
    writing."""
    if selection == SpeechUse.ORAL:
        limit = outputs.rules(output.organisation_id).speech_oral_max_minutes
        if minutes is None:
            raise _bad("minutes", _("口头发言须填写发言时长。"), "minutes_required")
        if minutes > limit:
            raise _bad(
                "minutes", _("口头发言最长 %(n)d 分钟，现为 %(m)d 分钟。") % {"n": limit, "m": minutes}, "too_long"
            )
        status = OutputStatus.ORAL
    else:
        if minutes is not None:
            raise _bad("minutes", _("书面发言不填写发言时长。"), "minutes_not_for_written")
        status = OutputStatus.WRITTEN
    output.selection = selection
    output.minutes = minutes
    output.status = status
    output.decided_at = timezone.now()
    output.decision_note = note
    output.save(update_fields=["selection", "minutes", "status", "decided_at", "decision_note"])
    return {"status": [OutputStatus.SUBMITTED, status], "selection": selection, "minutes": minutes, "note": note}


def not_use(*, output: Output, actor: User, note: str = "") -> Changes:
    output.selection = SpeechSelection.NOT_USED
    output.minutes = None
    output.status = OutputStatus.NOT_USED
    output.decided_at = timezone.now()
    output.decision_note = note
    output.save(update_fields=["selection", "minutes", "status", "decided_at", "decision_note"])
    return {"status": [OutputStatus.SUBMITTED, OutputStatus.NOT_USED], "note": note}


# What the gathered cases are told -----------------------------------------------------------------


def selected_words(output: Output) -> str:
    # The number reads as the speech's name: 大会发言 第16届第3次会议 第001号.
    if output.status == OutputStatus.ORAL:
        return _("%(n)s选为口头发言（%(m)d 分钟）。") % {"n": output.number, "m": output.minutes}
    return _("%(n)s选为书面发言。") % {"n": output.number}


def not_used_words(output: Output) -> str:
    said = _("%(n)s未被采用。") % {"n": output.number}
    return f"{said}{output.decision_note}" if output.decision_note else said
