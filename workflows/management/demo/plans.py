"""The demo's cases, planned: who files what and when, and what the committee does with it, down
every branch of the case lifecycle. Content (who, what, which branch) is drawn from the seed's
generator at plan time only, so it does not depend on the day the seed runs; moments are drawn
from the calendar's own generator. Each step names a declared transition (`steps.py`)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from casework.choices import Decision, FeedbackMethod, OutputType, RedirectChannel, Satisfaction, Urgency
from casework.models import Case, Member, User

from .clock import SHANGHAI, Calendar
from .data import Demo, Theme
from .proposals import RECENT, ProposalPlanner
from .steps import FILE, CasePlan, OutputPlan, Step, shift
from .world import Builder, World, fill

# The transition that makes each review decision.
DECIDE = {
    Decision.ACCEPTED: "accept",
    Decision.REJECTED: "reject",
    Decision.REDIRECTED: "redirect",
    Decision.RESOLVED: "resolve",
    Decision.NEEDS_INFO: "request_info",
}
# Cases down one branch each: (kind, how many, started between so many days before now, themes).
SINGLES: list[tuple[str, int, tuple[float, float], str]] = [
    ("draft", 14, (0.5, 40), "policy"),
    ("review", 16, (0.3, 12), "policy"),
    ("review_claimed", 12, (0.5, 10), "policy"),
    ("review_answered", 8, (3, 15), "policy"),
    ("needs_info", 10, (1, 14), "policy"),
    ("conversion", 9, (3, 25), "policy"),
    ("conversion_claimed", 5, (3, 20), "policy"),
    ("rejected", 5, (3, 20), "personal"),
    ("rejected_closed", 10, (20, 200), "personal"),
    ("redirected", 5, (3, 20), "personal"),
    ("redirected_closed", 12, (20, 200), "personal"),
    ("resolved", 5, (3, 20), "small"),
    ("resolved_closed", 16, (20, 200), "small"),
    ("sendback_conv_review", 3, (5, 30), "policy"),
    ("sendback_conv_resolve", 2, (20, 60), "small"),
    ("sendback_info_accept", 3, (8, 40), "policy"),
    ("sendback_reject_accept", 2, (8, 40), "policy"),
    ("sendback_resolve_redirect", 2, (8, 40), "personal"),
]
# A decision, sent back, and (perhaps) the decision taken instead.
SEND_BACKS = {
    "sendback_conv_review": (Decision.ACCEPTED, None),
    "sendback_conv_resolve": (Decision.ACCEPTED, Decision.RESOLVED),
    "sendback_info_accept": (Decision.NEEDS_INFO, Decision.ACCEPTED),
    "sendback_reject_accept": (Decision.REJECTED, Decision.ACCEPTED),
    "sendback_resolve_redirect": (Decision.RESOLVED, Decision.REDIRECTED),
}
OUTPUT_KINDS = [OutputType.PROPOSAL, OutputType.INFO_REPORT, OutputType.SPEECH, OutputType.RESEARCH_REPORT]
OUTPUT_SIZES = {  # how many cases an output gathers
    OutputType.PROPOSAL: (1, 1, 2, 2, 3, 3, 4),
    OutputType.INFO_REPORT: (1, 1, 2, 2, 3),
    OutputType.SPEECH: (2, 3, 3, 4),
    OutputType.RESEARCH_REPORT: (3, 4, 5, 6),
}
OUTCOME_DAYS = {  # working days from the last conversion to the outcome
    OutputType.PROPOSAL: (25, 70),
    OutputType.INFO_REPORT: (8, 30),
    OutputType.SPEECH: (10, 40),
    OutputType.RESEARCH_REPORT: (15, 50),
}


class Planner:
    def __init__(self, demo: Demo, world: World, builder: Builder, rng: random.Random, cal: Calendar) -> None:
        self.d, self.w, self.builder, self.rng, self.cal = demo, world, builder, rng, cal
        self.texts = demo.texts
        self.plans: list[CasePlan] = []
        self.outputs: list[OutputPlan] = []
        self.outcome_steps: list[Step] = []  # the outputs' own steps
        self.proposals = ProposalPlanner(demo, world, rng, cal)

    def all(self) -> list[Step]:
        """Every step of every case and output, in the order they happen."""
        pools = {"policy": self.d.policy, "small": self.d.small, "personal": self.d.personal}
        for kind, count, window, pool in SINGLES:
            for _ in range(count):
                theme = self.rng.choice(pools[pool])
                if kind.startswith("rejected") and self.rng.random() < 0.25:
                    theme = self.rng.choice(self.d.policy)  # could not be verified: rejected for that
                self.single(kind, theme, window)
        self.outputs_of(145)
        self.merges(16)
        steps = [s for p in self.plans for s in p.steps] + self.outcome_steps
        steps.sort(key=lambda s: s.at)  # stable: a case's own steps keep their order
        return steps

    # One case ---------------------------------------------------------------------------------

    def _pick_member(self, theme: Theme, avoid: set[int]) -> Member:
        members, prefs = self.w.members, self.w.sector_prefs
        preferred = [m for m in members if theme.category in prefs[m.pk] and m.pk not in avoid]
        pool = preferred if preferred and self.rng.random() < 0.65 else [m for m in members if m.pk not in avoid]
        return self.rng.choice(pool)

    def new(
        self,
        kind: str,
        theme: Theme,
        *,
        town: str | None = None,
        avoid: set[int] | None = None,
        staff: User | None = None,
    ) -> CasePlan:
        rng, w = self.rng, self.w
        member = self._pick_member(theme, avoid or set())
        town = town or rng.choice(theme.towns)
        place = self.builder.place(w, town)
        category = w.categories[theme.category]
        committee_id = w.committee_of(theme.category)
        description = (
            rng.choice(self.texts["intros"])
            + fill(rng.choice(theme.situations), place)
            + fill(rng.choice(theme.suggestions), place)
        )
        plan = CasePlan(
            key=len(self.plans),
            kind=kind,
            member=member,
            staff=staff or rng.choice(w.staff_by_committee[committee_id]),
            theme=theme,
            place=place,
            fields={
                "title": fill(theme.title, place),
                "description": description,
                "category": category.pk,
                "township": w.townships[town].pk,
                "urgency": rng.choices(Urgency.values, weights=(80, 16, 4))[0],
                "contacts": rng.sample(w.rosters[member.pk], rng.randint(1, 2)),
                "consent_to_share": rng.random() < 0.65,
            },
            committee_id=committee_id,
        )
        self.plans.append(plan)
        return plan

    def intake(self, plan: CasePlan, at: datetime, *, draft_first: float = 0.2) -> datetime:
        """File the case (sometimes a draft first, submitted later); returns when it entered review."""
        if self.rng.random() < draft_first:
            plan.add(at, FILE, submit=False)
            at = self.cal.member(at, 0.1, 3)
            plan.opened = plan.add(at, "submit")
        else:
            plan.opened = plan.add(at, FILE, submit=True)
        return at

    def info_round(self, plan: CasePlan, at: datetime, *, answer: bool = True) -> datetime:
        at = self.cal.staff(at, 0, 3)
        plan.add(at, DECIDE[Decision.NEEDS_INFO], question=self.rng.choice(self.texts["questions"]))
        if answer:
            at = self.cal.member(at, 0.3, 4)
            plan.add(at, "answer_info", answer=fill(self.rng.choice(self.texts["answers"]), plan.place))
        return at

    def review_prefix(self, plan: CasePlan, at: datetime, *, claim: float = 0.35, info: float = 0.0) -> datetime:
        """What may happen in review before the decision: an information round, a claim."""
        if self.rng.random() < info:
            at = self.info_round(plan, at)
        if self.rng.random() < claim:
            at = self.cal.staff(at, 0, 2)
            plan.add(at, "claim")
        return at

    def decide(self, plan: CasePlan, decision: Decision, at: datetime) -> Step:
        rng, texts, name = self.rng, self.texts, DECIDE[decision]
        if decision == Decision.ACCEPTED:
            return plan.add(at, name, note=rng.choice(texts["accept_notes"]))
        if decision == Decision.REDIRECTED:
            channel = plan.theme.channel or rng.choice(RedirectChannel.values)
            return plan.add(at, name, channel=channel, note=fill(texts["redirected"][channel], plan.place))
        if decision == Decision.RESOLVED:
            return plan.add(at, name, note=fill(plan.theme.resolution or texts["resolved"], plan.place))
        assert decision == Decision.REJECTED
        reason = self.w.reasons[plan.theme.reason if plan.theme.reason >= 0 else texts["unverifiable_reason"]]
        return plan.add(at, name, reason=reason.pk, note=fill(texts["rejected"], {"reason": reason.text}))

    def feedback(self, plan: CasePlan, at: datetime, arrived: Step) -> Step:
        """The member tells the constituent at `at`, about the outcome `arrived` brought; the day
        they told them is drawn when the step runs (a history moved back in time moves both)."""
        method = self.rng.choices(FeedbackMethod.values, weights=(45, 35, 12, 8))[0]
        satisfaction = self.rng.choices(Satisfaction.values, weights=(70, 22, 8))[0]
        texts = self.texts
        note = fill(
            texts["feedback"],
            {"method": texts["feedback_method"][method], "satisfaction": texts["satisfaction"][satisfaction]},
        )
        share = self.cal.rng.random()
        step = plan.add(at, "feedback", told_on=None, method=method, satisfaction=satisfaction, note=note)
        step.data["told_on"] = lambda: told_on(arrived.at, step.at, share)
        plan.closed = step
        return step

    def fit(self, steps: list[Step], extra_minutes: tuple[int, int] = (60, 4320)) -> None:
        """Move a planned history back in time so it ends before the cap."""
        last = max(s.at for s in steps)
        if last > self.cal.cap:
            shift(steps, last - self.cal.cap + timedelta(minutes=self.cal.rng.randint(*extra_minutes)))

    def single(self, kind: str, theme: Theme, start_days: tuple[float, float]) -> CasePlan:
        plan, cal = self.new(kind, theme), self.cal
        start = cal.day_before_cap(*start_days)
        if kind == "draft":
            plan.add(start, FILE, submit=False)
            return plan
        at = self.intake(plan, start)
        if kind == "review_claimed":
            self.review_prefix(plan, at, claim=1.0)
        elif kind == "review_answered":
            self.review_prefix(plan, at, claim=0.5, info=1.0)
        elif kind == "needs_info":
            at = self.review_prefix(plan, at, claim=0.3)
            self.info_round(plan, at, answer=False)
        elif kind in ("conversion", "conversion_claimed"):
            at = self.review_prefix(plan, at, info=0.2)
            at = cal.staff(at, 1, 4)
            self.decide(plan, Decision.ACCEPTED, at)
            if kind == "conversion_claimed":
                plan.add(cal.staff(at, 0, 2), "claim")
        elif kind.startswith(("rejected", "redirected", "resolved")):
            at = self.review_prefix(plan, at, info=0.1)
            at = cal.staff(at, 1, 6 if self.rng.random() < 0.9 else 9)  # a few decided after the clock ran out
            decided = self.decide(plan, Decision(kind.split("_")[0]), at)
            if kind.endswith("_closed"):
                self.feedback(plan, cal.member(at, 0.5, 12), decided)
        elif kind in SEND_BACKS:
            self.send_back(plan, kind, at)
        elif kind != "review":
            raise ValueError(kind)
        self.fit(plan.steps)
        return plan

    def send_back(self, plan: CasePlan, kind: str, at: datetime) -> None:
        cal = self.cal
        first, then = SEND_BACKS[kind]
        if first == Decision.NEEDS_INFO:
            at = self.info_round(plan, at, answer=False)
        else:
            at = cal.staff(at, 1, 3)
            self.decide(plan, first, at)
        at = cal.staff(at, 0, 3)
        plan.add(at, "send_back", reason=self.rng.choice(self.texts["send_back_reasons"]))
        if then is not None:
            at = cal.staff(at, 1, 3)
            decided = self.decide(plan, then, at)
            if then == Decision.RESOLVED:
                self.feedback(plan, cal.member(at, 0.5, 6), decided)

    # Outputs and duplicates -------------------------------------------------------------------

    def outputs_of(self, total: int) -> None:
        """Cases that become outputs. Several cases of one theme are gathered into one output; a
        proposal then goes down its own lifecycle (`proposals.py`), an info report and a research
        report down theirs (`info_report`, `research_report`)."""
        cal, rng, w = self.cal, self.rng, self.w
        themes = list(self.d.policy)
        rng.shuffle(themes)
        remaining, n = total, 0
        while remaining > 0:
            if n < 8:  # each type at least once with its outcome and once still waiting, gathering 2+ cases
                output_type, recorded = OUTPUT_KINDS[n % 4], n < 4
                size = max(2, rng.choice(OUTPUT_SIZES[output_type]))
            else:
                output_type = rng.choices(OUTPUT_KINDS, weights=(45, 30, 12, 13))[0]
                recorded = rng.random() < 0.66
                size = rng.choice(OUTPUT_SIZES[output_type])
            size = min(size, remaining)
            theme = themes[n % len(themes)]
            committee_id = w.committee_of(theme.category)
            title = fill(self.d.outputs["titles"][output_type], {"phrase": theme.phrase})
            out = OutputPlan(n, output_type, theme, committee_id, title, recorded)
            if output_type == OutputType.PROPOSAL:
                out.target = self.proposals.next_target()
                recorded = out.target not in RECENT
            n += 1
            remaining -= size
            base = cal.day_before_cap(100, 240) if recorded else cal.day_before_cap(8, 80)
            out.staff = rng.choice(w.staff_by_committee[committee_id])  # one staff member gathers it
            steps, converted = self._gathered(out, size, base, out.staff)
            self.outputs.append(out)
            if output_type in OWN_LIFECYCLE:
                own, moves = OWN_LIFECYCLE[output_type](self, out, max(converted))
            else:
                own, moves = [], None
            self.fit([*steps, *own], (60, 20 * 1440) if own else (60, 5 * 1440))
            self.outcome_steps.extend(own)
            if moves is not None:
                self.feedback_on(out, moves)
        self.outcome_steps.extend(self.proposals.merges(self.outputs))

    def info_report(self, out: OutputPlan, converted: datetime) -> tuple[list[Step], Step | None]:
        """An info report: edited and submitted by its staff member, then used in a bulletin
        issue with a leader's instruction on it (its answer), or not used; a few still wait."""
        rng, cal = self.rng, self.cal
        assert out.staff is not None
        staff, steps = out.staff, []
        if not out.recorded:
            return [], None
        at = cal.staff(converted, 0, 3)
        steps.append(
            out.step(
                at,
                "edit",
                staff,
                situation=fill("{phrase}问题群众反映集中。", {"phrase": out.theme.phrase}),
                analysis=fill(self.d.outputs["proposal"]["analysis"], {"phrase": out.theme.phrase}),
                suggestion=fill("建议由{dept}牵头研究解决。", {"dept": out.theme.dept}),
            )
        )
        at = cal.staff(at, 0, 2)
        steps.append(out.step(at, "submit", staff))
        at = cal.staff(at, 1, 6)
        if rng.random() < 0.2:
            answer = out.step(at, "not_use", staff, note="内容已在其他信息中反映。")
            steps.append(answer)
            return steps, answer
        steps.append(out.step(at, "use", staff))
        at = cal.staff(at, 3, 20)
        out.outcome = self.outcome_text(out)
        leader = rng.choice(self.w.leaders)
        answer = out.step(at, "instruct", staff, leader=str(leader), rank="district", text=out.outcome, given_on=None)
        # The day of the step as it runs (a history may be shifted back after planning).
        answer.data["given_on"] = lambda: _day(answer.at)
        steps.append(answer)
        return steps, answer

    def research_report(self, out: OutputPlan, converted: datetime) -> tuple[list[Step], Step | None]:
        """A research report: written and submitted by its staff member, approved by leadership
        and transmitted (its answer); a few still wait."""
        rng, cal = self.rng, self.cal
        assert out.staff is not None
        staff = out.staff
        if not out.recorded:
            return [], None
        at = cal.staff(converted, 1, 10)
        out.outcome = self.outcome_text(out)
        steps = [
            out.step(at, "edit", staff, body=fill(self.d.outputs["proposal"]["analysis"], {"phrase": out.theme.phrase}))
        ]
        at = cal.staff(at, 0, 2)
        steps.append(out.step(at, "submit", staff))
        at = cal.staff(at, 2, 10)
        steps.append(out.step(at, "approve", rng.choice(self.w.leaders), note="同意报送。"))
        at = cal.staff(at, 1, 5)
        answer = out.step(at, "transmit", staff, note=out.outcome)
        steps.append(answer)
        return steps, answer

    def proposal(self, out: OutputPlan, converted: datetime) -> tuple[list[Step], Step | None]:
        return self.proposals.plan(out, converted)

    def feedback_on(self, out: OutputPlan, moves: Step) -> None:
        """Most members tell their constituents what came of the output, some not yet."""
        cal = self.cal
        for plan in out.cases:
            if self.rng.random() < 0.76:
                at = cal.member(moves.at, 0.5, 14)
                if at > cal.cap:  # not yet: somewhere between the outcome and now
                    at = moves.at + (cal.cap - moves.at) * cal.rng.uniform(0.2, 0.9)
                self.feedback(plan, at, moves)

    def _gathered(self, out: OutputPlan, size: int, base: datetime, staff: User) -> tuple[list[Step], list[datetime]]:
        """`size` cases of the output's theme, filed by different members, accepted and converted
        into it by one staff member: the first conversion makes the output, the others join it.
        Answers their steps and when each was converted."""
        cal, steps, converted = self.cal, [], []
        used: set[int] = set()
        for _ in range(size):
            plan = self.new("output", out.theme, avoid=used, staff=staff)
            used.add(plan.member.pk)
            at = self.intake(plan, cal.member(base, 0, 25))
            at = self.review_prefix(plan, at, info=0.15)
            at = cal.staff(at, 1, 5)
            self.decide(plan, Decision.ACCEPTED, at)
            at = cal.staff(at, 1, 9)
            convert = plan.add(
                at, "convert", output_type=out.output_type, output=lambda out=out: out.output_id, title=out.title
            )
            convert.then = lambda case, out=out: _made(out, case)
            converted.append(at)
            out.cases.append(plan)
            steps.extend(plan.steps)
        return steps, converted

    def outcome_text(self, out: OutputPlan) -> str:
        rng, outcomes, dept = self.rng, self.d.outputs["outcomes"], out.theme.dept
        if out.output_type == OutputType.PROPOSAL:
            letter, label, reply = rng.choices(outcomes["reply_classes"], weights=(55, 35, 10))[0]
            return fill(outcomes["proposal"], {"dept": dept, "reply": reply, "letter": letter, "label": label})
        if out.output_type == OutputType.INFO_REPORT:
            return fill(outcomes["info_report"], {"adoption": rng.choice(outcomes["adoption"])})
        if out.output_type == OutputType.SPEECH:
            return fill(rng.choice(outcomes["speech"]), {"dept": dept})
        return fill(rng.choice(outcomes["research"]), {"dept": dept})

    def merges(self, count: int) -> None:
        """The same concern raised again by another member, merged into the open case by staff."""
        cal = self.cal
        kinds = ("output", "conversion", "review_answered", "needs_info")
        masters = [p for p in self.plans if p.kind in kinds and p.opened is not None]
        for master in self.rng.sample(masters, count):
            plan = self.new(
                "merged", master.theme, town=master.place["town"], avoid={master.member.pk}, staff=master.staff
            )
            assert master.opened is not None
            start = master.opened.at + timedelta(hours=1)
            until = min(master.closed.at if master.closed else cal.cap, cal.cap)
            at = start + (until - start) * cal.rng.uniform(0.05, 0.4)
            plan.opened = plan.add(at, FILE, submit=True)
            decided = cal.staff(at, 0, 2)
            if decided >= until:
                decided = at + (until - at) * cal.rng.uniform(0.3, 0.9)
            note = self.texts["merged"]
            plan.closed = plan.add(
                decided,
                "merge",
                into=lambda master=master: master.case_id,
                note=lambda master=master, note=note: fill(note, {"master": str(master.case_id)}),
            )


def told_on(arrived: datetime, told: datetime, share: float) -> str:
    """A day between the outcome's arrival and the step recording it (at most three days
    before the step), as the feedback's `told_on` takes it."""
    earliest = max(arrived, told - timedelta(days=3))
    return (earliest + (told - earliest) * share).astimezone(SHANGHAI).date().isoformat()


# How each output type goes down its own lifecycle in the demo. Plenary speeches stay drafts: their
# solicitation window is a session's, which the demo's history does not open.
OWN_LIFECYCLE = {
    OutputType.PROPOSAL: Planner.proposal,
    OutputType.INFO_REPORT: Planner.info_report,
    OutputType.RESEARCH_REPORT: Planner.research_report,
}


def _day(at: datetime) -> str:
    return at.astimezone(SHANGHAI).date().isoformat()


def _made(out: OutputPlan, case: Case) -> None:
    if out.output_id is None:
        out.output_id = case.output_id
