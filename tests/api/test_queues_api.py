"""Committee queues: due-time order, keyset pages, claim-next, and query counts that do not grow."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.serializers import QueueItemOut
from casework.models import Case, CaseClock
from casework.selectors import sla_state
from tests.api.test_cases_api import file
from tests.helpers import events


def make_queue(world, client, n):
    cases = [file(client, world) for _ in range(n)]
    # Spread the due times so the order is by due time, not by id.
    for i, case in enumerate(cases):
        CaseClock.objects.filter(case=case).update(
            due_at=CaseClock.objects.get(case=case).due_at - timedelta(hours=(i * 7) % n)
        )
    return cases


def test_queue_is_ordered_by_due_time_and_pages_by_cursor(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    make_queue(world, member, 7)
    expected = list(
        CaseClock.objects.filter(queue=world.committee).order_by("due_at", "id").values_list("case_id", flat=True)
    )

    seen, url = [], f"/api/v1/queues/{world.committee.pk}/tasks/?limit=3"
    while url:
        page = staff.get(url).json()
        seen += [item["case"]["id"] for item in page["results"]]
        url = page["next"]
    assert seen == expected

    # The page is shaped by hand for speed: it must say exactly what the serializer would.
    first = staff.get(f"/api/v1/queues/{world.committee.pk}/tasks/?limit=1").json()["results"][0]
    clock = CaseClock.objects.select_related("case__category", "case__township", "case__member").get(
        case_id=expected[0]
    )
    clock.sla = sla_state(clock, timezone.now())
    assert first == QueueItemOut(clock).data

    queues = staff.get("/api/v1/queues/").json()
    assert queues == [
        {"id": world.committee.pk, "name": world.committee.name, "unclaimed": 7, "unclaimed_more": False, "mine": 0}
    ]


def test_claim_next_gives_the_most_urgent_unclaimed_task(world, client_for):
    member, staff, staff2 = client_for(world.member.user), client_for(world.staff), client_for(world.staff2)
    make_queue(world, member, 3)
    order = list(
        CaseClock.objects.filter(queue=world.committee).order_by("due_at", "id").values_list("case_id", flat=True)
    )

    first = staff.post(f"/api/v1/queues/{world.committee.pk}/claim-next/").json()
    second = staff2.post(f"/api/v1/queues/{world.committee.pk}/claim-next/").json()
    assert [first["case"]["id"], second["case"]["id"]] == order[:2]
    assert (first["stage"], first["owner"]) == ("review", world.staff.pk)
    for claim, user in ((first, world.staff), (second, world.staff2)):
        detail = staff.get(f"/api/v1/cases/{claim['case']['id']}/").json()
        assert (detail["task"]["id"], detail["task"]["stage"], detail["task"]["claimed_by"]) == (
            claim["task"],
            "review",
            user.pk,
        )
        assert events(Case.objects.get(pk=claim["case"]["id"]))[-1] == ("case.claimed", user.pk)
    mine = staff.get("/api/v1/tasks/mine/").json()
    assert [item["case"]["id"] for item in mine] == [first["case"]["id"]]

    assert staff.post(f"/api/v1/queues/{world.committee.pk}/claim-next/").json()["case"]["id"] == order[2]
    empty = staff.post(f"/api/v1/queues/{world.committee.pk}/claim-next/")
    assert empty.status_code == 204


def test_bad_cursor_and_limit_are_clear_errors(world, client_for):
    staff = client_for(world.staff)
    response = staff.get(f"/api/v1/queues/{world.committee.pk}/tasks/?cursor=!!!")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"
    response = staff.get(f"/api/v1/queues/{world.committee.pk}/tasks/?limit=1000")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_limit"


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


def test_list_endpoints_do_not_grow_with_the_page_size(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    cases = make_queue(world, member, 12)
    for case in cases[:2]:
        staff.post(f"/api/v1/cases/{case.pk}/transitions/claim/")

    for url in (f"/api/v1/queues/{world.committee.pk}/tasks/", "/api/v1/cases/", "/api/v1/tasks/mine/"):
        small, body_small = count_queries(
            staff, url + ("&" if "?" in url else "?") + "limit=2" if "mine" not in url else url
        )
        large, body_large = count_queries(
            staff, url + ("&" if "?" in url else "?") + "limit=10" if "mine" not in url else url
        )
        assert small == large, url
    n_small, _ = count_queries(member, f"/api/v1/cases/{cases[0].pk}/events/?limit=1")
    n_large, _ = count_queries(member, f"/api/v1/cases/{cases[0].pk}/events/?limit=10")
    assert n_small == n_large
    # The queue page is the sign-in (token, user, profile, roles and committees in one
    # statement) and one query for the page.
    n, page = count_queries(staff, f"/api/v1/queues/{world.committee.pk}/tasks/?limit=50")
    assert len(page["results"]) == 10 and n == 2


def test_intake_statement_budget(world, client_for):
    member = client_for(world.member.user)
    file(member, world)  # warm up caches of content types etc.
    body = {
        "title": "t",
        "description": "d",
        "category": world.category.pk,
        "township": world.township.pk,
        "contacts": world.contact_ids(),
    }
    with CaptureQueriesContext(connection) as ctx:
        assert member.post("/api/v1/cases/", body, format="json").status_code == 201
    # Transaction control (BEGIN/COMMIT, or SAVEPOINT/RELEASE inside the test's transaction) aside.
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    statements = [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(control)]
    assert len(statements) <= 14, "\n".join(s[:60] for s in statements)


def test_pages_are_right_when_many_tasks_share_one_due_time(world, client_for):
    """Deadlines end at 24:00, so whole queues share a due time: the cursor must break ties by id."""
    member, staff = client_for(world.member.user), client_for(world.staff)
    make_queue(world, member, 5)
    same = CaseClock.objects.filter(queue=world.committee).first().due_at
    CaseClock.objects.filter(queue=world.committee).update(due_at=same)
    expected = list(CaseClock.objects.filter(queue=world.committee).order_by("id").values_list("case_id", flat=True))

    seen, url = [], f"/api/v1/queues/{world.committee.pk}/tasks/?limit=2"
    while url:
        page = staff.get(url).json()
        seen += [item["case"]["id"] for item in page["results"]]
        url = page["next"]
    assert seen == expected


def test_the_hot_answers_are_what_their_serializers_would_say(world, client_for):
    """The intake and claim-next answers are built by hand for speed; they must be exactly what
    `CaseCreatedOut` and `ClaimOut` say of the same rows."""
    from api import serializers as s
    from casework.models import Case, CaseClock

    member, staff = client_for(world.member.user), client_for(world.staff)
    filed = member.post(
        "/api/v1/cases/",
        {"title": "t", "description": "d", "category": world.category.pk, "contacts": world.contact_ids()},
        format="json",
    )
    case = Case.objects.get(pk=filed.json()["id"])
    assert filed.json() == dict(s.CaseCreatedOut(case).data)

    claimed = staff.post(f"/api/v1/queues/{world.committee.pk}/claim-next/").json()
    clock = CaseClock.objects.select_related("case").get(case=case, stage="review")
    assert claimed == dict(s.ClaimOut(clock).data)
    assert claimed["due_at"].endswith("+08:00") and filed.json()["created_at"].endswith("+08:00")


def test_a_task_without_a_due_time_comes_after_every_dated_one_and_is_reached_by_paging(world, client_for):
    """A clock whose deadline reaches a year with no published calendar has no due time (null):
    the queue shows it after the dated tasks, paging reaches it, and claim-next takes it last."""
    member, staff = client_for(world.member.user), client_for(world.staff)
    cases = make_queue(world, member, 4)
    undated = cases[1]
    CaseClock.objects.filter(case=undated).update(due_at=None, due_error="calendar_missing:2098")

    seen, url = [], f"/api/v1/queues/{world.committee.pk}/tasks/?limit=1"
    while url:
        body = staff.get(url).json()
        seen += [(item["case"]["id"], item["due_at"]) for item in body["results"]]
        url = body["next"]
    assert [case_id for case_id, _due in seen][-1] == undated.pk and seen[-1][1] is None
    assert sorted(case_id for case_id, _due in seen) == sorted(c.pk for c in cases)

    claimed = [staff.post(f"/api/v1/queues/{world.committee.pk}/claim-next/").json() for _ in cases]
    assert claimed[-1]["case"]["id"] == undated.pk and claimed[-1]["due_at"] is None
    detail = staff.get(f"/api/v1/cases/{undated.pk}/").json()
    review = next(c for c in detail["clocks"] if c["stage"] == "review")
    assert (review["due_at"], review["due_error"], review["words"]) == (
        None,
        "calendar_missing:2098",
        "到期时间无法计算：2098 年节假日安排尚未录入",
    )
