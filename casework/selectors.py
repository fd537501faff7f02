"""Reads. Every query of a user goes through a scope here (access.visible_cases and friends)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models import Case as DbCase
from django.db.models.fields.tuple_lookups import TupleGreaterThan
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.timezone import get_current_timezone
from django.utils.translation import gettext as _

from casework import access
from casework.choices import (
    SLA_FILTERS,
    WAITING_ON_MEMBER,
    AssignmentStatus,
    AuditAction,
    CaseStatus,
    ClockState,
    Decision,
    ExtensionState,
    OutputStatus,
    OutputType,
    ReplyClass,
    Role,
    SlaState,
    Stage,
    Urgency,
)
from casework.errors import InvalidInput, NotFound, PermissionDenied
from casework.models import (
    Assignment,
    AuditEvent,
    Case,
    CaseCategory,
    CaseClock,
    Committee,
    Contact,
    Department,
    Notification,
    Output,
    OutputFile,
    OutputRating,
    OutputReason,
    OutputSigner,
    RejectReason,
    Sector,
    Township,
    User,
)
from casework.services import audit, deadlines
from casework.services.audit import case_stream, output_stream

CASE_LIST_RELATED = ("category", "township", "committee", "member")


def case_list(
    user: User,
    *,
    status: str | None = None,
    sla: str | None = None,
    before_id: int | None = None,
    q: str = "",
    limit: int = 50,
) -> list[Case]:
    """The cases the user may see, newest first; `sla`: only those with a clock running that is
    overdue (breached) or nearly due (warning); `q`: only those whose title or description holds
    the text, whatever its case (a plain scan: enough for a committee's few thousand cases)."""
    qs = access.visible_cases(user).select_related(*CASE_LIST_RELATED).order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(description__icontains=q))
    if sla:
        qs = qs.filter(Exists(CaseClock.objects.filter(sla_filter(sla, timezone.now()), case_id=OuterRef("pk"))))
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return list(qs[:limit])


def waiting_on_member(user: User, *, limit: int = 50) -> list[Case]:
    """The member's own cases that wait on them (drafts, questions, feedback): shown apart from,
    and whatever the filters of, the list of all their cases. Feedback whose clock has run out
    comes first, then feedback nearly due, then the rest, newest first; each case carries
    `feedback_sla` (`SlaState` breached or warning, else None) for the page to mark it."""
    member_id = access.member_id_of(user)
    if member_id is None:
        return []
    now = timezone.now()

    def feedback_clock(sla: str) -> Exists:
        return Exists(CaseClock.objects.filter(sla_filter(sla, now), case_id=OuterRef("pk"), stage=Stage.FEEDBACK))

    qs = (
        access.visible_cases(user)
        .filter(member_id=member_id, status__in=WAITING_ON_MEMBER)
        .annotate(
            feedback_breached=feedback_clock(SlaState.BREACHED),
            feedback_warning=feedback_clock(SlaState.WARNING),
            # What the member is asked for comes in the order of what it holds up: a committee
            # waiting on an answer, then a constituent waiting to be told, then their own drafts.
            waiting_order=DbCase(
                When(status=CaseStatus.NEEDS_INFO, then=Value(0)),
                When(status=CaseStatus.FEEDBACK, then=Value(1)),
                default=Value(2),
            ),
        )
    )
    rows = with_clocks(
        list(
            qs.select_related(*CASE_LIST_RELATED).order_by(
                "waiting_order", "-feedback_breached", "-feedback_warning", "-id"
            )[:limit]
        )
    )
    for case in rows:
        case.feedback_sla = (  # type: ignore[attr-defined]
            SlaState.BREACHED if case.feedback_breached else SlaState.WARNING if case.feedback_warning else None
        )
    return rows


def with_clocks(cases: list[Case], now: datetime | None = None) -> list[Case]:
    """Set on each case `clock`: the clock of the stage it is in, told in plain words
    (`describe_clock`), or None (a draft, a closed case). One query for the whole list."""
    by_case: dict[int, list[CaseClock]] = {}
    ids = [c.pk for c in cases]
    if ids:
        for clock in CaseClock.objects.filter(case_id__in=ids).exclude(state=ClockState.STOPPED).order_by("id"):
            by_case.setdefault(clock.case_id, []).append(clock)
    calendar, moment = deadlines.WorkCalendar(), now or timezone.now()
    for case in cases:
        clock = open_clock(by_case.get(case.pk, []))
        case.clock = describe_clock(clock, moment, calendar) if clock is not None else None  # type: ignore[attr-defined]
    return cases


