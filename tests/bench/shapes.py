"""The shape of what was written for a case: everything about its rows that does not depend on
ids, texts or moments. Two cases that went down the same path of the flow have the same shape,
whether the actions wrote them or bench/generate.py did, so the two can be compared.

Read with plain SQL through any DB-API cursor (Django's or psycopg's), so the generated
database and the test database are read by the same code."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

Row = tuple[Any, ...]


@dataclass(frozen=True)
class CaseShape:
    # status, decision, and which of output, merged_into, submitted_at, decided_at, closed_at,
    # outcome, feedback_told_on are set
    case: Row
    # (flow_class, status, finished set), or None for a case with no flow (a draft)
    process: Row | None
    # every task in creation order: (flow_task, flow_task_type, status, token, owner, assigned set,
    # started set, finished set, positions of its previous tasks in this list)
    tasks: tuple[Row, ...]
    # the open task: (node, whether someone holds it), or None
    open_task: Row | None
    # every clock in the order it started: (stage, state, queue, assignee, task, claimed_at set,
    # paused_at set, stopped_at set, is_met, warn_at set)
    clocks: tuple[Row, ...]
    # the case's audit stream in order: (action, keys of its changes, actor); a master's
    # merge_received events belong to the duplicate that caused them (see `merge_received`)
    events: tuple[Row, ...]
    # how many merge_received events this case caused on the case it was merged into
    merge_received: int

    def skeleton(self) -> CaseShape:
        """The shape with each verdict reduced to whether there is one: whether a stage was met
        or missed depends on when, not on the path."""
        clocks = tuple((*c[:8], None if c[8] is None else "judged", *c[9:]) for c in self.clocks)
        return replace(self, clocks=clocks)


def _party(user_id: int | None, member_user: int) -> str | None:
    if user_id is None:
        return None
    return "member" if user_id == member_user else "staff"


def _keys(changes: Any) -> tuple[str, ...]:
    if isinstance(changes, str):
        changes = json.loads(changes)
    return tuple(sorted(changes or {}))


def read_cases(cur: Any, case_ids: list[int]) -> dict[int, CaseShape]:
    cur.execute(
        """SELECT c.id, c.status, c.decision, c.output_id IS NOT NULL, c.merged_into_id, c.submitted_at IS NOT NULL,
                  c.decided_at IS NOT NULL, c.closed_at IS NOT NULL, c.outcome <> '', c.committee_id, m.user_id,
                  c.feedback_told_on IS NOT NULL
           FROM casework_case c JOIN casework_member m ON m.id = c.member_id WHERE c.id = ANY(%s)""",
        [case_ids],
    )
    cases = {r[0]: r for r in cur.fetchall()}
    member_of = {cid: r[10] for cid, r in cases.items()}
    committee_of = {cid: r[9] for cid, r in cases.items()}

    cur.execute(
        """SELECT cp.case_id, p.flow_class, p.status, p.finished IS NOT NULL FROM workflows_caseprocess cp
           JOIN viewflow_process p ON p.id = cp.process_ptr_id WHERE cp.case_id = ANY(%s)""",
        [case_ids],
    )
    processes = {r[0]: r[1:] for r in cur.fetchall()}

    cur.execute(
        """SELECT cp.case_id, t.id, t.flow_task, t.flow_task_type, t.status, t.token, t.owner_id,
                  t.assigned IS NOT NULL, t.started IS NOT NULL, t.finished IS NOT NULL
           FROM viewflow_task t JOIN workflows_caseprocess cp ON cp.process_ptr_id = t.process_id
           WHERE cp.case_id = ANY(%s) ORDER BY t.id""",
        [case_ids],
    )
    task_rows = cur.fetchall()
    cur.execute(
        "SELECT from_task_id, to_task_id FROM viewflow_task_previous WHERE from_task_id = ANY(%s)",
        [[r[1] for r in task_rows]],
    )
    previous: dict[int, list[int]] = defaultdict(list)
    for later, earlier in cur.fetchall():
        previous[later].append(earlier)
    trail: dict[int, list[int]] = defaultdict(list)
    for r in task_rows:
        trail[r[0]].append(r[1])
    tasks: dict[int, list[Row]] = defaultdict(list)
    open_task: dict[int, Row] = {}
    for case_id, tid, flow_task, kind, status, token, owner, assigned, started, finished in task_rows:
        position = trail[case_id].index
        before = tuple(sorted(position(p) if p in trail[case_id] else -1 for p in previous[tid]))
        who = _party(owner, member_of[case_id])
        tasks[case_id].append((flow_task, kind, status, token, who, assigned, started, finished, before))
        if status in ("NEW", "ASSIGNED"):
            assert case_id not in open_task, f"case {case_id} has two open tasks"
            open_task[case_id] = (flow_task.rsplit(".", 1)[-1], owner is not None, tid)

    cur.execute(
        """SELECT case_id, stage, state, queue_id, assignee_id, task_id, claimed_at IS NOT NULL,
                  paused_at IS NOT NULL, stopped_at IS NOT NULL, is_met, stopped_at, due_at, warn_at
           FROM casework_caseclock WHERE case_id = ANY(%s) ORDER BY started_at, id""",
        [case_ids],
    )
    clocks: dict[int, list[Row]] = defaultdict(list)
    for (
        case_id,
        stage,
        state,
        queue,
        assignee,
        task,
        claimed,
        paused,
        stopped,
        is_met,
        stopped_at,
        due,
        warn_at,
    ) in cur.fetchall():
        # A verdict is whether the stage ended by its due time: checked here, on both sides.
        assert is_met is None or is_met == (stopped_at <= due), f"case {case_id}: {stage} verdict {is_met}"
        # A clock with a deadline warns before it (the generator reckons it as the app does).
        assert (warn_at is None) == (due is None), f"case {case_id}: {stage} warns at {warn_at}, due {due}"
        assert warn_at is None or warn_at <= due, f"case {case_id}: {stage} warns after its deadline"
        where = None if queue is None else ("own committee" if queue == committee_of[case_id] else "other committee")
        opened = open_task.get(case_id)
        linked = None if task is None else ("open task" if opened and task == opened[2] else "another task")
        who = _party(assignee, member_of[case_id])
        clocks[case_id].append(
            (stage, state, where, who, linked, claimed, paused, stopped, is_met, warn_at is not None)
        )

    streams = [f"case:{cid}" for cid in case_ids]
    cur.execute(
        "SELECT stream, action, changes, actor_id FROM casework_auditevent WHERE stream = ANY(%s) ORDER BY stream, seq",
        [streams],
    )
    events: dict[int, list[Row]] = defaultdict(list)
    caused: dict[int, int] = defaultdict(int)
    for stream, action, changes, actor in cur.fetchall():
        case_id = int(stream.split(":")[1])
        if action == "case.merge_received":
            data = json.loads(changes) if isinstance(changes, str) else changes
            caused[data["from"]] += 1
            continue
        events[case_id].append((action, _keys(changes), _party(actor, member_of[case_id])))

    shapes = {}
    for cid, r in cases.items():
        opened = open_task.get(cid)
        shapes[cid] = CaseShape(
            case=(r[1], r[2], r[3], r[4] is not None, r[5], r[6], r[7], r[8], r[11]),
            process=processes.get(cid),
            tasks=tuple(tasks[cid]),
            open_task=opened[:2] if opened else None,
            clocks=tuple(clocks[cid]),
            events=tuple(events[cid]),
            merge_received=caused[cid],
        )
    return shapes


def read_outputs(cur: Any, output_ids: list[int]) -> dict[int, Row]:
    """Each output's status and its audit stream (action, keys of its changes)."""
    cur.execute("SELECT id, status, outcome <> '' FROM casework_output WHERE id = ANY(%s)", [output_ids])
    outputs = {r[0]: r[1:] for r in cur.fetchall()}
    cur.execute(
        "SELECT stream, action, changes FROM casework_auditevent WHERE stream = ANY(%s) ORDER BY stream, seq",
        [[f"output:{oid}" for oid in output_ids]],
    )
    events: dict[int, list[Row]] = defaultdict(list)
    for stream, action, changes in cur.fetchall():
        events[int(stream.split(":")[1])].append((action, _keys(changes)))
    return {oid: (*outputs[oid], tuple(events[oid])) for oid in outputs}


def outputs_of(cur: Any, case_ids: list[int]) -> dict[int, int]:
    cur.execute("SELECT id, output_id FROM casework_case WHERE id = ANY(%s) AND output_id IS NOT NULL", [case_ids])
    return dict(cur.fetchall())
