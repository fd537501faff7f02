"""Every declared transition, done by its proper role through the API and through the web page,
has the same effect: the case's status and decision, the task it then waits on, its clocks and
the audit events with their actors. Both doors offer it first (the API's
`available_transitions`, the page's form), and a transition declared without a scenario here
fails the test: a new transition is reachable from both doors or the suite says so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from casework.choices import Role
from casework.models import AuditEvent, Case, CaseClock, Output
from tests.factories import World, make_user
from tests.helpers import do, do_output, file, open_tasks, today
from workflows.case_lifecycle import CASE


@dataclass
class Scenario:
    actor: str  # "member", "staff" or "head" (of the cases' committee)
    data: Callable[[World, Case], dict[str, Any]] = lambda w, c: {}
    before: list[tuple[str, str, Callable[[World, Case], dict[str, Any]]]] = field(default_factory=list)
    draft: bool = False


def _new_case(world: World, title: str, *, draft: bool = False) -> Case:
    return file(
        world.member.user,
        submit=not draft,
        title=title,
        description="放学时段车辆排队半小时",
        category=world.category.pk,
        township=world.township.pk,
        contacts=world.contact_ids(),
    )


SCENARIOS: dict[str, Scenario] = {
    "edit": Scenario("member", lambda w, c: {"title": "校门口接送拥堵（补充）", "urgency": "urgent"}, draft=True),
    "submit": Scenario("member", draft=True),
    "claim": Scenario("staff"),
    "release": Scenario("staff", before=[("claim", "staff", lambda w, c: {})]),
    "accept": Scenario("staff", lambda w, c: {"note": "可转为提案"}),
    "request_info": Scenario("staff", lambda w, c: {"question": "请补充具体路段"}),
    "resolve": Scenario("staff", lambda w, c: {"note": "已协调交警错峰执勤"}),
    "redirect": Scenario("staff", lambda w, c: {"channel": "hotline_12345", "note": "属市政维修"}),
    "reject": Scenario("staff", lambda w, c: {"reason": w.reason.pk, "note": "个人诉求"}),
    "merge": Scenario("staff", lambda w, c: {"into": _new_case(w, "主案件").pk, "note": "同一问题"}),
    "transfer": Scenario("staff", lambda w, c: {"committee": w.other_committee.pk, "note": "属经济委员会"}),
    "answer_info": Scenario(
        "member",
        lambda w, c: {"answer": "县前街路段 16:00-16:40"},
        before=[("request_info", "staff", lambda w, c: {"question": "请补充具体路段"})],
    ),
    "convert": Scenario(
        "staff",
        lambda w, c: {"output_type": "info_report", "title": "关于校门口拥堵的社情民意"},
        before=[("accept", "staff", lambda w, c: {})],
    ),
    "feedback": Scenario(
        "member",
        lambda w, c: {"told_on": today(), "method": "phone", "satisfaction": "satisfied", "note": "群众表示感谢"},
        before=[("resolve", "staff", lambda w, c: {"note": "已当场答复"})],
    ),
    "send_back": Scenario(
        "staff", lambda w, c: {"reason": "误操作，重新审核"}, before=[("accept", "staff", lambda w, c: {})]
    ),
    "reassign": Scenario(
        "head",
        lambda w, c: {"to": w.staff2.pk, "note": "张干事休假，请陈干事接办"},
        before=[("claim", "staff", lambda w, c: {})],
    ),
}


def test_every_public_transition_has_a_scenario():
    assert set(SCENARIOS) == set(CASE.names())


def _actor(world: World, who: str) -> Any:
    if who == "head":
        return _committee_head(world)
    return world.member.user if who == "member" else world.staff


def _committee_head(world: World) -> Any:
    """The head of the cases' committee (the world has none until a scenario needs one)."""
    if world.committee.head is None:
        world.committee.head = make_user(world.org, Role.COMMITTEE_HEAD, "刘主任")
        world.committee.save(update_fields=["head"])
    return world.committee.head


def _prepared(world: World, scenario: Scenario, title: str) -> Case:
    case = _new_case(world, title, draft=scenario.draft)
    for name, who, data in scenario.before:
        do(name, case.pk, _actor(world, who), **data(world, case))
    return case