def case_detail(user: User | None, case_id: int) -> Case:
    """One case the user may see, ready to show. `user=None` reads it whoever may see it: only
    for answering the actor of a change that took the case out of their sight."""
    cases = access.visible_cases(user) if user is not None else Case.objects.all()
    case = (
        cases.select_related(*CASE_LIST_RELATED, "reject_reason", "output")
        # Only what a case shows of its constituents: every encrypted column read is a decryption,
        # and the ID number and address are never shown with a case.
        .prefetch_related(Prefetch("contacts", queryset=Contact.objects.only("id", "name", "phone", "organisation_id")))
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound(code="case_not_found")
    return case


def case_events(user: User, case_id: int, *, after_seq: int = 0, limit: int = 100) -> list[AuditEvent]:
    """A case's timeline as the user may read it: the events are for showing, and the source
    address of an action is left out (None) unless `access.may_see_source_ip` allows it, so no
    page or answer built on them can show another person's address."""
    case_detail_exists = access.visible_cases(user).filter(pk=case_id).exists()
    if not case_detail_exists:
        raise NotFound(code="case_not_found")
    rows = list(
        AuditEvent.objects.filter(stream=case_stream(case_id), seq__gt=after_seq)
        .select_related("actor")
        .order_by("seq")[:limit]
    )
    for row in rows:
        if not access.may_see_source_ip(user, row.actor_id):
            row.source_ip = None
    return rows


def case_clocks(case: Case, now: datetime | None = None) -> list[CaseClock]:
    """A case's clocks, oldest first, each told in plain words (`describe_clock`)."""
    clocks = list(case.clocks.order_by("id"))
    calendar = deadlines.WorkCalendar()
    moment = now or timezone.now()
    for clock in clocks:
        describe_clock(clock, moment, calendar)
    return clocks


def open_clock(clocks: list[CaseClock]) -> CaseClock | None:
    """Of a case's clocks, the one of the stage it is in: the running one, else a paused one
    (review waiting on the member's answer)."""
    live = [c for c in clocks if c.state != ClockState.STOPPED]
    return next((c for c in live if c.state == ClockState.RUNNING), live[0] if live else None)


def describe_clock(clock: CaseClock, now: datetime, calendar: deadlines.WorkCalendar) -> CaseClock:
    """Set on the clock what a person reads of it: `last_day` (its deadline's last day, which
    ends at 24:00), `working_days_left` (negative: overdue by that many), `words` (剩余 2 个工作日 /
    今日 24:00 到期 / 已超期 1 个工作日 / 暂停中 …), `tone` (ok, soon, overdue, paused, done,
    late, error: how a page colours it) and `sla` (`SlaState`: ok, warning, breached, paused,
    stopped, error)."""
    clock.sla = sla_state(clock, now)  # type: ignore[attr-defined]
    clock.last_day = deadlines.last_day(clock.due_at) if clock.due_at else None  # type: ignore[attr-defined]
    clock.working_days_left = None  # type: ignore[attr-defined]
    if clock.due_at is None and clock.state != ClockState.STOPPED:
        year = clock.due_error.rpartition(":")[2] if clock.due_error else "?"
        words, tone = _("到期时间无法计算：%(y)s 年节假日安排尚未录入") % {"y": year}, "error"
    elif clock.state == ClockState.STOPPED:
        words, tone = {
            True: (_("按时完成"), "done"),
            False: (_("超时完成"), "late"),
            None: (_("已停止"), "done"),
        }[clock.is_met]
    elif clock.state == ClockState.PAUSED:
        left = clock.days_left_at_pause
        words = _("暂停中（剩余 %(n)d 个工作日）") % {"n": left} if left is not None and left > 0 else _("暂停中")
        tone = "paused"
    else:
        assert clock.due_at is not None
        try:
            left = deadlines.working_days_left(calendar, now, clock.due_at)
        except deadlines.CalendarMissing as missing:
            words, tone = str(missing.message), "error"
        else:
            clock.working_days_left = left  # type: ignore[attr-defined]
            if left > 0:
                words = _("剩余 %(n)d 个工作日") % {"n": left}
                tone = "soon" if clock.sla == SlaState.WARNING else "ok"  # type: ignore[attr-defined]
            elif left == 0 and now < clock.due_at:
                words, tone = _("今日 24:00 到期"), "soon"
            else:
                words = _("已超期 %(n)d 个工作日") % {"n": max(-left, 0)} if left < 0 else _("已超期")
                tone = "overdue"
    clock.words, clock.tone = words, tone  # type: ignore[attr-defined]
    return clock


def sla_state(clock: CaseClock, now: datetime) -> str:
    """Where a clock stands against its policy. The sweep's marks count as soon as the time has
    come, so a page does not wait for the next sweep to say a deadline has passed."""
    if clock.state == ClockState.STOPPED:
        return SlaState.STOPPED
    if clock.state == ClockState.PAUSED:
        return SlaState.PAUSED
    return running_sla(clock.due_at, clock.warn_at, clock.warned_at, clock.breached_at, now)


def running_sla(
    due_at: datetime | None,
    warn_at: datetime | None,
    warned_at: datetime | None,
    breached_at: datetime | None,
    now: datetime,
) -> SlaState:
    """`sla_state` of a running clock, from its columns (the queue page reads them as values)."""
    if due_at is None:
        return SlaState.ERROR
    if breached_at is not None or now >= due_at:
        return SlaState.BREACHED
    if warned_at is not None or (warn_at is not None and now >= warn_at):
        return SlaState.WARNING
    return SlaState.OK


def sla_filter(sla: str, now: datetime, prefix: str = "") -> Q:
    """Running clocks that are overdue (`breached`) or nearly due (`warning`); `prefix` reaches
    the clock from another model (e.g. "clocks__")."""
    running = Q(**{f"{prefix}state": ClockState.RUNNING})
    if sla == SlaState.BREACHED:
        return running & Q(**{f"{prefix}due_at__lte": now})
    if sla == SlaState.WARNING:
        return running & Q(**{f"{prefix}warn_at__lte": now, f"{prefix}due_at__gt": now})
    raise ValueError(sla)


QUEUE_RELATED = ("case", "case__category", "case__township", "case__member")
QUEUE_COUNT_CAP = 1000


def queues_for(user: User) -> list[dict[str, Any]]:
    """The committees whose queues the user works, with their unclaimed and own counts. The
    unclaimed count stops at QUEUE_COUNT_CAP (`unclaimed_more` says so): counting a queue of a
    hundred thousand on every visit took a quarter of a second, and nobody reads past 1000."""
    ids = access.committee_ids_of(user)
    if not ids:
        return []
    committees = list(Committee.objects.filter(pk__in=ids).order_by("id"))
    running = CaseClock.objects.filter(state=ClockState.RUNNING)
    mine = dict(
        running.filter(assignee=user, queue_id__in=ids)
        .values("queue_id")
        .annotate(n=Count("id"))
        .values_list("queue_id", "n")
    )
    queues = []
    for committee in committees:
        unclaimed = running.filter(queue_id=committee.pk, assignee__isnull=True)[: QUEUE_COUNT_CAP + 1].count()
        queues.append(
            {
                "id": committee.pk,
                "name": committee.name,
                "unclaimed": min(unclaimed, QUEUE_COUNT_CAP),
                "unclaimed_more": unclaimed > QUEUE_COUNT_CAP,
                "mine": mine.get(committee.pk, 0),
            }
        )
    return queues


# The columns a queue row shows. The page is read as tuples and shaped as plain dicts: building
# and serialising five model objects a row cost three times the query itself (bench/README.md).
QUEUE_COLUMNS = (
    "id",
    "task_id",
    "stage",
    "due_at",
    "started_at",
    "case_id",
    "case__title",
    "case__status",
    "case__urgency",
    "case__category_id",
    "case__category__name",
    "case__township_id",
    "case__township__name",
    "case__member_id",
    "case__member__name",
    "case__submitted_at",
    "warn_at",
    "warned_at",
    "breached_at",
    "assignee_id",
    "due_error",
    "queue_id",
)


def _queue_item(row: tuple, zone: tzinfo, now: datetime) -> dict:
    (
        clock_id,
        task_id,
        stage,
        due_at,
        started_at,
        case_id,
        title,
        status,
        urgency,
        category_id,
        category,
        township_id,
        township,
        member_id,
        member,
        submitted_at,
        warn_at,
        warned_at,
        breached_at,
        assignee_id,
        _due_error,
        _queue_id,
    ) = row
    sla = running_sla(due_at, warn_at, warned_at, breached_at, now)
    return {
        "clock": clock_id,
        "task": task_id,
        "stage": stage,
        "due_at": due_at.astimezone(zone).isoformat() if due_at is not None else None,
        "sla": sla.value,
        "started_at": started_at.astimezone(zone).isoformat(),
        "owner": assignee_id,
        "case": {
            "id": case_id,
            "title": title,
            "status": status,
            "urgency": urgency,
            "category": {"id": category_id, "name": category},
            "township": {"id": township_id, "name": township} if township_id is not None else None,
            "member": {"id": member_id, "name": member},
            "submitted_at": submitted_at.astimezone(zone).isoformat() if submitted_at else None,
        },
    }


# Most urgent first; a clock whose due time could not be reckoned (a year with no published
# calendar) after every dated one, in the order its tasks opened.
DUE_ORDER = (F("due_at").asc(nulls_last=True), "id")


QUEUE_STAGES = (Stage.REVIEW, Stage.CONVERSION)
# Whose tasks a queue view shows: the unclaimed ones (the default: what is there to take), the
# user's own, anyone's; or a staff member's, by their id.
CLAIMED_NONE, CLAIMED_MINE, CLAIMED_ANYONE = "none", "mine", "anyone"
CLAIMED_CHOICES = (CLAIMED_NONE, CLAIMED_MINE, CLAIMED_ANYONE)


@dataclass(frozen=True)
class QueueFilters:
    """What a queue view was asked to show; every field optional (the default: unclaimed tasks of
    every stage). `claimed` is one of CLAIMED_CHOICES or a staff member's id as text; `q` is a
    search text already checked by the caller (`workflows.inputs.clean_search`)."""

    stage: str | None = None
    category_id: int | None = None
    township_id: int | None = None
    urgency: str | None = None
    sla: str | None = None
    claimed: str = CLAIMED_NONE
    q: str = ""

    def as_params(self) -> dict[str, str]:
        """The filter as query parameters (the page's "next page" link, its export)."""
        params = {
            "stage": self.stage,
            "category": self.category_id,
            "township": self.township_id,
            "urgency": self.urgency,
            "sla": self.sla,
            "claimed": None if self.claimed == CLAIMED_NONE else self.claimed,
            "q": self.q or None,
        }
        return {k: str(v) for k, v in params.items() if v is not None}


def _id_param(raw: str | None) -> int | None:
    """A record's id typed in a query string (a bigint), else None."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) < 2**63:
        return int(raw)
    return None


def queue_staff(user: User, committee_id: int) -> list[User]:
    """Who works a queue (its staff and its head), by name: whose tasks a queue view may be
    narrowed to. NotFound for anyone who does not work it."""
    if not access.is_committee_staff(user, committee_id):
        raise NotFound(code="queue_not_found")
    return list(
        User.objects.filter(Q(staffed_committees__id=committee_id) | Q(headed_committees__id=committee_id))
        .distinct()
        .order_by("id")
    )


def queue_filters(
    user: User, committee_id: int, params: Mapping[str, str], *, q: str = "", strict: bool = False
) -> QueueFilters:
    """The filter of a query string. A value the queue does not know (a stage, a category of
    another organisation, someone who does not work the queue) is ignored, so a page shows the
    wider queue rather than an error; `strict` (the API) refuses it with InvalidInput naming the
    field instead. The search text `q` is checked by the caller, as every typed text is. NotFound
    first for anyone who does not work the queue: they learn nothing of what a valid filter is."""
    if not access.is_committee_staff(user, committee_id):
        raise NotFound(code="queue_not_found")

    def get(name: str) -> str | None:
        raw = params.get(name)
        return raw if raw not in (None, "") else None

    def bad(field: str) -> None:
        if strict:
            raise _bad(field, _("「%(f)s」取值无效。") % {"f": field})

    values: dict[str, Any] = {"q": q}
    stage = get("stage")
    if stage is not None:
        if stage in QUEUE_STAGES:
            values["stage"] = stage
        else:
            bad("stage")
    urgency = get("urgency")
    if urgency is not None:
        if urgency in Urgency.values:
            values["urgency"] = urgency
        else:
            bad("urgency")
    sla = get("sla")
    if sla is not None:
        if sla in SLA_FILTERS:
            values["sla"] = sla
        else:
            bad("sla")
    for name, model in (("category", CaseCategory), ("township", Township)):
        raw = get(name)
        if raw is None:
            continue
        ref = _id_param(raw)
        if ref is not None and model.objects.filter(pk=ref, organisation_id=access.organisation_id_of(user)).exists():
            values[f"{name}_id"] = ref
        else:
            bad(name)
    claimed = get("claimed")
    if claimed is not None:
        if claimed in CLAIMED_CHOICES:
            values["claimed"] = claimed
        else:
            staff_id = _id_param(claimed)
            if staff_id is not None and staff_id in {u.pk for u in queue_staff(user, committee_id)}:
                values["claimed"] = str(staff_id)
            else:
                bad("claimed")
    return QueueFilters(**values)


def _queue(user: User, committee_id: int, filters: QueueFilters) -> QuerySet[CaseClock]:
    """The running tasks of one queue that the filter admits. NotFound (the same for a queue
    that does not exist) for anyone who does not work it: a filter never reaches past the queue,
    whoever's tasks it asks for."""
    if not access.is_committee_staff(user, committee_id):
        raise NotFound(code="queue_not_found")
    queue = CaseClock.objects.filter(queue_id=committee_id, state=ClockState.RUNNING)
    if filters.claimed == CLAIMED_NONE:
        queue = queue.filter(assignee__isnull=True)
    elif filters.claimed == CLAIMED_MINE:
        queue = queue.filter(assignee=user)
    elif filters.claimed != CLAIMED_ANYONE:
        queue = queue.filter(assignee_id=int(filters.claimed))
    return _narrow(queue, filters)


def _narrow(clocks: QuerySet[CaseClock], filters: QueueFilters) -> QuerySet[CaseClock]:
    if filters.stage:
        clocks = clocks.filter(stage=filters.stage)
    if filters.category_id is not None:
        clocks = clocks.filter(case__category_id=filters.category_id)
    if filters.township_id is not None:
        clocks = clocks.filter(case__township_id=filters.township_id)
    if filters.urgency:
        clocks = clocks.filter(case__urgency=filters.urgency)
    if filters.sla:
        clocks = clocks.filter(sla_filter(filters.sla, timezone.now()))
    if filters.q:
        # A plain scan of the titles and descriptions: enough for one committee's queue.
        clocks = clocks.filter(Q(case__title__icontains=filters.q) | Q(case__description__icontains=filters.q))
    return clocks


def _unclaimed(user: User, committee_id: int, sla: str | None) -> QuerySet[CaseClock]:
    return _queue(user, committee_id, QueueFilters(sla=sla))


def queue_clocks(user: User, committee_id: int, *, sla: str | None = None, limit: int = 100) -> list[CaseClock]:
    """The most urgent unclaimed tasks of a queue, each clock told in plain words."""
    clocks = list(_unclaimed(user, committee_id, sla).select_related(*QUEUE_RELATED).order_by(*DUE_ORDER)[:limit])
    calendar, now = deadlines.WorkCalendar(), timezone.now()
    return [describe_clock(clock, now, calendar) for clock in clocks]


def _by_due(clocks: QuerySet[CaseClock], after: tuple[datetime | None, int] | None, limit: int) -> list[tuple]:
    """A page of `clocks` in DUE_ORDER from the keyset `after` (the (due_at, id) of the last row
    of the page before): one query whatever the size of the queue or the page (two on a later
    page where the dated tasks run out and the undated ones begin)."""
    rows: list[tuple] = []
    if after is None:
        # The index's own order (due_at ascending, nulls last): one walk for the first page.
        rows = list(clocks.order_by(*DUE_ORDER).values_list(*QUEUE_COLUMNS)[:limit])
    elif after[0] is not None:
        # A row-value comparison, (due_at, id) > (cursor): PostgreSQL walks the (queue, due_at,
        # id) index from the cursor on. The OR form sorted every row sharing the cursor's due
        # time, and deadlines end at 24:00, so tens of thousands share one (a deep page took
        # 170 ms instead of 15). Django has no public row-value lookup yet; this is the one its
        # composite primary keys use.
        dated = clocks.filter(TupleGreaterThan((F("due_at"), F("id")), tuple(after)))
        rows = list(dated.order_by("due_at", "id").values_list(*QUEUE_COLUMNS)[:limit])
    if after is not None and len(rows) < limit:
        undated = clocks.filter(due_at__isnull=True)
        if after[0] is None:
            undated = undated.filter(id__gt=after[1])
        rows += undated.order_by("id").values_list(*QUEUE_COLUMNS)[: limit - len(rows)]
    return rows


def _items(rows: list[tuple], describe: bool) -> list[dict]:
    # The zone read once a page: looking it up for each of 150 times cost 1.5 ms a page.
    zone, now = get_current_timezone(), timezone.now()
    items = [_queue_item(row, zone, now) for row in rows]
    if describe:
        calendar = deadlines.WorkCalendar()
        for row, item in zip(rows, items, strict=True):
            _describe_item(item, row, now, calendar)
    return items


def _describe_item(item: dict, row: tuple, now: datetime, calendar: deadlines.WorkCalendar) -> None:
    """What a page shows of a row besides its columns: the clock in words (`describe_clock`, on a
    clock built from the row rather than read again) and the times as datetimes."""
    named = dict(zip(QUEUE_COLUMNS, row, strict=True))
    clock = CaseClock(
        state=ClockState.RUNNING,
        due_at=named["due_at"],
        due_error=named["due_error"] or "",
        warn_at=named["warn_at"],
        warned_at=named["warned_at"],
        breached_at=named["breached_at"],
    )
    describe_clock(clock, now, calendar)
    item.update(
        words=clock.words,  # type: ignore[attr-defined]
        tone=clock.tone,  # type: ignore[attr-defined]
        last_day=clock.last_day,  # type: ignore[attr-defined]
        due=named["due_at"],
        queue=named["queue_id"],
        submitted=named["case__submitted_at"],
        urgency_label=str(Urgency(named["case__urgency"]).label) if named["case__urgency"] in Urgency.values else "",
        stage_label=str(Stage(named["stage"]).label) if named["stage"] in Stage.values else named["stage"],
    )


def queue_page(
    user: User,
    committee_id: int,
    *,
    after: tuple[datetime | None, int] | None = None,
    limit: int = 50,
    sla: str | None = None,
    filters: QueueFilters | None = None,
    describe: bool = False,
) -> list[dict]:
    """Tasks of one queue, most urgent first (undated last), by keyset (no COUNT, no OFFSET):
    the unclaimed ones unless `filters` asks for others (see `queue_filters`); `sla`: only the
    overdue or the nearly due (the older argument, for a filter of only that). `describe`: each
    row also carries the clock in words and its times as datetimes (the page and the export)."""
    queue = _queue(user, committee_id, filters if filters is not None else QueueFilters(sla=sla))
    return _items(_by_due(queue, after, limit), describe)


MY_TASK_ORDERS = ("due", "submitted")


def _my_clocks(user: User) -> QuerySet[CaseClock]:
    """The tasks the user holds in the queues they work now (one taken in a committee they have
    since left is that committee's to reassign, not theirs to see)."""
    return CaseClock.objects.filter(
        assignee=user, state=ClockState.RUNNING, queue_id__in=list(access.committee_ids_of(user))
    )


def my_task_page(
    user: User,
    *,
    order: str = "due",
    after: tuple[datetime | None, int] | None = None,
    limit: int = 50,
    describe: bool = True,
) -> list[dict]:
    """The user's claimed tasks across their committees, keyset-paged: most urgent first
    (`order="due"`, undated last), or longest waiting first (`"submitted"`: by the case's
    submission time, then the clock's id). `after`: the last row's (due_at or submitted_at, id)."""
    clocks = _my_clocks(user)
    if order == "submitted":
        clocks = clocks.annotate(submitted_key=Coalesce("case__submitted_at", "started_at"))
        if after is not None:
            moment, last_id = after
            clocks = clocks.filter(
                Q(submitted_key__gt=moment) | Q(submitted_key=moment, id__gt=last_id)
                if moment is not None
                else Q(id__gt=last_id)
            )
        rows = list(clocks.order_by("submitted_key", "id").values_list(*QUEUE_COLUMNS)[:limit])
    else:
        rows = _by_due(clocks, after, limit)
    return _items(rows, describe)


def my_tasks(user: User, *, limit: int = 100) -> list[CaseClock]:
    """The user's claimed tasks, most urgent first, each clock told in plain words."""
    clocks = list(
        CaseClock.objects.filter(assignee=user, state=ClockState.RUNNING)
        .select_related(*QUEUE_RELATED)
        .order_by(*DUE_ORDER)[:limit]
    )
    calendar, now = deadlines.WorkCalendar(), timezone.now()
    return [describe_clock(clock, now, calendar) for clock in clocks]


# A spreadsheet of a queue or of one's tasks holds at most this many rows (the most urgent);
# more is asked for with a narrower filter, and the sheet says it was cut short.
QUEUE_EXPORT_MAX_ROWS = 2000


def queue_export_rows(user: User, committee_id: int, filters: QueueFilters) -> tuple[list[dict], bool]:
    """At most QUEUE_EXPORT_MAX_ROWS tasks of the filtered queue, most urgent first, and
    whether there were more."""
    rows = queue_page(user, committee_id, filters=filters, limit=QUEUE_EXPORT_MAX_ROWS + 1, describe=True)
    return rows[:QUEUE_EXPORT_MAX_ROWS], len(rows) > QUEUE_EXPORT_MAX_ROWS


def my_task_export_rows(user: User, *, order: str = "due") -> tuple[list[dict], bool]:
    rows = my_task_page(user, order=order, limit=QUEUE_EXPORT_MAX_ROWS + 1)
    return rows[:QUEUE_EXPORT_MAX_ROWS], len(rows) > QUEUE_EXPORT_MAX_ROWS


# Reference data: what a user's forms and clients choose from, scoped to their organisation -----


def categories(user: User) -> QuerySet[CaseCategory]:
    return CaseCategory.objects.filter(organisation_id=access.organisation_id_of(user)).order_by("id")


def townships(user: User) -> QuerySet[Township]:
    return Township.objects.filter(organisation_id=access.organisation_id_of(user)).order_by("id")


def committees(user: User) -> QuerySet[Committee]:
    return Committee.objects.filter(organisation_id=access.organisation_id_of(user)).order_by("id")


def reject_reasons(user: User) -> QuerySet[RejectReason]:
    """The reasons a case may be rejected with now (retired ones stay on old cases only)."""
    return RejectReason.objects.filter(organisation_id=access.organisation_id_of(user), is_active=True).order_by("id")


def my_contacts(user: User) -> QuerySet[Contact]:
    """The constituents on the user's own roster (a member's, empty for anyone else)."""
    member_id = access.member_id_of(user)
    if member_id is None:
        return Contact.objects.none()
    return Contact.objects.filter(roster__member_id=member_id).order_by("id")


def my_contacts_last_filed(user: User) -> QuerySet[Contact]:
    """The member's roster for their home page: each constituent's name only (the encrypted
    columns are never read) and `last_filed`, when the member last submitted a case for them
    (None: never), reckoned by the database over the cases' contacts in the same query."""
    member_id = access.member_id_of(user)
    return (
        my_contacts(user)
        .only("id", "name")
        .annotate(last_filed=Max("cases__submitted_at", filter=Q(cases__member_id=member_id)))
        .order_by("id")
    )


def transfer_committees(user: User, case: Case) -> QuerySet[Committee]:
    """The committees a case may be handed to: any other of its organisation."""
    return committees(user).exclude(pk=case.committee_id)


def joinable_outputs(user: User, case: Case, output_type: str | None = None) -> QuerySet[Output]:
    """Draft outputs of the case's committee that it could be gathered into."""
    qs = access.visible_outputs(user).filter(committee_id=case.committee_id, status=OutputStatus.DRAFT)
    if output_type:
        qs = qs.filter(output_type=output_type)
    return qs.order_by("-id")


# The choices the output transitions offer ---------------------------------------------------------


def gathered_cases(user: User, output: Output) -> QuerySet[Case]:
    """The cases a draft output gathered that may leave it."""
    return access.visible_cases(user).filter(output=output, status=CaseStatus.OUTCOME).order_by("id")


def members(user: User) -> QuerySet[User]:
    """The organisation's members (their accounts): who may sign a proposal."""
    return User.objects.filter(
        organisation_id=access.organisation_id_of(user), member__isnull=False, is_active=True
    ).order_by("id")


def _team_of(committee_id: int) -> Q:
    """The members of a committee's team: its staff and its head."""
    return Q(pk__in=Committee.staff.through.objects.filter(committee_id=committee_id).values("user_id")) | Q(
        pk__in=Committee.objects.filter(pk=committee_id, head__isnull=False).values("head_id")
    )


def team_members(user: User, case: Case) -> QuerySet[User]:
    """Whom the head may give a case's open task to: the active staff and the head of the
    committee the case is with."""
    return User.objects.filter(
        _team_of(case.committee_id), organisation_id=access.organisation_id_of(user), is_active=True
    ).order_by("id")


def sectors(user: User) -> QuerySet[Sector]:
    return Sector.objects.filter(organisation_id=access.organisation_id_of(user)).order_by("id")


def leaders(user: User) -> QuerySet[User]:
    """Leadership of the organisation: who may supervise a key proposal."""
    return User.objects.filter(
        organisation_id=access.organisation_id_of(user), groups__name=Role.LEADERSHIP, is_active=True
    ).order_by("id")


def output_reasons(user: User) -> QuerySet[OutputReason]:
    return OutputReason.objects.filter(organisation_id=access.organisation_id_of(user), is_active=True).order_by("id")


def departments(user: User) -> QuerySet[Department]:
    return Department.objects.filter(organisation_id=access.organisation_id_of(user)).order_by("id")


def merge_proposals(user: User, output: Output, query: str = "", limit: int = 20) -> list[Output]:
    """Proposals `output` could be merged into (并案): the organisation's others under review,
    filed or being handled, matching `query` in the title or number."""
    qs = access.visible_outputs(user).filter(
        organisation_id=output.organisation_id,
        output_type=OutputType.PROPOSAL,
        status__in=(OutputStatus.SUBMITTED, OutputStatus.FILED, OutputStatus.ASSIGNED),
    )
    qs = qs.exclude(pk=output.pk)
    query = query.strip()
    if query:
        qs = qs.filter(Q(title__icontains=query) | Q(number__icontains=query))
    return list(qs.order_by("-id")[:limit])


def objected_assignments(user: User, output: Output) -> QuerySet[Assignment]:
    return output.assignments.filter(status=AssignmentStatus.OBJECTED).select_related("department").order_by("id")


# A duplicate follows its master to an outcome: the master must be on its way to one (or have
# it), not a draft, closed, merged itself, rejected or sent to another channel.
MERGEABLE_STATUSES = (
    CaseStatus.REVIEW,
    CaseStatus.NEEDS_INFO,
    CaseStatus.CONVERSION,
    CaseStatus.OUTCOME,
    CaseStatus.FEEDBACK,
)
UNMERGEABLE_DECISIONS = (Decision.REJECTED, Decision.REDIRECTED)
MERGE_TARGET = Q(status__in=MERGEABLE_STATUSES) & ~Q(decision__in=UNMERGEABLE_DECISIONS)


def is_merge_target(case: Case) -> bool:
    """`MERGE_TARGET`, for a case in hand."""
    return case.status in MERGEABLE_STATUSES and case.decision not in UNMERGEABLE_DECISIONS


def merge_targets(user: User, case: Case, query: str = "", limit: int = 20) -> list[Case]:
    """Open cases `case` could be merged into, newest first, matching `query` in the title or
    by number."""
    qs = access.visible_cases(user).filter(MERGE_TARGET).exclude(pk=case.pk)
    query = query.strip()
    if query:
        number = query.lstrip("#")
        match = Q(title__icontains=query)
        # isascii(): "²" and "١" are digits to isdigit() but not to int().
        if number.isascii() and number.isdigit() and len(number) <= 18:
            match |= Q(pk=int(number))
        qs = qs.filter(match)
    return list(qs.select_related("member", "committee").order_by("-id")[:limit])


def referrals(user: User, *, before_id: int | None = None, limit: int = 50) -> list[Output]:
    """The info reports sent up to the user's organisation that wait for its decision, newest
    first: for the staff who decide on them there (`access.is_receiving_staff`)."""
    if not user.is_authenticated or user.organisation_id is None or not access.may_decide_referrals(user):
        return []
    qs = (
        access.visible_outputs(user)
        .filter(
            output_type=OutputType.INFO_REPORT,
            status=OutputStatus.SENT_UP,
            with_organisation_id=user.organisation_id,
        )
        .exclude(organisation_id=user.organisation_id)
        .select_related("organisation", "committee")
        .order_by("-id")
    )
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return list(qs[:limit])


def output_detail(user: User, output_id: int) -> Output:
    output = access.visible_outputs(user).select_related("committee", "term", "session").filter(pk=output_id).first()
    if output is None:
        raise NotFound(code="output_not_found")
    return output


def output_cases(user: User, output: Output) -> list[Case]:
    """The cases an output gathered that the user may see."""
    return list(access.visible_cases(user).filter(output=output).select_related(*CASE_LIST_RELATED).order_by("id"))


def output_events(output: Output, limit: int = 500) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(stream=output_stream(output.pk)).select_related("actor").order_by("seq")[:limit]
    )


