"""The demo's proposals, planned down their own lifecycle (workflows/output_lifecycle.py): the
committee's staff write the suggestion, each signer confirms from their own login, the proposal
is submitted and numbered, the proposal office files it (or not, or withdraws it, or merges it
into another), assigns it to departments, departments accept (one objects and the office assigns
another), co-handlers send their views, the replying departments answer with a class A, B or C,
and the signers rate the handling: a 不满意 sends it back for a second round. Each proposal ends
in a target status, so the demo shows every status a proposal can be in."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from casework.choices import AssignmentStatus, HandlingMode, Satisfaction
from casework.models import Assignment, OutputSigner, User

from .clock import Calendar
from .data import Demo
from .steps import OutputPlan, Step
from .world import World, fill

# The status each demo proposal ends in ("rehandled": closed after a second round). The first
# proposals take these in turn, so every status is shown; the rest are drawn by weight.
FIRST_TARGETS = (
    "closed",
    "assigned",
    "replied",
    "rehandled",
    "draft",
    "submitted",
    "filed",
    "not_filed",
    "withdrawn",
    "merged",
    "assigned",
    "closed",
)
TARGET_WEIGHTS = {
    "closed": 30,
    "rehandled": 6,
    "replied": 10,
    "assigned": 18,
    "filed": 5,
    "submitted": 6,
    "draft": 8,
    "not_filed": 6,
    "withdrawn": 3,
    "merged": 4,
}
# Proposals still early in their life were made recently.
RECENT = ("draft", "submitted", "filed")


class ProposalPlanner:
    def __init__(self, demo: Demo, world: World, rng: random.Random, cal: Calendar) -> None:
        self.d, self.w, self.rng, self.cal = demo, world, rng, cal
        self.texts = demo.outputs["proposal"]
        self.replies = demo.outputs["outcomes"]["reply_classes"]
        self.code_of = {x["name"]: x["code"] for x in demo.departments}
        self.handlers = sorted(world.liaisons)  # departments with a liaison handle proposals
        self.submitted: dict[int, Step] = {}  # output plan key → its submission
        self.made = 0
        self.replied = 0
        self.objected = False

    def next_target(self) -> str:
        target = (
            FIRST_TARGETS[self.made]
            if self.made < len(FIRST_TARGETS)
            else self.rng.choices(list(TARGET_WEIGHTS), weights=list(TARGET_WEIGHTS.values()))[0]
        )
        self.made += 1
        return target

    # Record ids, read when the step runs ------------------------------------------------------

    @staticmethod
    def signature(out: OutputPlan, user: User) -> Callable[[], int]:
        return lambda: OutputSigner.objects.get(output_id=out.output_id, user=user).pk

    def assignment(self, out: OutputPlan, code: str, round_no: int) -> Callable[[], int]:
        department = self.w.departments[code]

        def find() -> int:
            found = (
                Assignment.objects.filter(output_id=out.output_id, department=department, round=round_no)
                .exclude(status=AssignmentStatus.WITHDRAWN)
                .order_by("-id")
                .values_list("pk", flat=True)
                .first()
            )
            assert found is not None, f"no assignment of {code} in round {round_no}"
            return found

        return find

    # One proposal -----------------------------------------------------------------------------

    def suggestion(self, out: OutputPlan) -> str:
        place = out.cases[0].place
        items = [f"{n}. {fill(s, place)}" for n, s in enumerate(out.theme.suggestions, 1)]
        return self.texts["suggestion_intro"] + "\n" + "\n".join(items)

    def departments(self, out: OutputPlan) -> tuple[str, list[str]]:
        """The lead department (the theme's own when it has a liaison) and its co-handlers."""
        lead = self.code_of.get(out.theme.dept, "")
        if lead not in self.handlers:
            lead = self.rng.choice(self.handlers)
        others = [c for c in self.handlers if c != lead]
        return lead, self.rng.sample(others, self.rng.choice((0, 1, 1, 2)))

    def plan(self, out: OutputPlan, after: datetime) -> tuple[list[Step], Step | None]:
        """The proposal's steps from its last case's conversion (`after`) to its target status,
        and the step whose outcome moves its cases to feedback (None: they keep waiting)."""
        cal, rng, t, w = self.cal, self.rng, self.texts, self.w
        assert out.staff is not None
        staff, office = out.staff, rng.choice(w.staff["ta"])
        steps: list[Step] = []

        def add(at: datetime, name: str, actor: User, **data: object) -> Step:
            step = out.step(at, name, actor, **data)  # type: ignore[arg-type]
            steps.append(step)
            return step

        target = out.target
        at = cal.staff(after, 0, 3)
        analysis = fill(t["analysis"], {"phrase": out.theme.phrase})
        add(at, "edit", staff, analysis=analysis, suggestion=self.suggestion(out))
        signers = [p.member_user for p in out.cases]
        confirming = signers[:-1] if target == "draft" else signers
        signed = at
        for user in confirming:
            moment = cal.member(at, 0.1, 4)
            add(moment, "confirm", user, kind="signature", record_id=self.signature(out, user))
            signed = max(signed, moment)
        if target == "draft":
            return steps, None
        at = cal.staff(signed, 0, 2)
        self.submitted[out.key] = add(at, "submit", staff)
        if target in ("submitted", "merged"):  # a merge is planned once every proposal is (`merges`)
            return steps, None
        at = cal.staff(at, 1, 6)
        if target == "not_filed":
            reason = rng.choice(w.output_reasons)
            return steps, add(at, "not_file", office, reason=reason.pk, note=t["not_file_note"])
        filing: dict[str, object] = {"note": rng.choice(t["file_notes"])}
        if rng.random() < 0.25:
            filing.update(key=True, supervisor=rng.choice(w.leaders).pk)
        add(at, "file", office, **filing)
        if target == "filed":
            return steps, None
        if target == "withdrawn":
            note = fill(rng.choice(t["withdraw_notes"]), {"dept": out.theme.dept})
            return steps, add(cal.staff(at, 1, 8), "withdraw", office, note=note)

        lead, co = self.departments(out)
        # The first proposal still being handled shows a co-handler's objection, some others too.
        objecting = target == "assigned" and (not self.objected or (bool(co) and rng.random() < 0.3))
        if objecting and not co:
            co = [rng.choice([c for c in self.handlers if c != lead])]
        split = rng.random() < 0.12 and target != "assigned"
        at = cal.staff(at, 1, 4)
        if split:
            repliers, co = [lead, *(co or [rng.choice([c for c in self.handlers if c != lead])])], []
            ids = [w.departments[c].pk for c in repliers]
            add(at, "assign", office, handling=HandlingMode.SPLIT, split=ids)
        else:
            repliers = [lead]
            ids = [w.departments[c].pk for c in co]
            add(at, "assign", office, handling=HandlingMode.JOINT, lead=w.departments[lead].pk, co_handlers=ids)
        start, moves = at, None
        rounds = 2 if target == "rehandled" else 1
        for round_no in range(1, rounds + 1):
            last = round_no == rounds
            ready: dict[str, datetime] = {}  # when each assignment of the round exists, if later than `start`
            if objecting:
                co, ready = self._objection(out, add, office, start, co, [lead])
                self.objected = True
            accepted: dict[str, datetime] = {}
            for code in [*repliers, *co]:
                # Round one: each accepts (on a proposal still being handled, some not yet);
                # a second round may be answered without accepting it again.
                accepts = (target != "assigned" or rng.random() < 0.7) if round_no == 1 else rng.random() < 0.5
                if accepts:
                    accepted[code] = cal.staff(ready.get(code, start), 1, 5)
                    add(
                        accepted[code],
                        "accept",
                        w.liaisons[code],
                        kind="assignment",
                        record_id=self.assignment(out, code, round_no),
                    )
            viewed = start
            for n, code in enumerate(co):
                if target == "assigned" and n == len(co) - 1 and rng.random() < 0.5:
                    break  # a view still to come
                moment = cal.staff(accepted.get(code, ready.get(code, start)), 3, 15)
                view = fill(rng.choice(t["views"]), {"dept": w.departments[code].name})
                add(
                    moment,
                    "send_view",
                    w.liaisons[code],
                    kind="assignment",
                    record_id=self.assignment(out, code, round_no),
                    view=view,
                )
                viewed = max(viewed, moment)
            if target == "assigned":
                return steps, None
            replies: list[Step] = []
            final: list[tuple[str, Step]] = []
            for code in repliers:
                letter, _label, text = (
                    self.replies[self.replied]  # the first replies: one of each class
                    if self.replied < len(self.replies)
                    else rng.choices(self.replies, weights=(55, 35, 10))[0]
                )
                self.replied += 1
                if round_no > 1:
                    letter, text = rng.choice(("A", "B")), t["second_reply"]
                reply = add(
                    cal.staff(max(viewed, accepted.get(code, start)), 8, 30),
                    "reply",
                    w.liaisons[code],
                    kind="assignment",
                    record_id=self.assignment(out, code, round_no),
                    reply_class=letter,
                    text=f"{text}。",
                )
                replies.append(reply)
                final.append((code, reply))
            replied = max(replies, key=lambda s: s.at)
            if moves is None:
                moves = replied  # the round's last reply tells the cases: they move to feedback
            raters = signers[:-1] if target == "replied" else signers
            rated = replied.at
            for n, user in enumerate(raters):
                unhappy = target == "rehandled" and not last and n == 0
                result = (
                    Satisfaction.DISSATISFIED
                    if unhappy
                    else rng.choices((Satisfaction.SATISFIED, Satisfaction.BASICALLY), weights=(75, 25))[0]
                )
                moment = cal.member(replied.at, 1, 15)
                add(
                    moment,
                    "rate",
                    user,
                    kind="signature",
                    record_id=self.signature(out, user),
                    process=Satisfaction.SATISFIED if rng.random() < 0.8 else Satisfaction.BASICALLY,
                    result=result,
                    note=t["dissatisfied_note"] if unhappy else rng.choice(t["rating_notes"]),
                )
                rated = max(rated, moment)
            if target == "replied":
                return steps, moves
            start = rated
        for code, reply in final:  # a B reply's matters, reported done later (or not yet)
            if reply.data["reply_class"] == "B" and rng.random() < 0.6:
                add(
                    cal.staff(start, 10, 40),
                    "report_solved",
                    w.liaisons[code],
                    kind="assignment",
                    record_id=self.assignment(out, code, rounds),
                    note=t["solved_note"],
                )
        return steps, moves

    def _objection(
        self, out: OutputPlan, add: Callable[..., Step], office: User, start: datetime, co: list[str], taken: list[str]
    ) -> tuple[list[str], dict[str, datetime]]:
        """The last co-handler objects within its window; the office assigns another in its place.
        Answers the co-handlers now, and when the new one was assigned."""
        cal, w = self.cal, self.w
        objecting = co[-1]
        objected = cal.staff(start, 0, 2)
        record = self.assignment(out, objecting, 1)
        objector = w.liaisons[objecting]
        add(objected, "object", objector, kind="assignment", record_id=record, reason=self.texts["objection"])
        free = [c for c in self.handlers if c not in (*taken, *co)]
        if not free:
            return co[:-1], {}
        instead = self.rng.choice(free)
        reassigned = cal.staff(objected, 1, 3)
        add(
            reassigned,
            "reassign",
            office,
            assignment=record,
            department=w.departments[instead].pk,
            note=self.texts["reassign_note"],
        )
        return [*co[:-1], instead], {instead: reassigned}

    def merges(self, outs: list[OutputPlan]) -> list[Step]:
        """Each proposal meant to be merged goes into one still being handled (submitted before
        it), by the proposal office; none to go into: it stays submitted."""
        cap, rng, steps = self.cal.cap, self.rng, []
        open_ones = [o for o in outs if o.target == "assigned" and o.key in self.submitted]
        for out in outs:
            if out.target != "merged" or not open_ones:
                continue
            into = rng.choice(open_ones)
            lo = max(self.submitted[out.key].at, self.submitted[into.key].at) + timedelta(hours=1)
            if lo >= cap:
                continue
            at = min(self.cal.staff(lo, 1, 5), lo + (cap - lo) * rng.uniform(0.2, 0.9))
            office = rng.choice(self.w.staff["ta"])
            steps.append(
                out.step(at, "merge", office, into=lambda into=into: into.output_id, note=self.texts["merge_note"])
            )
        return steps