def _effect(case: Case, actor_id: int, since_seq: int) -> dict[str, Any]:
    """What a transition did to a case, without ids that differ between two cases."""
    case.refresh_from_db()
    tasks = open_tasks(case.pk)
    clocks = CaseClock.objects.filter(case=case).order_by("id")
    events = AuditEvent.objects.filter(stream=f"case:{case.pk}", seq__gt=since_seq).order_by("seq")
    return {
        "status": case.status,
        "decision": case.decision,
        "committee": case.committee_id,
        "urgency": case.urgency,
        "outcome": case.outcome,
        "output_type": Output.objects.get(pk=case.output_id).output_type if case.output_id else None,
        "tasks": [(t["stage"], t["owner"] == actor_id, t["owner"] is None) for t in tasks],
        "clocks": [(c.stage, c.state, c.queue_id, c.assignee_id, c.is_met) for c in clocks],
        "events": [(e.action, e.actor_id == actor_id) for e in events],
    }


def _head(case: Case) -> int:
    last = AuditEvent.objects.filter(stream=f"case:{case.pk}").order_by("-seq").first()
    return last.seq if last else 0


def _form(data: dict[str, Any]) -> dict[str, Any]:
    """The same input as a browser posts it."""
    posted: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, bool):
            if value:
                posted[key] = "on"
        else:
            posted[key] = value
    return posted


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_api_and_the_page_do_the_same(world, client_for, name):
    scenario = SCENARIOS[name]
    actor = _actor(world, scenario.actor)
    via_api, via_page = _prepared(world, scenario, "经接口办理"), _prepared(world, scenario, "经网页办理")
    api, page = client_for(actor), Client()
    page.force_login(actor)

    # Both doors offer it now.
    offered = [t["name"] for t in api.get(f"/api/v1/cases/{via_api.pk}/").json()["available_transitions"]]
    assert name in offered
    assert f'action="/cases/{via_page.pk}/do/{name}/"' in page.get(f"/cases/{via_page.pk}/").content.decode()

    api_since, page_since = _head(via_api), _head(via_page)
    response = api.post(f"/api/v1/cases/{via_api.pk}/transitions/{name}/", scenario.data(world, via_api), format="json")
    assert response.status_code == 200, response.content
    done = page.post(f"/cases/{via_page.pk}/do/{name}/", _form(scenario.data(world, via_page)))
    assert done.status_code == 302, done.content.decode()[:2000]

    api_effect = _effect(via_api, actor.pk, api_since)
    page_effect = _effect(via_page, actor.pk, page_since)
    assert api_effect == page_effect
    assert api_effect["events"], "the transition wrote its audit event"
    assert all(by_actor for _action, by_actor in api_effect["events"])
    assert api_effect["events"][-1][0] == CASE[name].audit


@pytest.mark.parametrize("name", ["use", "not_use"])
def test_an_info_reports_decision_does_the_same_through_both_doors(world, client_for, name):
    """An info report submitted, then used in a bulletin or not used, once through the API and
    once through its page: the same status, events and effect on its case."""
    outputs = []
    for title in ("经接口", "经网页"):
        case = _new_case(world, title)
        do("accept", case.pk, world.staff)
        do("convert", case.pk, world.staff, output_type="info_report")
        case.refresh_from_db()
        do_output("edit", case.output_id, world.staff, analysis="分析", suggestion="建议")
        do_output("submit", case.output_id, world.staff)
        outputs.append((case, case.output_id))
    (api_case, api_output), (page_case, page_output) = outputs
    page = Client()
    page.force_login(world.staff)
    assert f'action="/outputs/{page_output}/do/{name}/"' in page.get(f"/outputs/{page_output}/").content.decode()

    since = (_head(api_case), _head(page_case))
    api = client_for(world.staff).post(f"/api/v1/outputs/{api_output}/transitions/{name}/", {}, format="json")
    assert api.status_code == 200
    assert page.post(f"/outputs/{page_output}/do/{name}/", {}).status_code == 302

    assert _effect(api_case, world.staff.pk, since[0]) == _effect(page_case, world.staff.pk, since[1])
    api_row, page_row = Output.objects.get(pk=api_output), Output.objects.get(pk=page_output)
    assert api_row.status == page_row.status == {"use": "used", "not_use": "not_used"}[name]