# The desks of the proposal lifecycle ------------------------------------------------------------

# Each list of a desk shows at most this many rows (the oldest waiting first).
DESK_ROWS = 200
WAITING_ON_DEPARTMENT = Q(status__in=(AssignmentStatus.ASSIGNED, AssignmentStatus.ACCEPTED)) | Q(
    status=AssignmentStatus.REPLIED, reply_class=ReplyClass.B, solved_at__isnull=True
)


OFFICE_DESK_LISTS = ("submitted", "filed", "objected", "extensions")


def office_desk(user: User, *, limit: int = DESK_ROWS) -> dict[str, list[Any]]:
    """What waits on the proposal office: proposals submitted for review, filed ones to assign,
    this round's assignments a department objected to, and extension requests to decide. The
    office's only; anyone else is refused."""
    return {name: office_desk_list(user, name, limit=limit) for name in OFFICE_DESK_LISTS}


def office_desk_list(user: User, name: str, *, limit: int = DESK_ROWS) -> list[Any]:
    """One list of the office's desk (`OFFICE_DESK_LISTS`), the oldest waiting first."""
    if Role.PROPOSAL_OFFICE not in access.roles_of(user):
        raise PermissionDenied(_("只有提案委员会可以查看提案工作台。"), code="not_proposal_office")
    if name not in OFFICE_DESK_LISTS:
        raise NotFound(code="list_not_found")
    org = access.organisation_id_of(user)
    proposals = Output.objects.filter(organisation_id=org, output_type=OutputType.PROPOSAL).select_related("committee")
    assignments = Assignment.objects.filter(organisation_id=org, round=F("output__round")).select_related(
        "output", "department"
    )
    rows: QuerySet[Any]
    if name == "submitted":
        rows = proposals.filter(status=OutputStatus.SUBMITTED).order_by("submitted_at", "id")
    elif name == "filed":
        rows = proposals.filter(status=OutputStatus.FILED).order_by("decided_at", "id")
    elif name == "objected":
        rows = assignments.filter(status=AssignmentStatus.OBJECTED, output__status=OutputStatus.ASSIGNED).order_by(
            "objected_at", "id"
        )
    else:
        rows = assignments.filter(
            extension_state=ExtensionState.REQUESTED,
            status__in=(AssignmentStatus.ASSIGNED, AssignmentStatus.ACCEPTED),
        ).order_by("due_at", "id")
    return list(rows[:limit])


