"""What bench/generate.py writes for a case from its review decision on: a request for
information (answered or not), a transfer, a merge, a decision the member reports back on, or
acceptance (conversion, a send-back, an output, its outcome) and the member's feedback."""

from __future__ import annotations

from datetime import datetime, timedelta

from gen_data import (
    ANSWERS,
    DECIDED,
    FEEDBACK_METHODS,
    NOTES,
    QUESTIONS,
    REDIRECT_CHANNELS,
    SATISFACTIONS,
    SEND_BACK_REASONS,
    due,
    met,
    resumed_due,
)

from casework.choices import AuditAction as A
from casework.services import deadlines


class Decided:
    """The decision paths of a `gen_chunk.Chunk` (a mixin of it: rows are written by `Rows`)."""

    def decided(
        self,
        c: dict,
        *,
        start: int,
        review: int,
        route: int,
        t_review: datetime,
        tc: datetime,
        td: datetime,
        t_next: datetime,
        stop_at_convert: bool,
    ):
        """The rows of a case from its review decision on: `review` and `route` are its review
        task and the router after it (decided at `td`), `t_next` when the next task opens."""
        rng = self.rng
        path = c["path"]
        org, cid, muser, staff = c["org"], c["id"], c["muser"], c["staff"]
        ev, case, pid, committee = c["events"], c["case"], c["pid"], c["committee"]
        review_due = due("review", t_review)
        undone = path == "review_sent_back"

        if path in ("needs_info", "review_again"):
            question = rng.choice(QUESTIONS)
            case.update(decision="needs_info", info_request=question)
            self.ev(
                ev,
                td,
                staff,
                A.CASE_NEEDS_INFO,
                {"status": ["review", "needs_info"], "decision": "needs_info", "question": question},
                c["ip"],
            )
            if path == "needs_info":
                tid = self.task(pid, "provide_info", "ASSIGNED", t_next, owner=muser, prev=route)
                self.clock(
                    org,
                    cid,
                    "review",
                    t_review,
                    queue=committee,
                    state="paused",
                    due_at=review_due,
                    paused_at=td,
                    claimed_at=tc,
                )
                self.clock(org, cid, "needs_info", t_next, task_id=tid, assignee=muser, claimed_at=t_next)
                return self.finish(c)
            ta = self.after(t_next, 600, 4 * 86400)  # answered
            info = self.task(pid, "provide_info", "DONE", t_next, started=ta, finished=ta, owner=muser, prev=route)
            answer = rng.choice(ANSWERS)
            t_again = ta + timedelta(microseconds=1500)
            tid = self.task(pid, "review", "NEW", t_again, prev=info)
            pause = t_again - td
            self.clock(
                org,
                cid,
                "review",
                t_review,
                task_id=tid,
                queue=committee,
                due_at=resumed_due(review_due, td, t_again),
                paused_seconds=int(pause.total_seconds()),
                warn_from=t_again,
            )
            self.clock(
                org,
                cid,
                "needs_info",
                t_next,
                assignee=muser,
                claimed_at=t_next,
                state="stopped",
                stopped_at=ta,
                is_met=met(ta, due("needs_info", t_next)),
            )
            case.update(status="review", decision="", info_answer=answer, updated_at=ta)
            self.ev(
                ev, ta, muser, A.CASE_INFO_ANSWERED, {"status": ["needs_info", "review"], "answer": answer}, c["ip"]
            )
            return self.finish(c)

        # Every other path closes the review clock.
        self.clock(
            org,
            cid,
            "review",
            t_review,
            queue=committee,
            assignee=staff,
            claimed_at=tc,
            state="stopped",
            due_at=review_due,
            stopped_at=td,
            is_met=met(td, review_due),
        )

        if path == "review_transferred":
            # Handed to another committee of the organisation: the review task is done, and the
            # flow opens a fresh one in that committee's queue, with a clock of its own.
            target = rng.choice([k for k in c["o"]["committees"] if k != committee])
            note = rng.choice(NOTES)
            case.update(decided_at=None)
            c["committee"] = target
            self.ev(ev, td, staff, A.CASE_TRANSFERRED, {"committee": [committee, target], "note": note}, c["ip"])
            tid = self.task(pid, "review", "NEW", t_next, prev=route)
            self.clock(org, cid, "review", t_next, task_id=tid, queue=target)
            return self.finish(c)

        if path == "merged":
            master = c["master"]
            note = rng.choice(NOTES)
            case.update(decision="merged", decision_note=note, merged_into_id=master["id"], closed_at=td)
            self.ev(
                ev,
                td,
                staff,
                A.CASE_MERGED,
                {"into": master["id"], "note": note, "status": ["review", "merged"], "decision": "merged"},
                c["ip"],
            )
            self.ev(master["events"], td, staff, A.CASE_MERGE_RECEIVED, {"from": cid}, c["ip"])
            t_end = t_next
            self.task(pid, "merged", "DONE", t_end, started=t_end, finished=t_end, prev=route)
            c["process_status"] = "DONE"
            c["process_finished"] = t_end
            return self.finish(c)

        if path in ("feedback_decided", "closed_decided"):
            decision = rng.choice(("rejected", "rejected", "redirected", "resolved"))
            note = rng.choice(NOTES)
            case.update(decision=decision, decision_note=note)
            changes: dict = {"status": ["review", "feedback"], "decision": decision}
            if decision == "rejected":
                reason_id, reason_text = rng.choice(c["o"]["reasons"])
                case["reject_reason_id"] = reason_id
                changes.update(reason=reason_text, note=note)
            elif decision == "redirected":
                channel = rng.choice(REDIRECT_CHANNELS)
                case["redirect_channel"] = channel
                changes.update(channel=channel, note=note)
            else:
                note = note or "已协调解决。"
                case.update(decision_note=note, outcome=note)
                changes.update(note=note)
            self.ev(ev, td, staff, DECIDED[decision], changes, c["ip"])
            c["feedback_from"] = (route, t_next)
            return self._feedback(c)

        # Accepted: conversion.
        note = rng.choice(NOTES)
        case.update(decision="accepted", decision_note=note, status="conversion")
        self.ev(
            ev,
            td,
            staff,
            A.CASE_ACCEPTED,
            {"note": note, "status": ["review", "conversion"], "decision": "accepted"},
            c["ip"],
        )
        if path == "conversion":
            tid = self.task(pid, "convert", "NEW", t_next, prev=route)
            self.clock(org, cid, "conversion", t_next, task_id=tid, queue=committee)
            return self.finish(c)
        if undone:
            # Sent back before anyone took the convert task: it is cancelled and its clock stops
            # with no verdict; review is revived with a new clock (the old one keeps its verdict).
            ts = self.after(t_next, 60, 2 * 86400)
            self.task(pid, "convert", "CANCELED", t_next, finished=ts, prev=route)
            self.clock(org, cid, "conversion", t_next, queue=committee, state="stopped", stopped_at=ts)
            reason = rng.choice(SEND_BACK_REASONS)
            self.ev(
                ev,
                ts,
                staff,
                A.CASE_SENT_BACK,
                {
                    "status": ["conversion", "review"],
                    "reason": reason,
                    "undone_decision": "accepted",
                    "undone_note": note,
                },
                c["ip"],
            )
            case.update(status="review", decision="", decision_note="", decided_at=None, updated_at=ts)
            t_again = ts + timedelta(microseconds=1500)
            tid = self.task(pid, "review", "NEW", t_again, prev=(start, review))
            self.clock(org, cid, "review", t_again, task_id=tid, queue=committee)
            return self.finish(c)
        tc2 = self.after(t_next, 60, 2 * 86400)
        if path == "conversion_claimed":
            tid = self.task(pid, "convert", "ASSIGNED", t_next, owner=staff, assigned=tc2, prev=route)
            self.clock(org, cid, "conversion", t_next, task_id=tid, queue=committee, assignee=staff, claimed_at=tc2)
            self.ev(ev, tc2, staff, A.CASE_CLAIMED, {"stage": "conversion"}, c["ip"])
            return self.finish(c)
        # Converted into an output (output_group made it).
        td2 = self.after(tc2, 60, 3 * 86400)
        convert = self.task(
            pid, "convert", "DONE", t_next, started=td2, finished=td2, owner=staff, assigned=tc2, prev=route
        )
        conv_due = due("conversion", t_next)
        self.clock(
            org,
            cid,
            "conversion",
            t_next,
            queue=c["committee"],
            assignee=staff,
            claimed_at=tc2,
            state="stopped",
            due_at=conv_due,
            stopped_at=td2,
            is_met=met(td2, conv_due),
        )
        self.ev(ev, tc2, staff, A.CASE_CLAIMED, {"stage": "conversion"}, c["ip"])
        c["convert_ev_at"] = td2
        c["convert_task"] = convert
        c["t_wait"] = td2 + timedelta(microseconds=1500)
        case.update(status="outcome", output_id=c["output"], updated_at=td2)
        assert stop_at_convert
        return td2

    def _after_outcome(self, c: dict) -> None:
        pid, ev, case = c["pid"], c["events"], c["case"]
        # The converted event comes after the output's own event in time; the case stream has it.
        self.ev(
            ev,
            c["convert_ev_at"],
            c["staff"],
            A.CASE_CONVERTED,
            {"output": c["output"], "status": ["conversion", "outcome"], "output_type": c["output_type"]},
            c["ip"],
        )
        report = c["report"]
        if report is None:
            self.task(pid, "await_outcome", "NEW", c["t_wait"], prev=c["convert_task"])
            return self.finish(c)
        # What the info report's lifecycle told the case (`workflows.propagate.tell_cases`): its
        # submission and use, then the instruction, which moves it to feedback.
        for at, event, summary in report["told"]:
            told = {"output": c["output"], "event": event.value, "summary": summary}
            self.ev(ev, at, c["staff"], A.CASE_OUTPUT_EVENT, told, None)
        t_o, outcome = report["at"], report["outcome"]
        wait = self.task(pid, "await_outcome", "DONE", c["t_wait"], started=t_o, finished=t_o, prev=c["convert_task"])
        case.update(status="feedback", outcome=outcome, updated_at=t_o)
        self.ev(
            ev,
            t_o,
            c["staff"],
            A.CASE_OUTCOME_RECEIVED,
            {"status": ["outcome", "feedback"], "output": c["output"], "outcome": outcome},
            None,
        )
        c["feedback_from"] = (wait, t_o + timedelta(microseconds=800))
        return self._feedback(c)

    def _feedback(self, c: dict) -> None:
        """The member's report-back task, open (feedback) or done (closed)."""
        rng = self.rng
        pid, org, cid, muser, ev, case = c["pid"], c["org"], c["id"], c["muser"], c["events"], c["case"]
        prev, t_fb = c["feedback_from"]
        if case["decided_at"] is not None and c["path"] in ("feedback_decided", "closed_decided"):
            case["updated_at"] = case["decided_at"]
        if c["path"] in ("feedback_decided", "feedback_outcome"):
            tid = self.task(pid, "feedback", "ASSIGNED", t_fb, owner=muser, prev=prev)
            self.clock(org, cid, "feedback", t_fb, task_id=tid, assignee=muser, claimed_at=t_fb)
            return self.finish(c)
        tf = self.after(t_fb, 3600, 10 * 86400)
        if tf > self.now:
            tf = self.now - timedelta(seconds=rng.uniform(1, 600))
            if tf <= t_fb:
                tf = t_fb + timedelta(milliseconds=1)
        fb = self.task(pid, "feedback", "DONE", t_fb, started=tf, finished=tf, owner=muser, prev=prev)
        fb_due = due("feedback", t_fb)
        self.clock(
            org,
            cid,
            "feedback",
            t_fb,
            assignee=muser,
            claimed_at=t_fb,
            state="stopped",
            due_at=fb_due,
            stopped_at=tf,
            is_met=met(tf, fb_due),
        )
        t_end = tf + timedelta(microseconds=1000)
        self.task(pid, "end", "DONE", t_end, started=t_end, finished=t_end + timedelta(microseconds=2000), prev=fb)
        method, satisfaction = rng.choice(FEEDBACK_METHODS), rng.choice(SATISFACTIONS)
        note = rng.choice(("群众表示认可。", "", "已电话回访。"))
        # The day the member told them: from the outcome's arrival to the day they recorded it.
        told_on = deadlines.local_day(t_fb + (tf - t_fb) * rng.random())
        case.update(
            status="closed",
            feedback_method=method,
            satisfaction=satisfaction,
            feedback_note=note,
            feedback_told_on=told_on,
            closed_at=tf,
            updated_at=tf,
        )
        self.ev(
            ev,
            tf,
            muser,
            A.CASE_CLOSED,
            {
                "status": ["feedback", "closed"],
                "method": method,
                "satisfaction": satisfaction,
                "told_on": told_on.isoformat(),
            },
            c["ip"],
        )
        c["process_status"] = "DONE"
        c["process_finished"] = t_end + timedelta(microseconds=3000)
        return self.finish(c)
