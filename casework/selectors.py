"""Reads. Every query of a user goes through a scope here (access.visible_cases and friends)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q

from casework.choices import ClockState
from casework.errors import NotFound
from casework.models import AuditEvent, Case, CaseClock, Committee, User
from casework.services import access
from casework.services.audit import case_stream

CASE_LIST_RELATED = ("category", "township", "committee", "member")


def case_list(user: User, *, status: str | None = None, before_id: int | None = None, limit: int = 50) -> list[Case]:
    qs = access.visible_cases(user).select_related(*CASE_LIST_RELATED).order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return list(qs[:limit])


def case_detail(user: User, case_id: int) -> Case:
    case = (
        access.visible_cases(user)
        .select_related(*CASE_LIST_RELATED, "reject_reason", "output")
        .prefetch_related("contacts")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound(code="case_not_found")
    return case


def case_events(user: User, case_id: int, *, after_seq: int = 0, limit: int = 100) -> list[AuditEvent]:
    case_detail_exists = access.visible_cases(user).filter(pk=case_id).exists()
    if not case_detail_exists:
        raise NotFound(code="case_not_found")
    return list(
        AuditEvent.objects.filter(stream=case_stream(case_id), seq__gt=after_seq)
        .select_related("actor")
        .order_by("seq")[:limit]
    )


def case_clocks(case: Case) -> list[CaseClock]:
    return list(case.clocks.order_by("id"))


def queues_for(user: User) -> list[Committee]:
    """The committees whose queues the user works, with their unclaimed and own counts."""
    ids = access.committee_ids_of(user)
    if not ids:
        return []
    running = Q(caseclock_queue__state=ClockState.RUNNING)
    return list(
        Committee.objects.filter(pk__in=ids)
        .annotate(
            unclaimed=Count("caseclock_queue", filter=running & Q(caseclock_queue__assignee__isnull=True)),
            mine=Count("caseclock_queue", filter=running & Q(caseclock_queue__assignee=user)),
        )
        .order_by("id")
    )


QUEUE_RELATED = ("case", "case__category", "case__township", "case__member")


def queue_page(
    user: User, committee_id: int, *, after: tuple[datetime, int] | None = None, limit: int = 50
) -> list[CaseClock]:
    """Unclaimed tasks of one queue, most urgent first, by keyset (no COUNT, no OFFSET): one
    query whatever the size of the queue or the page."""
    if not access.is_committee_staff(user, committee_id):
        raise NotFound(code="queue_not_found")
    qs = CaseClock.objects.filter(queue_id=committee_id, state=ClockState.RUNNING, assignee__isnull=True)
    if after is not None:
        due, last_id = after
        # The redundant `due_at >= due` lets the (queue, due_at, id) index start at the cursor.
        qs = qs.filter(due_at__gte=due).filter(Q(due_at__gt=due) | Q(id__gt=last_id))
    return list(qs.select_related(*QUEUE_RELATED).order_by("due_at", "id")[:limit])


def my_tasks(user: User, *, limit: int = 100) -> list[CaseClock]:
    return list(
        CaseClock.objects.filter(assignee=user, state=ClockState.RUNNING)
        .select_related(*QUEUE_RELATED)
        .order_by("due_at", "id")[:limit]
    )