def department_desk(user: User, *, limit: int = DESK_ROWS) -> list[Assignment]:
    """A department liaison's assignments: the open ones first (to accept, handle, reply to, or a
    B reply to report on), soonest due first, then the rest, latest first (`limit` of each). A
    liaison's only."""
    department_id = user.department_id
    if not access.is_liaison(user) or department_id is None:
        raise PermissionDenied(_("只有承办单位联络员可以查看承办工作台。"), code="not_liaison")
    rows = (
        Assignment.objects.filter(organisation_id=access.organisation_id_of(user), department_id=department_id)
        .select_related("output", "department")
        .annotate(is_open=ExpressionWrapper(WAITING_ON_DEPARTMENT, output_field=BooleanField()))
    )
    open_rows: list[Assignment] = list(
        rows.filter(is_open=True).order_by(F("due_at").asc(nulls_last=True), "id")[:limit]
    )
    done: list[Assignment] = list(rows.filter(is_open=False).order_by("-assigned_at", "-id")[:limit])
    return open_rows + done


def my_signatures_waiting(user: User, *, limit: int = 50) -> list[OutputSigner]:
    """The user's signatures that wait on them: to confirm on a draft, or to rate this round's
    handling once replied."""
    if not user.is_authenticated or user.organisation_id is None:
        return []
    rated = OutputRating.objects.filter(signer=OuterRef("pk"), round=OuterRef("output__round"))
    return list(
        OutputSigner.objects.filter(user=user, output__organisation_id=user.organisation_id)
        .filter(
            Q(output__status=OutputStatus.DRAFT, confirmed_at__isnull=True)
            | (Q(output__status=OutputStatus.REPLIED) & ~Exists(rated))
        )
        .select_related("output")
        .order_by("output__status", "id")[:limit]
    )


