"""Row locks for state changes, in the one order every path takes them (stated here only):

1. output rows, by ascending id;
2. case rows, by ascending id;
3. each case's flow process row (viewflow's lock, taken inside the workflow engine);
4. then the case's tasks and clocks are written under those locks.

A transition takes everything it will change in steps 1 and 2 up front, one statement per kind
(`acquire`): its subject and the records its input names (the master of a merge, the draft
output a conversion joins). An output's event reaching the cases it gathered (an outcome
recorded, workflows/propagate.py) takes the output, then those cases (`gathered_cases`), then
their duplicates (`merged_trees`), then all their process rows in one statement.

Two exceptions, both unable to deadlock:
- claim-next takes a queue's clock row and its case row together with SKIP LOCKED: it never
  waits, so it holds nothing anyone waits on while it waits itself;
- the cases merged into a case are locked after it, whatever their ids (`merged_tree`, and
  `merged_trees` for many masters at once): a merged case changes only through its master, so
  nobody holds one while waiting for the master.

A lock PostgreSQL breaks anyway (deadlock, lock timeout) fails the whole transaction, which
changes nothing; the API answers 409 "busy"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import F

from casework import access
from casework.choices import CaseStatus
from casework.models import Case, Output, User
from casework.services import bulk


@dataclass
class Locked:
    cases: dict[int, Case] = field(default_factory=dict)
    outputs: dict[int, Output] = field(default_factory=dict)


def acquire(actor: User, *, cases: Iterable[int] = (), outputs: Iterable[int] = ()) -> Locked:
    """Lock the records `actor` may see among the given ids, outputs first, each kind by
    ascending id. Ids the actor may not see (or that do not exist) are absent from the answer:
    the caller says which is missing, in its own words."""
    assert connection.in_atomic_block
    locked = Locked()
    output_ids = sorted(set(outputs))
    if output_ids:
        outputs_qs = access.visible_outputs(actor).select_for_update(of=("self",)).filter(pk__in=output_ids)
        locked.outputs = {o.pk: o for o in outputs_qs.order_by("id")}
    case_ids = sorted(set(cases))
    if case_ids:
        # of=self: lock the case rows only, not the organisation row the join reads.
        cases_qs = (
            access.visible_cases(actor)
            .select_for_update(of=("self",))
            .select_related("organisation")
            .filter(pk__in=case_ids)
            .order_by("id")
        )
        locked.cases = {c.pk: c for c in cases_qs}
    return locked


def gathered_cases(output: Output, status: str | None = None) -> list[Case]:
    """The cases `output` (locked by the caller) gathered that are in `status` (None: all but
    merged ones, which follow their master), locked by ascending id, with their members' users
    (`member_user_id`: who a member's task goes to) read in the same statement."""
    cases = Case.objects.select_for_update(of=("self",)).annotate(member_user_id=F("member__user_id"))
    cases = cases.filter(status=status) if status is not None else cases.exclude(status=CaseStatus.MERGED)
    return list(cases.filter(output=output).order_by("id"))


def merged_trees(masters: list[Case]) -> list[Case]:
    """`merged_tree` of many masters (locked by the caller) at once: every case merged into any
    of them, directly or through another duplicate, read (a recursive query) and locked by
    ascending id in one statement."""
    if not masters:
        return []
    table = connection.ops.quote_name(Case._meta.db_table)
    merged_into, params = bulk.in_list("merged_into_id", [m.pk for m in masters])
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return list(
        Case.objects.raw(
            f"WITH RECURSIVE tree(id) AS ("
            f"SELECT id FROM {table} WHERE {merged_into} "
            f"UNION SELECT c.id FROM {table} c JOIN tree ON c.merged_into_id = tree.id) "
            f"SELECT * FROM {table} WHERE id IN (SELECT id FROM tree) ORDER BY id{lock}",
            params,
        )
    )


def merged_tree(master: Case) -> list[Case]:
    """Every case merged into `master` (locked by the caller), directly or through another
    duplicate, locked by ascending id. The tree is read first, then locked in one statement."""
    tree: list[int] = []
    frontier = [master.pk]
    while frontier:
        frontier = list(Case.objects.filter(merged_into_id__in=frontier).values_list("id", flat=True))
        tree.extend(frontier)
    if not tree:
        return []
    return list(Case.objects.select_for_update(of=("self",)).filter(pk__in=tree).order_by("id"))
