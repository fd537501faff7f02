"""Every declared transition, done by its proper role through the API and through the web page,
has the same effect: the case's status and decision, the task it then waits on, its clocks and
the audit events with their actors. Both doors offer it first (the API's
`available_transitions`, the page's form), and a transition declared without a scenario here
fails the test: a new transition is reachable from both doors or the suite says so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from casework.models import AuditEvent, Case, CaseClock, Output
from tests.factories import World
from tests.helpers import do, file, open_tasks, today
from workflows.case_lifecycle import CASE
from workflows.output_lifecycle import OUTPUT


@dataclass
class Scenario:
    actor: str  # "member" or "staff"
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
}


def test_every_public_transition_has_a_scenario():
    assert set(SCENARIOS) == set(CASE.names())


def _actor(world: World, who: str) -> Any:
    return world.member.user if who == "member" else world.staff


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


def test_every_output_transition_does_the_same_through_both_doors(world, client_for):
    assert "record_outcome" in OUTPUT.names()
    outputs = []
    for title in ("经接口", "经网页"):
        case = _new_case(world, title)
        do("accept", case.pk, world.staff)
        do("convert", case.pk, world.staff, output_type="proposal")
        case.refresh_from_db()
        outputs.append((case, case.output_id))
    (api_case, api_output), (page_case, page_output) = outputs
    page = Client()
    page.force_login(world.staff)
    assert (
        f'action="/outputs/{page_output}/do/record_outcome/"' in page.get(f"/outputs/{page_output}/").content.decode()
    )

    since = (_head(api_case), _head(page_case))
    assert (
        client_for(world.staff)
        .post(f"/api/v1/outputs/{api_output}/transitions/record_outcome/", {"outcome": "已列入计划"}, format="json")
        .status_code
        == 200
    )
    assert page.post(f"/outputs/{page_output}/do/record_outcome/", {"outcome": "已列入计划"}).status_code == 302

    assert _effect(api_case, world.staff.pk, since[0]) == _effect(page_case, world.staff.pk, since[1])
    assert Output.objects.get(pk=api_output).status == Output.objects.get(pk=page_output).status == "outcome_recorded"
