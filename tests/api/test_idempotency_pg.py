"""Retries at the same moment on a real PostgreSQL: twenty requests with one key, each thread on
its own connection, do the work once and all answer the first answer."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from casework.models import AuditEvent, Case, CaseClock, IdempotencyKey
from tests.api.test_idempotency import body
from tests.factories import token_key
from tests.helpers import events
from tests.workflows.test_concurrency_pg import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def client(user) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user)}")
    return c


def test_twenty_concurrent_retries_of_a_filing_file_one_case_and_answer_one_body(world):
    data = body(world)
    clients = [client(world.member.user) for _ in range(20)]
    responses = race(20, lambda i: clients[i].post("/api/v1/cases/", data, format="json", HTTP_IDEMPOTENCY_KEY="f-20"))
    assert all(not isinstance(r, Exception) for r in responses), responses
    assert {r.status_code for r in responses} == {201}, [r.content for r in responses]
    assert len({r.content for r in responses}) == 1
    assert Case.objects.count() == 1
    case = Case.objects.get()
    assert responses[0].json()["id"] == case.pk
    assert [a for a, _ in events(case)] == ["case.submitted"]
    assert AuditEvent.objects.filter(action="case.submitted").count() == 1
    assert IdempotencyKey.objects.count() == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 19


def test_twenty_concurrent_retries_of_a_transition_do_it_once(world):
    case_id = client(world.member.user).post("/api/v1/cases/", body(world), format="json").json()["id"]
    clients = [client(world.staff) for _ in range(20)]
    url = f"/api/v1/cases/{case_id}/transitions/accept/"
    responses = race(20, lambda i: clients[i].post(url, {"note": "转化"}, format="json", HTTP_IDEMPOTENCY_KEY="a-20"))
    assert {r.status_code for r in responses} == {200}, [r.content[:200] for r in responses]
    assert len({r.content for r in responses}) == 1
    assert len({r["ETag"] for r in responses}) == 1
    case = Case.objects.get(pk=case_id)
    assert case.status == "conversion"
    assert [a for a, _ in events(case)] == ["case.submitted", "case.claimed", "case.accepted"]


def test_concurrent_retries_of_claim_next_claim_one_task(world):
    member = client(world.member.user)
    for _ in range(3):
        member.post("/api/v1/cases/", body(world), format="json")
    clients = [client(world.staff) for _ in range(8)]
    url = f"/api/v1/queues/{world.committee.pk}/claim-next/"
    responses = race(8, lambda i: clients[i].post(url, format="json", HTTP_IDEMPOTENCY_KEY="n-8"))
    assert {r.status_code for r in responses} == {200}, [r.content[:200] for r in responses]
    assert len({r.content for r in responses}) == 1
    assert CaseClock.objects.filter(assignee__isnull=False).count() == 1
    assert AuditEvent.objects.filter(action="case.claimed").count() == 1


def test_two_edits_at_once_with_one_tag_one_applies_and_the_other_answers_412(world):
    member = client(world.member.user)
    case_id = member.post("/api/v1/cases/", body(world, submit=False), format="json").json()["id"]
    url = f"/api/v1/cases/{case_id}/"
    tag = member.get(url)["ETag"]
    clients = [client(world.member.user) for _ in range(2)]
    titles = ["手机上的修改", "电脑上的修改"]
    responses = race(2, lambda i: clients[i].patch(url, {"title": titles[i]}, format="json", HTTP_IF_MATCH=tag))
    assert sorted(r.status_code for r in responses) == [200, 412], [r.content[:200] for r in responses]
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    case = Case.objects.get(pk=case_id)
    assert case.title == titles[winner]
    assert [a for a, _ in events(case)] == ["case.created", "case.updated"]
