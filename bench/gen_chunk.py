"""The bulk rows of bench/generate.py, made by worker processes one chunk of cases at a time: each
case down its path of the flow (`gen_data.MIX`), up to its review decision here and on from it in
gen_decided.py, written as COPY text by gen_rows.py. tests/bench/test_generate_matches_actions.py
holds what they write to the shapes the actions give the same paths."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from gen_data import (
    ANALYSES,
    DESCRIPTIONS,
    INSTRUCTIONS,
    LEADERS,
    MIX,
    OUTPUT_PATHS,
    OUTPUT_TYPES,
    RANKS,
    SUGGESTIONS,
    TITLES,
    URGENCIES,
    instruction_words,
    policies,
)
from gen_decided import Decided
from gen_reference import BENCH_ORG
from gen_rows import Rows

from casework.choices import AuditAction as A
from casework.choices import OutputStatus
from casework.services import deadlines, info_reports, numbering
from workflows.output_actions import OUTCOME_MAX
from workflows.output_lifecycle import INFO_REPORT


class Chunk(Decided, Rows):
    """One chunk of cases: which path each goes down, and the rows up to its review decision."""

    def after(self, t: datetime, lo: float = 60, hi: float = 2 * 86400) -> datetime:
        return t + timedelta(seconds=self.rng.uniform(lo, hi))

    def start_time(self, path: str) -> datetime:
        r = self.rng.random()
        if path in ("draft", "review"):
            return self.now - timedelta(days=30 * r * r, seconds=60)  # recent, more of them new
        if path in ("closed_decided", "closed_outcome"):
            return self.now - timedelta(days=40 + 1050 * r)
        return self.now - timedelta(days=20 + 70 * r)

    # One case -----------------------------------------------------------------------------------

    def pick_org(self) -> dict:
        r = self.rng.random()
        acc = 0.0
        for o in self.ref["orgs"]:
            acc += o["share"]
            if r < acc:
                return o
        return self.ref["orgs"][-1]

    def new_case(self, path: str, o: dict | None = None, committee: int | None = None) -> dict:
        rng = self.rng
        o = o or self.pick_org()
        if committee is None:
            committee = rng.choices(o["committees"], weights=o["committee_shares"])[0]
        member_id, member_user, roster = rng.choice(o["members"])
        k = rng.choice((0, 1, 1, 2, 2, 3))
        contacts = sorted(rng.sample(roster, min(k, len(roster))))
        return {
            "id": self.first_case + self.counts_total(),
            "path": path,
            "org": o["org_id"],
            "o": o,
            "committee": committee,
            "category": rng.choice(
                o["cats_by_committee"].get(committee) or [c for cs in o["cats_by_committee"].values() for c in cs]
            ),
            "township": rng.choice(o["townships"]) if rng.random() < 0.8 else None,
            "member": member_id,
            "muser": member_user,
            "contacts": contacts,
            "title": f"{rng.choice(TITLES)}（{rng.randint(1, 9999)}号）",
            "description": rng.choice(DESCRIPTIONS),
            "urgency": rng.choice(URGENCIES),
            "consent": rng.random() < 0.6,
            "staff": rng.choice(o["staff"][committee]),
            "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "t0": self.start_time(path),
            "events": [],
        }

    def counts_total(self) -> int:
        return self._made

    def build(self) -> None:
        self._made = 0
        rng = self.rng
        names = [n for n, _w in MIX]
        weights = [w for _n, w in MIX]
        while self._made < self.n:
            path = rng.choices(names, weights=weights)[0]
            if path in OUTPUT_PATHS:
                k = min(rng.choice((1, 1, 1, 2, 3)), self.n - self._made)
                self.output_group(path, k)
            else:
                c = self.new_case(path)
                self._made += 1
                self.flow_case(c)
        self.flush_streams()

    def output_group(self, path: str, k: int) -> None:
        """`k` cases of one committee converted into one output; its outcome moves them on."""
        rng = self.rng
        first = self.new_case(path)
        group = [first]
        self._made += 1
        for _ in range(k - 1):
            group.append(self.new_case(path, first["o"], first["committee"]))
            self._made += 1
        oid = self.nid("output")
        # An output that answers its cases is an info report, brought to a leader's instruction;
        # one still waiting may be of any type.
        otype = rng.choice(OUTPUT_TYPES) if path == "outcome" else "info_report"
        staff = first["staff"]
        out_events: list = []
        converted = []
        for c in group:
            c["staff"] = staff
            c["output"] = oid
            c["output_type"] = otype
            converted.append(self.flow_case(c, stop_at_convert=True))
        order = sorted(range(len(group)), key=lambda i: converted[i])
        created_at = converted[order[0]]
        title = group[order[0]]["title"][:200]
        for n, i in enumerate(order):
            c = group[i]
            if n == 0:
                self.ev(
                    out_events,
                    converted[i],
                    staff,
                    A.OUTPUT_CREATED,
                    {"type": otype, "title": title, "case": c["id"]},
                    c["ip"],
                )
            else:
                self.ev(out_events, converted[i], staff, A.OUTPUT_CASE_GATHERED, {"case": c["id"]}, c["ip"])
        report = None
        if path != "outcome":
            outcome_at = self.after(max(converted), 86400, 20 * 86400)
            if outcome_at > self.now:
                outcome_at = self.now - timedelta(seconds=rng.uniform(60, 3600))
            report = self.instructed(oid, group, staff, max(converted), outcome_at, out_events)
        r = report or {}
        self.record(
            f"output:{oid}",
            oid,
            otype,
            OutputStatus.USED if report else OutputStatus.DRAFT,
            title,
            "",
            None,
            created_at,
            first["committee"],
            staff,
            first["org"],
            None,
            None,
            group[order[0]]["description"],
            r.get("analysis", ""),
            r.get("suggestion", ""),
            "",
            r.get("series", ""),
            r.get("number", ""),
            False,
            "",
            "",
            0,
            False,
            *("", ""),
            r.get("number_seq"),
            r.get("submitted_at"),
            staff if report else None,
            r.get("decided_at"),
            r.get("year"),
            # The issue column is a smallint (PositiveSmallIntegerField): at 1,000,000 cases a
            # year's series passes 32,767 issues (about 33,000 in the largest organisation), more
            # than any real bulletin prints; those few are loaded without an issue number rather
            # than failing the COPY (number_seq and the number text keep it).
            r.get("number_seq") if (r.get("number_seq") or 0) <= 32767 else None,
        )
        self.streams.append((f"output:{oid}", "output", oid, first["org"], out_events))
        for c in group:
            c["report"] = report
            self.flow_case(c, resume=True)

    def instructed(
        self, oid: int, group: list[dict], staff: int, since: datetime, at: datetime, out_events: list
    ) -> dict:
        """The info report down its lifecycle as tests/bench/paths.py drives it: its analysis and
        suggestion written, submitted, used in its organisation's bulletin of the year, and a
        leader's instruction recorded at `at`, which answers its cases. Answers its columns and
        what its cases are told (the events the actions write, `workflows.propagate`)."""
        rng = self.rng
        t_edit, t_submit, t_use = sorted(since + (at - since) * rng.uniform(0.05, 0.95) for _ in range(3))
        first = min(group, key=lambda c: c["convert_ev_at"])
        situation = first["description"]
        analysis, suggestion = rng.choice(ANALYSES), rng.choice(SUGGESTIONS)
        self.ev(out_events, t_edit, staff, A.OUTPUT_EDITED, {"analysis": len(analysis), "suggestion": len(suggestion)})
        length = len(situation) + len(analysis) + len(suggestion)
        submitted = {"status": [OutputStatus.DRAFT, OutputStatus.SUBMITTED], "length": length}
        self.ev(out_events, t_submit, staff, A.OUTPUT_SUBMITTED, submitted)
        year = deadlines.local_day(t_use).year
        series = numbering.bulletin_series(first["org"], year)
        seq = self.bulletin_issue(series)
        number = numbering.bulletin_number(year, seq)
        used = {"status": [OutputStatus.SUBMITTED, OutputStatus.USED], "number": number, "note": ""}
        self.ev(out_events, t_use, staff, A.INFO_REPORT_USED, used)
        leader, rank, text = rng.choice(LEADERS), rng.choice(RANKS), rng.choice(INSTRUCTIONS)
        # Given on a day from its use in the bulletin to the day it was recorded.
        given_on = max(deadlines.local_day(t_use), deadlines.local_day(at) - timedelta(days=rng.choice((0, 0, 1, 2))))
        iid = self.nid("instruction")
        self.row("casework_instruction", iid, leader, rank, text, given_on.isoformat(), at, oid, staff)
        said = {"instruction": iid, "leader": leader, "rank": rank, "given_on": given_on.isoformat()}
        self.ev(out_events, at, staff, A.INFO_REPORT_INSTRUCTED, said)
        told = [
            (t_submit, A.OUTPUT_SUBMITTED, INFO_REPORT["submit"].tells.summary(None)),
            (t_use, A.INFO_REPORT_USED, info_reports.used_words(SimpleNamespace(number=number))),
        ]
        return {
            "analysis": analysis,
            "suggestion": suggestion,
            "series": series,
            "number_seq": seq,
            "number": number,
            "year": year,
            "submitted_at": t_submit,
            "decided_at": t_use,
            "told": told,
            "at": at,
            "outcome": instruction_words(leader, rank, given_on, text)[:OUTCOME_MAX],
        }

    def bulletin_issue(self, series: str) -> int:
        """The next issue of `series` in this chunk. Chunks are made in parallel, so chunk i of n
        takes issues i+1, i+1+n, i+1+2n ...: no two chunks take the same issue, and with one
        chunk the issues have no gaps (generate.py sets each series' last issue after the load)."""
        k = self.issues.get(series, 0)
        self.issues[series] = k + 1
        return k * self.ref.get("chunks", 1) + self.index + 1

    def flow_case(self, c: dict, *, stop_at_convert: bool = False, resume: bool = False):
        """Write the rows of one case. For output groups it runs twice: up to the conversion
        (returns its time), then from the outcome on (`resume`)."""
        rng = self.rng
        path = c["path"]
        org, cid, muser, staff = c["org"], c["id"], c["muser"], c["staff"]
        ev = c["events"]
        if resume:
            return self._after_outcome(c)
        if path == "merged":
            # A duplicate of an open case in review: filed before it, merged into it after.
            master = self.pick_master(c["committee"])
            if master is None:  # nothing open to merge into yet in this chunk: reject instead
                c["path"] = path = "feedback_decided"
            else:
                rng = self.rng
                c["master"] = master
                c["t0"] = master["t0"] - timedelta(seconds=rng.uniform(3600, 5 * 86400))
                c["tc"] = c["t0"] + (master["t0"] - c["t0"]) * rng.uniform(0.1, 0.9)
                c["td"] = master["t0"] + (self.now - master["t0"]) * rng.uniform(0.05, 0.9)
        self.counts[path] += 1
        self.paths.append((c["id"], path))
        t0 = c["t0"]
        submitted = path != "draft"
        status = {
            "review_claimed": "review",
            "review_again": "review",
            "review_transferred": "review",
            "review_sent_back": "review",
            "conversion_claimed": "conversion",
            "feedback_decided": "feedback",
            "feedback_outcome": "feedback",
            "closed_decided": "closed",
            "closed_outcome": "closed",
        }.get(path, path)
        case = {
            "status": status,
            "decision": "",
            "redirect_channel": "",
            "decision_note": "",
            "info_request": "",
            "info_answer": "",
            "outcome": "",
            "feedback_method": "",
            "satisfaction": "",
            "feedback_note": "",
            "feedback_told_on": None,
            "updated_at": t0,
            "submitted_at": t0 if submitted else None,
            "decided_at": None,
            "closed_at": None,
            "merged_into_id": None,
            "output_id": None,
            "reject_reason_id": None,
        }
        c["case"] = case
        self.ev(
            ev,
            t0,
            muser,
            A.CASE_SUBMITTED if submitted else A.CASE_CREATED,
            {
                "status": "review" if submitted else "draft",
                "title": c["title"],
                "category": c["category"],
                "township": c["township"],
                "urgency": c["urgency"],
                "contacts": c["contacts"],
                "committee": c["committee"],
            },
            c["ip"],
        )
        self.streams.append((f"case:{cid}", "case", cid, org, ev))
        contacts_out = self.out["casework_case_contacts"]
        for contact in c["contacts"]:
            contacts_out.append(f"{self.nid('contact')}\t{cid}\t{contact}")
        if not submitted:
            self.write_case(c)
            return None

        pid = cid  # process ids follow case ids (drafts leave gaps)
        c["pid"] = pid
        c["process_status"] = "NEW"
        c["process_finished"] = None
        t_start = t0 + timedelta(microseconds=500)
        start = self.task(pid, "start", "DONE", t_start, started=t_start, finished=t_start)
        t_review = t0 + timedelta(microseconds=3000)
        committee = c["committee"]

        if path == "review":
            tid = self.task(pid, "review", "NEW", t_review, prev=start)
            self.clock(org, cid, "review", t_review, task_id=tid, queue=committee)
            if org == self.ref["orgs"][BENCH_ORG]["org_id"] or rng.random() < 0.5:
                self.masters.setdefault(committee, []).append(c)
            return self.finish(c)

        tc = c.get("tc") or self.after(t_review, 60, 3 * 86400)  # claimed
        if path == "review_claimed":
            self.task(pid, "review", "ASSIGNED", t_review, owner=staff, assigned=tc, prev=start)
            tid = self.last_task()
            self.clock(org, cid, "review", t_review, task_id=tid, queue=committee, assignee=staff, claimed_at=tc)
            self.ev(ev, tc, staff, A.CASE_CLAIMED, {"stage": "review"}, c["ip"])
            case["updated_at"] = t0
            return self.finish(c)

        td = c.get("td") or self.after(tc, 60, 3 * 86400)  # decided
        # A decision sent back is undone in the flow: its review task revived, the route after it
        # cancelled (send_back in workflows.engine).
        undone = path == "review_sent_back"
        review = self.task(
            pid,
            "review",
            "REVIVED" if undone else "DONE",
            t_review,
            started=td,
            finished=td,
            owner=staff,
            assigned=tc,
            prev=start,
        )
        self.ev(ev, tc, staff, A.CASE_CLAIMED, {"stage": "review"}, c["ip"])
        t_route = td + timedelta(microseconds=1500)
        route = self.task(
            pid,
            "route",
            "CANCELED" if undone else "DONE",
            t_route,
            finished=t_route + timedelta(microseconds=1500),
            prev=review,
        )
        t_next = t_route + timedelta(microseconds=3000)
        case["decided_at"] = td
        case["updated_at"] = td

        return self.decided(
            c,
            start=start,
            review=review,
            route=route,
            t_review=t_review,
            tc=tc,
            td=td,
            t_next=t_next,
            stop_at_convert=stop_at_convert,
        )

    def pick_master(self, committee: int) -> dict | None:
        candidates = self.masters.get(committee)
        return self.rng.choice(candidates) if candidates else None


# A worker's reference data and chunk size, set once when the worker starts (`init_worker`).
CHUNK_SIZE = 20_000
_REF: dict = {}


def make_chunk(args: tuple) -> tuple[int, dict, dict, dict, list, tuple[str, int, int]]:
    """Make one chunk's rows (in a worker process): its COPY text per table, row counts, the
    paths its cases went down, and what its checkpoint records (heads digest, heads, last event)."""
    index, first_case, n, now, seed = args
    chunk = Chunk(index, first_case, n, _REF, now, seed, CHUNK_SIZE)
    chunk.build()
    rows = {t: len(r) for t, r in chunk.out.items()}
    heads = (chunk.heads_digest, chunk.n_heads, chunk.last_event)
    return index, chunk.payload(), rows, chunk.counts, chunk.paths, heads


def init_worker(ref: dict, targets: dict, chunk_size: int) -> None:
    global CHUNK_SIZE
    _REF.update(ref)
    policies.update(targets)
    CHUNK_SIZE = chunk_size