# The output lifecycles: a proposal, its signatures and its assignments --------------------------


@dataclass
class Cast:
    """Who acts on a proposal besides its committee's staff and its members."""

    world: World
    office: Any
    lead: Any
    co: Any
    third: Any
    lead_liaison: Any
    co_liaison: Any
    reason: Any


def _cast(world: World) -> Cast:
    from casework.choices import Role
    from casework.models import Department, OutputReason
    from tests.factories import make_user

    org = world.org
    office = make_user(org, Role.PROPOSAL_OFFICE, "提案委员会干事")
    departments = [Department.objects.create(organisation=org, name=n) for n in ("区教育局", "区公安分局", "区交通局")]
    liaisons = []
    for department in departments[:2]:
        liaison = make_user(org, Role.DEPARTMENT_LIAISON, f"{department.name}联络员")
        liaison.department = department
        liaison.save()
        liaisons.append(liaison)
    reason = OutputReason.objects.create(organisation=org, text="属于个人诉求")
    return Cast(world, office, *departments, *liaisons, reason)


def _proposal(world: World, title: str) -> Output:
    """A draft proposal gathering a case of each of the world's two members."""
    output_id = None
    for member in (world.member, world.other_member):
        case = file(
            member.user,
            title=f"{member.name}：{title}",
            description="放学时段车辆排队半小时",
            category=world.category.pk,
            contacts=list(member.roster.values_list("contact_id", flat=True)[:1]),
        )
        do("accept", case.pk, world.staff)
        data: dict[str, Any] = {"output_type": "proposal", "title": "关于校门口交通安全的提案"}
        if output_id is not None:
            data["output"] = output_id
        case = do("convert", case.pk, world.staff, **data)
        output_id = case.output_id
    return Output.objects.get(pk=output_id)


def _run(kind: str, name: str, record: Any, actor: Any, **data: Any) -> None:
    from workflows import output_actions

    output_actions.perform(kind, name, record_id=record.pk, actor=actor, data=data)


def _signer(output: Output, user: Any) -> Any:
    return output.signers.get(user=user)


def _assignment(output: Output, department: Any) -> Any:
    return output.assignments.filter(department=department).order_by("-round", "-id").first()


def _confirmed(c: Cast, o: Output) -> None:
    for signer in o.signers.all():
        _run("signature", "confirm", signer, signer.user)
    _run("output", "edit", o, c.world.staff, suggestion="增设护学岗。")


def _submitted(c: Cast, o: Output) -> None:
    _confirmed(c, o)
    _run("output", "submit", o, c.world.staff)


def _filed(c: Cast, o: Output) -> None:
    _submitted(c, o)
    _run("output", "file", o, c.office)


def _assigned_joint(c: Cast, o: Output) -> None:
    _filed(c, o)
    _run("output", "assign", o, c.office, handling="joint", lead=c.lead.pk, co_handlers=[c.co.pk])


def _assigned_lead(c: Cast, o: Output) -> None:
    _filed(c, o)
    _run("output", "assign", o, c.office, handling="joint", lead=c.lead.pk)


def _objected(c: Cast, o: Output) -> None:
    _assigned_joint(c, o)
    _run("assignment", "object", _assignment(o, c.lead), c.lead_liaison, reason="不属本单位职责")


def _extension_requested(c: Cast, o: Output) -> None:
    _assigned_lead(c, o)
    until = (timezone.localdate() + timedelta(days=120)).isoformat()
    _run("assignment", "request_extension", _assignment(o, c.lead), c.lead_liaison, until=until, reason="需协调")


def _replied(reply_class: str) -> Callable[[Cast, Output], None]:
    def stage(c: Cast, o: Output) -> None:
        _assigned_lead(c, o)
        _run("assignment", "reply", _assignment(o, c.lead), c.lead_liaison, reply_class=reply_class, text="已答复")

    return stage


def _merge_target(c: Cast, o: Output) -> dict[str, Any]:
    target = _proposal(c.world, "并入目标")
    _submitted(c, target)
    return {"into": target.pk, "note": "同一问题"}