def output_list(
    user: User,
    *,
    output_type: str | None = None,
    status: str | None = None,
    q: str = "",
    before_id: int | None = None,
    limit: int = 50,
) -> list[Output]:
    """The outputs the user may see, newest first; `q`: only those whose title or number holds
    the text (a plain scan, as for the cases)."""
    qs = access.visible_outputs(user).select_related("committee").order_by("-id")
    if output_type:
        qs = qs.filter(output_type=output_type)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(number__icontains=q))
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return list(qs[:limit])


def output_timeline(user: User, output_id: int, *, after_seq: int = 0, limit: int = 100) -> list[AuditEvent]:
    """An output's timeline (its audit stream) as the user may read it: source addresses are
    left out as on a case's (`case_events`)."""
    if not access.visible_outputs(user).filter(pk=output_id).exists():
        raise NotFound(code="output_not_found")
    rows = list(
        AuditEvent.objects.filter(stream=output_stream(output_id), seq__gt=after_seq)
        .select_related("actor")
        .order_by("seq")[:limit]
    )
    for row in rows:
        if not access.may_see_source_ip(user, row.actor_id):
            row.source_ip = None
    return rows


# What waits on a department: an assignment it has not yet accepted, objected to or replied to.
OPEN_ASSIGNMENT = (AssignmentStatus.ASSIGNED, AssignmentStatus.ACCEPTED)
# Where an assignment without a due time sorts: after every dated one.
NO_DUE = datetime(9999, 1, 1, tzinfo=UTC)


