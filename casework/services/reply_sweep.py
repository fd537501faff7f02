"""The reply sweep: a department's reply to a proposal has a deadline (`Assignment.due_at`); this
marks each open assignment nearly due and overdue, once each, and tells its department's
liaisons and the proposal office (and, when overdue, a key proposal's supervising leader).

Run with the clock sweep by Celery beat (`workflows.tasks.sla_sweep_task`), in the same way: each
step is one conditional UPDATE … RETURNING over a partial index that holds only the assignments
still waiting for that mark (`assignment_sweep_warn`, `assignment_sweep_breach`), taken with SKIP
LOCKED on PostgreSQL, and the batch's notifications are written in its transaction. A mark set is
never set again, so a message goes out once however many sweeps run; an approved extension
clears the marks against the new deadline."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from casework.choices import NotificationKind, Role
from casework.models import Assignment, User
from casework.services.notifications import Message, notify_all

BATCH = 500
OPEN = ("assigned", "accepted")


def _col(name: str) -> str:
    field = Assignment._meta.get_field(name)
    assert isinstance(field, Field) and field.column
    return connection.ops.quote_name(field.column)


def _mark(mark: str, when: str, now: datetime, limit: int) -> list[int]:
    """Set `mark` to now on up to `limit` open assignments whose `when` has come and that lack it."""
    table = connection.ops.quote_name(Assignment._meta.db_table)
    pk = connection.ops.quote_name("id")
    at = connection.ops.adapt_datetimefield_value(now)
    waiting = (
        f"{_col('status')} IN ('assigned', 'accepted') AND {_col(mark)} IS NULL "
        f"AND {_col(when)} IS NOT NULL AND {_col(when)} <= %s"
    )
    pick = f"SELECT {pk} FROM {table} WHERE {waiting} ORDER BY {_col(when)}, {pk} LIMIT %s"
    if connection.features.has_select_for_update_skip_locked:
        sql = (
            f"WITH picked AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED) "
            f"UPDATE {table} SET {_col(mark)} = %s WHERE {pk} = ANY(ARRAY(SELECT {pk} FROM picked)) RETURNING {pk}"
        )
        params = [at, limit, at]
    else:
        sql = f"UPDATE {table} SET {_col(mark)} = %s WHERE {pk} IN ({pick}) AND {waiting} RETURNING {pk}"
        params = [at, at, limit, at]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _tell(ids: list[int], *, overdue: bool) -> int:
    rows = list(
        Assignment.objects.filter(pk__in=ids)
        .select_related("output", "department")
        .order_by("due_at", "id")
        .values(
            "id",
            "department_id",
            "department__name",
            "due_at",
            "organisation_id",
            "output_id",
            "output__title",
            "output__number",
            "output__supervisor_id",
        )
    )
    departments = {r["department_id"] for r in rows}
    organisations = {r["organisation_id"] for r in rows}
    liaisons: dict[int, list[int]] = {}
    for user_id, department_id in User.objects.filter(
        department_id__in=departments, groups__name=Role.DEPARTMENT_LIAISON, is_active=True
    ).values_list("id", "department_id"):
        liaisons.setdefault(department_id, []).append(user_id)
    offices: dict[int, list[int]] = {}
    for user_id, organisation_id in User.objects.filter(
        organisation_id__in=organisations, groups__name=Role.PROPOSAL_OFFICE, is_active=True
    ).values_list("id", "organisation_id"):
        offices.setdefault(organisation_id, []).append(user_id)
    messages = []
    kind = NotificationKind.CLOCK_BREACH if overdue else NotificationKind.CLOCK_WARNING
    for r in rows:
        due = timezone.localtime(r["due_at"]).strftime("%Y-%m-%d")
        title = (_("提案答复已超期：%(t)s") if overdue else _("提案答复即将到期：%(t)s")) % {"t": r["output__title"]}
        body = _("%(d)s 的答复期限为 %(due)s。%(n)s") % {
            "d": r["department__name"],
            "due": due,
            "n": r["output__number"],
        }
        recipients = set(liaisons.get(r["department_id"], [])) | set(offices.get(r["organisation_id"], []))
        if overdue and r["output__supervisor_id"]:
            recipients.add(r["output__supervisor_id"])
        key = f"assignment:{r['id']}:{'breach' if overdue else 'warn'}:{due}"
        messages += [
            Message(
                recipient_id=user_id,
                organisation_id=r["organisation_id"],
                kind=kind,
                title=title,
                body=body,
                dedupe_key=key,
            )
            for user_id in sorted(recipients)
        ]
    return len(notify_all(messages))


def sweep_replies(now: datetime | None = None, *, batch: int = BATCH) -> dict[str, int]:
    """Mark and tell every open assignment nearly due or overdue by `now`. A breach is marked
    first and counts as the warning too, so an assignment found overdue is not first told it is
    nearly due."""
    now = now or timezone.now()
    figures = {"replies_overdue": 0, "replies_warned": 0, "notifications": 0}
    with translation.override(settings.LANGUAGE_CODE):
        for mark, when, counter, overdue in (
            ("breached_at", "due_at", "replies_overdue", True),
            ("warned_at", "warn_at", "replies_warned", False),
        ):
            while True:
                with transaction.atomic():
                    ids = _mark(mark, when, now, batch)
                    if overdue and ids:
                        Assignment.objects.filter(pk__in=ids, warned_at__isnull=True).update(warned_at=now)
                    if ids:
                        figures["notifications"] += _tell(ids, overdue=overdue)
                figures[counter] += len(ids)
                if len(ids) < batch:
                    break
    return figures