@dataclass
class OutputScenario:
    kind: str  # output, assignment or signature
    actor: Callable[[Cast], Any]
    stage: Callable[[Cast, Output], None] = lambda c, o: None
    data: Callable[[Cast, Output], dict[str, Any]] = lambda c, o: {}
    record: Callable[[Cast, Output], Any] = lambda c, o: o


def _staff(c: Cast) -> Any:
    return c.world.staff


def _office(c: Cast) -> Any:
    return c.office


def _lead_liaison(c: Cast) -> Any:
    return c.lead_liaison


def _member(c: Cast) -> Any:
    return c.world.member.user


def _lead_row(c: Cast, o: Output) -> Any:
    return _assignment(o, c.lead)


def _my_signature(c: Cast, o: Output) -> Any:
    return _signer(o, c.world.member.user)


OUTPUT_SCENARIOS: dict[str, OutputScenario] = {
    # The output's own.
    "edit": OutputScenario("output", _staff, data=lambda c, o: {"title": "关于校门口交通安全的提案（修改）"}),
    "remove_case": OutputScenario(
        "output", _staff, data=lambda c, o: {"case": o.cases.get(member=c.world.other_member).pk, "note": "另行转化"}
    ),
    "set_signers": OutputScenario(
        "output", _staff, data=lambda c, o: {"first": c.world.other_member.user.pk, "co_signers": []}
    ),
    "submit": OutputScenario("output", _staff, _confirmed),
    "file": OutputScenario("output", _office, _submitted, lambda c, o: {"key": True, "supervisor": c.world.leader.pk}),
    "not_file": OutputScenario("output", _office, _submitted, lambda c, o: {"reason": c.reason.pk, "note": "个人诉求"}),
    "merge": OutputScenario("output", _office, _submitted, _merge_target),
    "withdraw": OutputScenario("output", _office, _submitted, lambda c, o: {"note": "提案人申请撤回"}),
    "assign": OutputScenario(
        "output",
        _office,
        _filed,
        lambda c, o: {"handling": "joint", "lead": c.lead.pk, "co_handlers": [c.co.pk]},
    ),
    "reassign": OutputScenario(
        "output",
        _office,
        _objected,
        lambda c, o: {"assignment": _assignment(o, c.lead).pk, "department": c.third.pk, "note": "改由交通局"},
    ),
    # A signature's.
    "confirm": OutputScenario("signature", _member, record=_my_signature),
    "rate": OutputScenario(
        "signature",
        _member,
        _replied("A"),
        lambda c, o: {"process": "satisfied", "result": "basically", "note": "谢谢"},
        _my_signature,
    ),
    # An assignment's.
    "accept": OutputScenario("assignment", _lead_liaison, _assigned_joint, record=_lead_row),
    "object": OutputScenario(
        "assignment", _lead_liaison, _assigned_joint, lambda c, o: {"reason": "不属本单位职责"}, _lead_row
    ),
    "send_view": OutputScenario(
        "assignment",
        lambda c: c.co_liaison,
        _assigned_joint,
        lambda c, o: {"view": "建议增设信号灯"},
        lambda c, o: _assignment(o, c.co),
    ),
    "request_extension": OutputScenario(
        "assignment",
        _lead_liaison,
        _assigned_lead,
        lambda c, o: {"until": (timezone.localdate() + timedelta(days=120)).isoformat(), "reason": "需协调"},
        _lead_row,
    ),
    "decide_extension": OutputScenario(
        "assignment", _office, _extension_requested, lambda c, o: {"approve": True, "note": "同意"}, _lead_row
    ),
    "reply": OutputScenario(
        "assignment", _lead_liaison, _assigned_lead, lambda c, o: {"reply_class": "B", "text": "列入计划"}, _lead_row
    ),
    "report_solved": OutputScenario(
        "assignment", _lead_liaison, _replied("B"), lambda c, o: {"note": "已建成护学岗"}, _lead_row
    ),
}
PLURAL = {"output": "outputs", "assignment": "assignments", "signature": "signatures"}


def test_every_output_transition_has_a_scenario():
    from workflows.output_lifecycle import ASSIGNMENT, LIFECYCLES, SIGNATURE

    declared = {*LIFECYCLES["proposal"].names(), *ASSIGNMENT.names(), *SIGNATURE.names()}
    assert set(OUTPUT_SCENARIOS) == declared


