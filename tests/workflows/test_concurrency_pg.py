"""Races on a real PostgreSQL: one owner per claim, one decision per case, no double claims."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection
from rest_framework.test import APIClient

from casework.errors import Conflict
from casework.models import AuditEvent, CaseClock
from tests.factories import token_key
from tests.helpers import do, events, open_task
from tests.workflows.test_case_flow import file_case
from workflows import actions

# serialized_rollback: the data the migrations seed (roles, the calendar) is back for the next test.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def race(n: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(i)` in n threads released at once; each returns a value or the exception."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_eight_threads_claiming_one_task_give_exactly_one_owner(world):
    case = file_case(world)
    staff = [world.staff, world.staff2]
    for i in range(6):
        from tests.factories import make_user

        extra = make_user(world.org, "committee_staff", f"干事{i}")
        world.committee.staff.add(extra)
        staff.append(extra)

    results = race(8, lambda i: do("claim", case.pk, staff[i]))

    winners = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, Conflict) for i, r in enumerate(results) if i not in winners), results
    owner = staff[winners[0]]
    assert open_task(case)["owner"] == owner.pk
    assert CaseClock.objects.get(case=case).assignee_id == owner.pk
    assert [a for a, _ in events(case)] == ["case.submitted", "case.claimed"]


def test_two_concurrent_decisions_one_applies_one_gets_409(world):
    case = file_case(world)
    clients = []
    for user in (world.staff, world.staff2):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user)}")
        clients.append(client)
    bodies = [("accept", {"note": "转化"}), ("reject", {"reason": world.reason.pk})]

    def decide(i: int):
        name, body = bodies[i]
        return clients[i].post(f"/api/v1/cases/{case.pk}/transitions/{name}/", body, format="json")

    responses = race(2, decide)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409], [r.content for r in responses]
    loser = next(r for r in responses if r.status_code == 409).json()["error"]
    assert loser["code"] in {"claimed_by_other", "conflict", "transition_not_allowed", "locked"}
    case.refresh_from_db()
    decided = [a for a, _ in events(case) if a in ("case.accepted", "case.rejected")]
    assert len(decided) == 1 and case.status in ("conversion", "feedback")


def test_claim_next_with_four_clients_never_double_claims(world):
    cases = [file_case(world, title=f"问题{i}") for i in range(24)]
    staff = [world.staff, world.staff2]
    from tests.factories import make_user

    for i in range(2):
        extra = make_user(world.org, "committee_staff", f"干事{i}")
        world.committee.staff.add(extra)
        staff.append(extra)

    def drain(i: int) -> list[int]:
        got = []
        while True:
            claimed = actions.claim_next(committee_id=world.committee.pk, actor=staff[i])
            if claimed is None:
                return got
            got.append(claimed.case_id)

    results = race(4, drain)
    assert not [r for r in results if isinstance(r, Exception)], results
    claimed = [pk for r in results for pk in r]
    assert sorted(claimed) == sorted(c.pk for c in cases)  # each exactly once
    assert Counter(AuditEvent.objects.filter(action="case.claimed").values_list("target_id", flat=True)) == {
        c.pk: 1 for c in cases
    }
    for i, got in enumerate(results):
        assert set(CaseClock.objects.filter(case_id__in=got).values_list("assignee_id", flat=True)) <= {staff[i].pk}


def test_claim_next_and_a_decision_on_the_same_case_never_both_win(world):
    """Claim-next takes no process lock: a decision that races it must still see its claim."""
    for round_ in range(6):
        case = file_case(world, title=f"第{round_}件")

        def act(i: int, case=case):
            if i == 0:
                return do("accept", case.pk, world.staff)
            return actions.claim_next(committee_id=world.committee.pk, actor=world.staff2)

        accepted, claimed = race(2, act)
        case.refresh_from_db()
        trail = events(case)
        if isinstance(accepted, Exception):
            # The claim won: the decision was refused and the case waits with staff2.
            assert isinstance(accepted, Conflict), accepted
            assert claimed.case_id == case.pk
            assert (case.status, trail[1:]) == ("review", [("case.claimed", world.staff2.pk)])
            assert open_task(case)["owner"] == world.staff2.pk
            do("release", case.pk, world.staff2)
            do("reject", case.pk, world.staff, reason=world.reason.pk)
        else:
            # The decision won: claim-next passed the review over. Had the decision committed before
            # claim-next looked, the case's next task (conversion, in the same queue) is fair game,
            # and taking it comes after the decision.
            assert case.status == "conversion"
            decided = [("case.claimed", world.staff.pk), ("case.accepted", world.staff.pk)]
            if claimed is not None and claimed.case_id == case.pk:
                assert claimed.stage == "conversion", claimed
                assert trail[1:] == [*decided, ("case.claimed", world.staff2.pk)]
                do("release", case.pk, world.staff2)
            else:
                assert trail[1:] == decided


def test_overlapping_bulk_claims_and_claim_next_never_share_a_task_or_deadlock(world):
    """Two staff tick overlapping sets (locked in the one order, so neither waits on the other in
    a cycle) while a third takes claim-next (which passes over locked cases): each task has at
    most one owner, a refused bulk claim took nothing, and every claim is one audit event."""
    from tests.factories import make_user

    cases = [file_case(world) for _ in range(6)]
    third = make_user(world.org, "committee_staff", "第三干事")
    world.committee.staff.add(third)
    ids = [c.pk for c in cases]
    picks = [ids[:4], ids[2:]]

    def work(i: int):
        if i < 2:
            actor = (world.staff, world.staff2)[i]
            return actions.claim_many(committee_id=world.committee.pk, case_ids=picks[i], actor=actor)
        return actions.claim_next(committee_id=world.committee.pk, actor=third)

    results = race(3, work)
    assert not any(isinstance(r, Exception) and not isinstance(r, Conflict) for r in results), results
    owners = {c.pk: open_task(c)["owner"] for c in cases}
    for i, result in enumerate(results[:2]):
        actor = (world.staff, world.staff2)[i]
        mine = {pk for pk, owner in owners.items() if owner == actor.pk}
        # All or nothing: either every ticked case is theirs, or none is.
        assert mine == (set(picks[i]) if not isinstance(result, Exception) else set()), (i, result, owners)
    assert sum(1 for r in results[:2] if not isinstance(r, Exception)) <= 1 or not set(picks[0]) & set(picks[1])
    for case in cases:
        claims = [a for a, _ in events(case)].count("case.claimed")
        assert claims == (1 if owners[case.pk] is not None else 0)
        assert CaseClock.objects.get(case=case, state="running").assignee_id == owners[case.pk]