def desk_assignments(user: User) -> QuerySet[Assignment]:
    """The assignments a user works or oversees: a department's liaison their own department's,
    the proposal office every one of the organisation; nobody else any."""
    if not user.is_authenticated or user.organisation_id is None:
        return Assignment.objects.none()
    if Role.PROPOSAL_OFFICE in access.roles_of(user):
        return Assignment.objects.filter(organisation_id=user.organisation_id)
    if access.is_liaison(user):
        return Assignment.objects.filter(organisation_id=user.organisation_id, department_id=user.department_id)
    return Assignment.objects.none()


def assignment_list(
    user: User,
    *,
    status: str | None = None,
    overdue: bool = False,
    after: tuple[int, datetime, int] | None = None,
    limit: int = 50,
) -> list[Assignment]:
    """A department's desk: open assignments first, each part soonest due first (those without a
    due time last), keyset-paged by (closed, due, id). `overdue`: only open ones past their due
    time. Each row carries `is_overdue`."""
    now = timezone.now()
    qs = (
        desk_assignments(user)
        .select_related("output", "department")
        .annotate(
            closed=DbCase(When(status__in=OPEN_ASSIGNMENT, then=Value(0)), default=Value(1)),
            due_key=Coalesce("due_at", Value(NO_DUE)),
        )
        .order_by("closed", "due_key", "id")
    )
    if status:
        qs = qs.filter(status=status)
    if overdue:
        qs = qs.filter(status__in=OPEN_ASSIGNMENT, due_at__lt=now)
    if after is not None:
        closed, due, last_id = after
        due = NO_DUE if due is None else due
        qs = qs.filter(
            Q(closed__gt=closed) | Q(closed=closed, due_key__gt=due) | Q(closed=closed, due_key=due, id__gt=last_id)
        )
    rows = list(qs[:limit])
    for row in rows:
        row.is_overdue = row.status in OPEN_ASSIGNMENT and row.due_at is not None and row.due_at < now  # type: ignore[attr-defined]
    return rows


def my_signatures(user: User, *, before_id: int | None = None, limit: int = 50) -> list[OutputSigner]:
    """The user's signatures on their organisation's outputs, newest first, each with the output
    it is on."""
    if not user.is_authenticated or user.organisation_id is None:
        return []
    qs = (
        OutputSigner.objects.filter(user=user, output__organisation_id=user.organisation_id)
        .select_related("output")
        .order_by("-id")
    )
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return list(qs[:limit])


def visible_file(user: User, file_id: int) -> OutputFile:
    """A file of an output the user may see; NotFound otherwise (the same for one that does not
    exist)."""
    found = OutputFile.objects.filter(pk=file_id, output__in=access.visible_outputs(user)).first()
    if found is None:
        raise NotFound(_("附件不存在。"), code="file_not_found")
    return found


# The audit trail, as auditors read it ---------------------------------------------------------


def audit_alerts(user: User, *, limit: int = 50) -> list[dict[str, Any]]:
    """Verification alerts as auditors see them. Province-wide: a broken chain is everyone's."""
    if Role.AUDITOR not in access.roles_of(user):
        raise PermissionDenied(_("只有审计管理员可以查看审计告警。"), code="not_auditor")
    rows = []
    for event in audit.alerts(limit=limit):
        first = event.changes.get("first") or {}
        kind = str(first.get("kind", ""))
        rows.append(
            {
                "id": event.pk,
                "occurred_at": event.occurred_at,
                "mode": event.changes.get("mode", ""),
                "breaks": event.changes.get("breaks", 0),
                "message": _("审计链校验失败：%(n)d 处异常，第一处为「%(label)s」（%(stream)s）。")
                % {
                    "n": event.changes.get("breaks", 0),
                    "label": audit.BREAK_LABELS.get(kind, kind),
                    "stream": first.get("stream", ""),
                },
                "first": first,
            }
        )
    return rows


# A committee head's team page ------------------------------------------------------------------

TEAM_TASK_ROWS = 300  # the held tasks the page lists (each member's most urgent first)
TEAM_UNCLAIMED_ROWS = 30  # the most urgent unclaimed tasks it lists


def headed_committee(user: User, committee_id: int) -> Committee:
    """A committee the user heads; anyone else (its staff included) is told it does not exist."""
    if committee_id not in access.headed_committee_ids_of(user):
        raise NotFound(_("委办不存在。"), code="team_not_found")
    return Committee.objects.get(pk=committee_id, organisation_id=access.organisation_id_of(user))


def headed_committees(user: User) -> list[Committee]:
    """The committees the user heads, for a link to each team page."""
    ids = access.headed_committee_ids_of(user)
    return list(Committee.objects.filter(pk__in=ids).order_by("id")) if ids else []