def _output_heads(output: Output) -> dict[str, int]:
    streams = [f"output:{output.pk}", *(f"case:{pk}" for pk in output.cases.values_list("pk", flat=True))]
    return {
        s: (AuditEvent.objects.filter(stream=s).order_by("-seq").values_list("seq", flat=True).first() or 0)
        for s in streams
    }


def _output_effect(output: Output, actor_id: int, heads: dict[str, int]) -> dict[str, Any]:
    """What a transition did to a proposal, its records and its cases, without ids that differ
    between two proposals (departments and people are the same on both)."""
    from casework.models import OutputRating

    o = Output.objects.get(pk=output.pk)
    cases = Case.objects.filter(pk__in=[int(s.split(":")[1]) for s in heads if s.startswith("case:")])

    def events(stream: str) -> list[tuple[str, bool]]:
        rows = AuditEvent.objects.filter(stream=stream, seq__gt=heads[stream]).order_by("seq")
        return [(e.action, e.actor_id == actor_id) for e in rows]

    return {
        "output": (o.status, o.title, o.suggestion, bool(o.number), o.is_key, o.supervisor_id, o.refusal_reason_id),
        "handling": (o.handling, o.round, o.followup_open, bool(o.merged_into_id), o.outcome),
        "signers": [(s.user_id, s.role, s.confirmed_at is not None) for s in o.signers.order_by("user_id")],
        "ratings": sorted(
            (r.signer.user_id, r.round, r.process, r.result, r.note) for r in OutputRating.objects.filter(output=o)
        ),
        "assignments": [
            (a.department_id, a.role, a.status, a.round, a.extension_state, a.reply_class, a.reply, a.view)
            + (a.objection, a.solved_note, a.due_at is not None)
            for a in o.assignments.order_by("round", "department_id")
        ],
        "events": events(f"output:{o.pk}"),
        "cases": [
            (c.member_id, c.status, c.output_id == o.pk, events(f"case:{c.pk}")) for c in cases.order_by("member_id")
        ],
    }


@pytest.mark.parametrize("name", list(OUTPUT_SCENARIOS))
def test_each_output_transition_does_the_same_through_the_api_and_the_page(world, client_for, name):
    scenario = OUTPUT_SCENARIOS[name]
    cast = _cast(world)
    actor = scenario.actor(cast)
    via_api, via_page = _proposal(world, "经接口办理"), _proposal(world, "经网页办理")
    for output in (via_api, via_page):
        scenario.stage(cast, output)
    api_record, page_record = (scenario.record(cast, Output.objects.get(pk=o.pk)) for o in (via_api, via_page))
    api_data, page_data = scenario.data(cast, via_api), scenario.data(cast, via_page)
    api, page = client_for(actor), Client()
    page.force_login(actor)
    plural = PLURAL[scenario.kind]

    # Both doors offer it now, on this record.
    body = api.get(f"/api/v1/outputs/{via_api.pk}/").json()
    if scenario.kind == "output":
        offered = [t["name"] for t in body["available_transitions"]]
    else:
        rows = body["signatures" if scenario.kind == "signature" else "assignments"]
        offered = [t["name"] for r in rows if r["id"] == api_record.pk for t in r["available_transitions"]]
    assert name in offered
    html = page.get(f"/outputs/{via_page.pk}/").content.decode()
    assert f'action="/{plural}/{page_record.pk}/do/{name}/"' in html

    heads = (_output_heads(via_api), _output_heads(via_page))
    response = api.post(f"/api/v1/{plural}/{api_record.pk}/transitions/{name}/", api_data, format="json")
    assert response.status_code == 200, response.content
    done = page.post(f"/{plural}/{page_record.pk}/do/{name}/", _form(page_data))
    assert done.status_code == 302, done.content.decode()[:3000]
    assert done["Location"] in (f"/outputs/{via_page.pk}/", "/")

    api_effect = _output_effect(via_api, actor.pk, heads[0])
    page_effect = _output_effect(via_page, actor.pk, heads[1])
    assert api_effect == page_effect
    assert api_effect["events"] and all(by_actor for _action, by_actor in api_effect["events"])
