"""Cases driven through `workflows.actions` down each path of bench/generate.py's MIX, in every
variant a path has: each clock the path stops with a verdict met or missed, each decision a
decided path may take, outputs gathering one, two and three cases, and the staff claiming
first or deciding an unclaimed task (which claims it on the way)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from itertools import product

from django.db.models import Value
from django.db.models.functions import Least
from django.utils import timezone

from casework.choices import STAGE_OF_STATUS, ClockState
from casework.models import Case, CaseClock, User
from tests.factories import World
from workflows import actions, engine, output_actions

# The clocks each path stops with a verdict, in the order it stops them.
JUDGED: dict[str, tuple[str, ...]] = {
    "review_again": ("needs_info",),
    "conversion": ("review",),
    "conversion_claimed": ("review",),
    "outcome": ("review", "conversion"),
    "feedback_outcome": ("review", "conversion"),
    "closed_outcome": ("review", "conversion", "feedback"),
    "feedback_decided": ("review",),
    "closed_decided": ("review", "feedback"),
    "merged": ("review",),
    "review_transferred": ("review",),
    "review_sent_back": ("review",),
}
DECISIONS = ("rejected", "redirected", "resolved")
OUTPUT_PATHS = ("outcome", "feedback_outcome", "closed_outcome")
GROUP_SIZES = (1, 2, 3)


@dataclass(frozen=True)
class Variant:
    late: frozenset[str]  # stages decided after their due time
    decision: str = ""
    claim_first: bool = False


def variants(path: str, claim_first: bool) -> list[Variant]:
    stages = JUDGED.get(path, ())
    decisions = DECISIONS if path.endswith("_decided") else ("",)
    return [
        Variant(frozenset(s for s, late in zip(stages, lates, strict=True) if late), decision, claim_first)
        for lates in product((False, True), repeat=len(stages))
        for decision in decisions
    ]


class Driver:
    """Drives cases of one world; answers the ids it made, by path."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.member: User = world.member.user
        self.made: dict[str, list[int]] = {}

    # Steps ------------------------------------------------------------------------------------

    def file(self, *, submit: bool = True) -> int:
        data = {
            "title": "学校门口接送孩子交通拥堵",
            "description": "上下学高峰时段车辆乱停。",
            "category": self.w.category.pk,
            "township": self.w.township.pk,
            "contacts": self.w.contact_ids()[:2],
            "consent_to_share": True,
            "submit": submit,
        }
        return actions.file_case(actor=self.member, data=data).pk

    def act(self, name: str, case_id: int, v: Variant, *, staff: bool = True, **data: object) -> Case:
        """Do `name`; when the variant has the current stage late, its clock is due already (the
        verdict is whether the step came by the due time: this is the step coming after it)."""
        case = Case.objects.get(pk=case_id)
        stage = STAGE_OF_STATUS.get(case.status)
        if stage in v.late:
            late = timezone.now() - timedelta(hours=1)
            CaseClock.objects.filter(case_id=case_id, stage=stage).exclude(state=ClockState.STOPPED).update(
                due_at=late, warn_at=Least("warn_at", Value(late))
            )
        actor = self.w.staff if staff else self.member
        if staff and v.claim_first and name != "claim":
            task = engine.open_task(case_id)
            if task is not None and task.owner_id is None and name != "send_back":
                actions.perform("claim", case_id=case_id, actor=actor)
        return actions.perform(name, case_id=case_id, actor=actor, data=data)

    def feedback(self, case_id: int, v: Variant) -> None:
        told = {"told_on": timezone.localdate().isoformat(), "method": "phone", "satisfaction": "satisfied"}
        self.act("feedback", case_id, v, staff=False, note="已电话告知。", **told)

    def decide(self, case_id: int, v: Variant) -> None:
        if v.decision == "rejected":
            self.act("reject", case_id, v, reason=self.w.reason.pk, note="经核实，属个人诉求。")
        elif v.decision == "redirected":
            self.act("redirect", case_id, v, channel="petition", note="已引导走信访渠道。")
        else:
            self.act("resolve", case_id, v, note="已协调解决。")

    # Paths ------------------------------------------------------------------------------------

    def one(self, path: str, v: Variant) -> list[int]:
        if path == "draft":
            return [self.file(submit=False)]
        case_id = self.file()
        if path == "review":
            pass
        elif path == "review_claimed":
            self.act("claim", case_id, v)
        elif path in ("review_again", "needs_info"):
            self.act("request_info", case_id, v, question="请补充具体位置。")
            if path == "review_again":
                self.act("answer_info", case_id, v, staff=False, answer="南城街道某路口。")
        elif path in ("conversion", "conversion_claimed"):
            self.act("accept", case_id, v, note="同意受理。")
            if path == "conversion_claimed":
                self.act("claim", case_id, v)
        elif path.endswith("_decided"):
            self.decide(case_id, v)
            if path == "closed_decided":
                self.feedback(case_id, v)
        elif path == "merged":
            master = self.file()
            self.made.setdefault("review", []).append(master)
            self.act("merge", case_id, v, into=master, note="重复反映。")
        elif path == "review_transferred":
            self.act("transfer", case_id, v, committee=self.w.other_committee.pk, note="不属本委办。")
        elif path == "review_sent_back":
            self.act("accept", case_id, v)
            self.act("send_back", case_id, v, reason="误操作。")
        else:
            raise ValueError(path)
        return [case_id]

    def output_group(self, path: str, group: list[Variant]) -> list[int]:
        """Cases converted into one output (the first makes it, the others join it); its
        outcome, when the path has one, moves them all on."""
        made, output_id = [], None
        for v in group:
            case_id = self.file()
            self.act("accept", case_id, v)
            case = self.act("convert", case_id, v, output_type="info_report", output=output_id, title="关于交通的建议")
            output_id = case.output_id
            made.append(case_id)
        if path != "outcome":
            assert output_id is not None
            self.instructed(output_id)
        if path == "closed_outcome":
            for case_id, v in zip(made, group, strict=True):
                self.feedback(case_id, v)
        return made

    def instructed(self, output_id: int) -> None:
        """The info report down its lifecycle to the instruction that answers its cases: its
        analysis and suggestion written (the situation is its first case's), submitted, used in
        the bulletin, and a leader's instruction recorded, which moves the waiting cases on."""
        staff = self.w.staff

        def do(name: str, **data: object) -> None:
            output_actions.perform("output", name, record_id=output_id, actor=staff, data=data)

        do("edit", analysis="高峰时段车流集中，停车泊位不足。", suggestion="建议增设护学岗，错峰放学。")
        do("submit")
        do("use", note="")
        do(
            "instruct",
            leader="张某某",
            rank="city",
            text="请交通部门研究落实。",
            given_on=timezone.localdate().isoformat(),
        )

    def run(self, paths: list[str]) -> dict[str, list[int]]:
        for claim_first in (False, True):
            for path in paths:
                found = variants(path, claim_first)
                made = self.made.setdefault(path, [])
                if path in OUTPUT_PATHS:
                    # Every variant, gathered into outputs of each size in turn.
                    at, turn = 0, 0
                    while at < max(len(found), sum(GROUP_SIZES)):
                        size = GROUP_SIZES[turn % len(GROUP_SIZES)]
                        group = [found[(at + k) % len(found)] for k in range(size)]
                        made += self.output_group(path, group)
                        at, turn = at + size, turn + 1
                else:
                    for v in found:
                        made += self.one(path, v)
        return self.made