def team_page(user: User, committee_id: int) -> dict[str, Any]:
    """What a head sees of their committee's work now, from the running clocks of its queue (a
    running clock is a task waiting in it: `queues_for`): for each member of the team (staff and
    head, and anyone no longer in it who still holds one of its tasks) how many open tasks they
    hold, how many are overdue and nearly due, and the oldest; the unclaimed tasks, counted the
    same way; and the tasks themselves, most urgent first, for the page to hand on. The counts
    are one GROUP BY over the queue, whatever the size of the team."""
    committee = headed_committee(user, committee_id)
    now = timezone.now()
    running = CaseClock.objects.filter(queue_id=committee.pk, state=ClockState.RUNNING)
    tallies = {
        "held": Count("id"),
        "overdue": Count("id", filter=Q(due_at__lte=now)),
        "warning": Count("id", filter=Q(warn_at__lte=now, due_at__gt=now)),
    }
    by_holder: dict[int, dict[str, Any]] = {
        row["assignee_id"]: dict(row)
        for row in running.filter(assignee__isnull=False)
        .values("assignee_id")
        .annotate(**tallies, oldest_started=Min("started_at"))
        .order_by()
    }
    # Each holder's oldest task: the clocks that started at their earliest start, the lowest id
    # winning a tie. One query by those (holder, start) pairs: a subquery per group, in the GROUP
    # BY above, ran once a clock and took 55 s on a queue of 1,000,000 cases' clocks.
    if by_holder:
        firsts = Q()
        for holder, row in by_holder.items():
            firsts |= Q(assignee_id=holder, started_at=row["oldest_started"])
        for holder, case_id in running.filter(firsts).order_by("-id").values_list("assignee_id", "case_id"):
            by_holder[holder]["oldest_case"] = case_id
    in_team = _team_of(committee.pk)
    team = list(
        User.objects.filter(in_team | Q(pk__in=list(by_holder)), organisation_id=committee.organisation_id)
        .annotate(in_team=Exists(User.objects.filter(in_team, pk=OuterRef("pk"))))
        .order_by("id")
    )
    calendar = deadlines.WorkCalendar()
    held = list(
        running.filter(assignee__isnull=False).select_related(*QUEUE_RELATED).order_by(*DUE_ORDER)[:TEAM_TASK_ROWS]
    )
    tasks: dict[int, list[CaseClock]] = {}
    for clock in held:
        tasks.setdefault(clock.assignee_id, []).append(describe_clock(clock, now, calendar))  # type: ignore[arg-type]
    members = []
    for member in team:
        row = by_holder.get(member.pk, {})
        members.append(
            {
                "user": member,
                "is_head": member.pk == committee.head_id,
                "in_team": member.in_team,  # type: ignore[attr-defined]
                "active": member.is_active,
                "held": row.get("held", 0),
                "overdue": row.get("overdue", 0),
                "warning": row.get("warning", 0),
                "oldest_started": row.get("oldest_started"),
                "oldest_case": row.get("oldest_case"),
                "tasks": tasks.get(member.pk, []),
            }
        )
    unclaimed = running.filter(assignee__isnull=True)
    counts = unclaimed.aggregate(**tallies)
    return {
        "committee": committee,
        "members": members,
        "unclaimed": {
            "count": counts["held"],
            "overdue": counts["overdue"],
            "warning": counts["warning"],
            "tasks": [
                describe_clock(clock, now, calendar)
                for clock in unclaimed.select_related(*QUEUE_RELATED).order_by(*DUE_ORDER)[:TEAM_UNCLAIMED_ROWS]
            ],
        },
        "listed_all": len(held) < TEAM_TASK_ROWS,
        # Whom a task may go to: the active members of the team.
        "assignable": [m["user"] for m in members if m["in_team"] and m["active"]],
    }


# Decisions a committee makes on a case in review, as its figures count them (a request for
# information is a question, not a decision).
FINAL_DECISIONS = (Decision.ACCEPTED, Decision.REJECTED, Decision.RESOLVED, Decision.REDIRECTED, Decision.MERGED)


def committee_figures(user: User, committee_id: int, *, first: date, last: date) -> dict[str, Any]:
    """A committee's work between `first` and `last` (local days, both included), for its head:

    - received: cases whose first review in this committee's queue began in the period (filed
      to it, or transferred to it; a case sent back for review again is not received twice);
    - decided: the review decisions standing now that were made in the period, by decision (one
      sent back no longer stands), and the cases it transferred to another committee;
    - the median time from a case's submission to its decision, in days, of those decided;
    - the stage clocks that ended in the period, met or breached, by stage (`sla_report`).

    Each figure is one aggregate query."""
    committee = headed_committee(user, committee_id)
    zone = get_current_timezone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last, time.min, tzinfo=zone) + timedelta(days=1)
    received = (
        CaseClock.objects.filter(organisation_id=committee.organisation_id, queue_id=committee.pk, stage=Stage.REVIEW)
        .values("case_id")
        .annotate(first_review=Min("started_at"))
        .filter(first_review__gte=start, first_review__lt=end)
        .count()
    )
    decided_cases = Case.objects.filter(
        organisation_id=committee.organisation_id,
        committee_id=committee.pk,
        decision__in=FINAL_DECISIONS,
        decided_at__gte=start,
        decided_at__lt=end,
    )
    by_decision = dict(decided_cases.values_list("decision").annotate(n=Count("id")).order_by())
    transferred = AuditEvent.objects.filter(
        organisation_id=committee.organisation_id,
        action=AuditAction.CASE_TRANSFERRED,
        target_type="case",
        occurred_at__gte=start,
        occurred_at__lt=end,
        changes__committee__0=committee.pk,
    ).count()
    decisions = [
        {"decision": value, "label": str(Decision(value).label), "count": by_decision.get(value, 0)}
        for value in FINAL_DECISIONS
    ]
    decisions.append({"decision": "transferred", "label": _("转交其他委办"), "count": transferred})
    waits = sorted(
        (decided - submitted).total_seconds()
        for submitted, decided in decided_cases.filter(submitted_at__isnull=False).values_list(
            "submitted_at", "decided_at"
        )
        if submitted is not None and decided is not None
    )
    median_days = None
    if waits:
        middle = len(waits) // 2
        seconds = waits[middle] if len(waits) % 2 else (waits[middle - 1] + waits[middle]) / 2
        median_days = round(seconds / 86400, 1)
    try:
        sla = sla_report(user, first=first, last=last, committee_id=committee.pk, include_running=False)
    except PermissionDenied:
        sla = None  # a head without the report's role: the page leaves the table out
    return {
        "first": first,
        "last": last,
        "received": received,
        "decisions": decisions,
        "decided": sum(d["count"] for d in decisions),
        "median_days": median_days,
        "sla": sla,
    }


# SLA compliance --------------------------------------------------------------------------------

REPORT_ROLES = frozenset({Role.LEADERSHIP, Role.COMMITTEE_HEAD, Role.COMMITTEE_STAFF, Role.PROPOSAL_OFFICE})


def sla_report(
    user: User,
    *,
    first: date,
    last: date,
    committee_id: int | None = None,
    sector_id: int | None = None,
    include_running: bool = True,
) -> dict[str, Any]:
    """SLA compliance per committee and stage: of the clocks that ended with a verdict between
    `first` and `last` (local days, both included), how many met their deadline; and of the
    clocks running now, how many are nearly due or overdue. Leadership and the proposal office
    read every committee of their organisation; a committee's head and staff read theirs.
    `sector_id`: only the clocks of cases filed by members of that sector (the dashboard's filter);
    `include_running=False` leaves the running clocks uncounted (zero), a query the dashboard,
    which shows only the verdicts, does not need."""
    roles = access.roles_of(user)
    if not roles & REPORT_ROLES:
        raise PermissionDenied(_("只有委办工作人员、主任和主席会议成员可以查看时限报表。"), code="not_report_reader")
    org = access.organisation_id_of(user)
    committees = Committee.objects.filter(organisation_id=org)
    if not roles & {Role.LEADERSHIP, Role.PROPOSAL_OFFICE}:
        committees = committees.filter(pk__in=access.committee_ids_of(user))
    if committee_id is not None:
        committees = committees.filter(pk=committee_id)
        if not committees.exists():
            raise NotFound(code="committee_not_found")
    names = dict(committees.values_list("pk", "name"))
    zone = get_current_timezone()
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last, time.min, tzinfo=zone) + timedelta(days=1)
    now = timezone.now()
    clocks = CaseClock.objects.filter(organisation_id=org, case__committee_id__in=list(names))
    if sector_id is not None:
        clocks = clocks.filter(case__member__sector_id=sector_id)
    judged = (
        clocks.filter(state=ClockState.STOPPED, is_met__isnull=False, stopped_at__gte=start, stopped_at__lt=end)
        .values_list("case__committee_id", "stage")
        .annotate(met=Count("pk", filter=Q(is_met=True)), late=Count("pk", filter=Q(is_met=False)))
    )
    running = (
        clocks.filter(state=ClockState.RUNNING)
        .values_list("case__committee_id", "stage")
        .annotate(
            open=Count("pk"),
            overdue=Count("pk", filter=Q(due_at__lte=now)),
            warning=Count("pk", filter=Q(warn_at__lte=now, due_at__gt=now)),
        )
    )
    rows: dict[tuple[int, str], dict[str, Any]] = {}

    def row(committee: int, stage: str) -> dict[str, Any]:
        return rows.setdefault(
            (committee, stage),
            {
                "committee": {"id": committee, "name": names[committee]},
                "stage": stage,
                "met": 0,
                "late": 0,
                "open": 0,
                "warning": 0,
                "overdue": 0,
            },
        )

    for committee, stage, met, late in judged:
        row(committee, stage).update(met=met, late=late)
    for committee, stage, count, overdue, warning in running if include_running else ():
        row(committee, stage).update(open=count, overdue=overdue, warning=warning)
    order = {stage: i for i, stage in enumerate(Stage.values)}
    result = sorted(rows.values(), key=lambda r: (r["committee"]["name"], order.get(r["stage"], 99)))
    totals = {k: sum(r[k] for r in result) for k in ("met", "late", "open", "warning", "overdue")}
    for item in (*result, totals):
        judged_count = item["met"] + item["late"]
        item["judged"] = judged_count
        item["compliance"] = round(item["met"] / judged_count, 4) if judged_count else None
    return {"first": first, "last": last, "rows": result, "totals": totals}


# A user's own notifications ------------------------------------------------------------------


def notifications(
    user: User, *, unread_only: bool = False, before_id: int | None = None, limit: int = 50
) -> list[Notification]:
    """The user's notifications, newest first (the `notification_recent` / `_unread` indexes).
    Only ever the user's own: there is no reading someone else's."""
    qs = Notification.objects.filter(recipient=user).order_by("-id")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if before_id is not None:
        qs = qs.filter(id__lt=before_id)
    return list(qs[:limit])


def unread_count(user: User) -> int:
    """The header's badge: one count over the partial index of unread rows."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_settings(user: User) -> dict[str, Any]:
    """The channels the user chose (besides in-app, which every notification is) and what they
    need: an email address (kept by the administrators) and, for DingTalk's @, a mobile."""
    return {
        "email": user.notify_by_email,
        "dingtalk": user.notify_by_dingtalk,
        "mobile": user.mobile,
        "email_address": user.email,
    }


# The audit trail as its auditor reads it --------------------------------------------------------

# The most events one spreadsheet holds: a year of a busy organisation's writes fits; more is
# asked for with a narrower filter (the page says so).
AUDIT_EXPORT_MAX_ROWS = 50_000
AUDIT_STREAM_MAX_LENGTH = 40  # AuditEvent.stream


@dataclass(frozen=True)
class AuditFilters:
    """What the auditor asked for; every field optional. `first`/`last` are Beijing dates,
    both inclusive."""

    action: str | None = None
    actor_id: int | None = None
    first: date | None = None
    last: date | None = None
    stream: str | None = None
    success: bool | None = None

    def as_params(self) -> dict[str, str]:
        """The filter as query parameters (the page's "older" link and its export)."""
        params = {
            "action": self.action,
            "actor": self.actor_id,
            "from": self.first.isoformat() if self.first else None,
            "to": self.last.isoformat() if self.last else None,
            "stream": self.stream,
            "success": None if self.success is None else ("1" if self.success else "0"),
        }
        return {k: str(v) for k, v in params.items() if v is not None}


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, code=f"invalid_{field}", details={"field": field})


def audit_filters(params: Mapping[str, str]) -> AuditFilters:
    """The filter of a query string, or InvalidInput naming the first bad field: a filter that
    cannot be read is refused rather than silently widened to every event."""

    def get(name: str) -> str | None:
        raw = params.get(name)
        return raw if raw not in (None, "") else None

    action = get("action")
    if action is not None and action not in AuditAction.values:
        raise _bad("action", _("未知的操作类型。"))
    actor_raw = get("actor")
    actor_id = None
    if actor_raw is not None:
        if not actor_raw.isascii() or not actor_raw.isdigit() or len(actor_raw) > 18 or int(actor_raw) == 0:
            raise _bad("actor", _("操作人编号无效。"))
        actor_id = int(actor_raw)
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = get(name)
        days[name] = None
        if raw is not None:
            try:
                if len(raw) != 10:
                    raise ValueError(raw)
                days[name] = date.fromisoformat(raw)
            except ValueError:
                raise _bad(name, _("「%(f)s」应为日期，如 2026-01-31。") % {"f": name}) from None
    first, last = days["from"], days["to"]
    if first and last and first > last:
        raise _bad("to", _("结束日期不能早于开始日期。"))
    if last is not None and last >= date.max - timedelta(days=1):
        raise _bad("to", _("「%(f)s」应为日期，如 2026-01-31。") % {"f": "to"})
    stream = get("stream")
    if stream is not None and len(stream) > AUDIT_STREAM_MAX_LENGTH:
        raise _bad("stream", _("链名称过长。"))
    success_raw = get("success")
    success = None
    if success_raw is not None:
        if success_raw not in ("1", "0", "true", "false"):
            raise _bad("success", _("success 取值应为 1 或 0。"))
        success = success_raw in ("1", "true")
    return AuditFilters(action, actor_id, first, last, stream, success)


def auditor_only(user: User) -> None:
    """Refuse anyone but an auditor (checked before the filter is read, so no one else learns
    what a valid filter is)."""
    if Role.AUDITOR not in access.roles_of(user):
        raise PermissionDenied(_("只有审计管理员可以查看审计记录。"), code="not_auditor")


def _audit_queryset(user: User, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """The auditor's organisation's events and the province-wide ones (no organisation: the
    verifier's alerts, failed sign-ins under names no account has), which every auditor reads as
    they read the alerts. Another organisation's events are never in it."""
    events = AuditEvent.objects.filter(Q(organisation_id=user.organisation_id) | Q(organisation__isnull=True))
    if filters.action is not None:
        events = events.filter(action=filters.action)
    if filters.actor_id is not None:
        events = events.filter(actor_id=filters.actor_id)
    zone = get_current_timezone()
    if filters.first is not None:
        events = events.filter(occurred_at__gte=datetime.combine(filters.first, time.min, tzinfo=zone))
    if filters.last is not None:
        end = datetime.combine(filters.last + timedelta(days=1), time.min, tzinfo=zone)
        events = events.filter(occurred_at__lt=end)
    if filters.stream is not None:
        events = events.filter(stream=filters.stream)
    if filters.success is not None:
        events = events.filter(success=filters.success)
    return events.select_related("actor").order_by("-id")


def _audit_row(event: AuditEvent) -> dict[str, Any]:
    actor = event.actor
    return {
        "id": event.pk,
        "occurred_at": timezone.localtime(event.occurred_at),
        "stream": event.stream,
        "seq": event.seq,
        "action": event.action,
        "action_label": str(AuditAction(event.action).label) if event.action in AuditAction.values else event.action,
        "actor": None if actor is None else {"id": actor.pk, "name": str(actor)},
        "target_type": event.target_type,
        "target_id": event.target_id,
        "source_ip": event.source_ip,  # auditors read every address (access.may_see_source_ip)
        "success": event.success,
        "changes": event.changes,
    }


def audit_events(
    user: User, filters: AuditFilters, *, before_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """A page of audit events as the auditor reads them, newest first (by the order they were
    written), keyset-paged by id. Only auditors: anyone else is refused (not_auditor)."""
    auditor_only(user)
    events = _audit_queryset(user, filters)
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    return [_audit_row(e) for e in events[:limit]]


def audit_export_rows(user: User, filters: AuditFilters) -> tuple[list[dict[str, Any]], bool]:
    """At most AUDIT_EXPORT_MAX_ROWS events of the filter, newest first, and whether there were
    more (the export says it was cut short rather than pretending to be whole)."""
    auditor_only(user)
    rows = [_audit_row(e) for e in _audit_queryset(user, filters)[: AUDIT_EXPORT_MAX_ROWS + 1]]
    return rows[:AUDIT_EXPORT_MAX_ROWS], len(rows) > AUDIT_EXPORT_MAX_ROWS
