"""Idempotency-Key: a POST retried with the same key does its work once and answers the first
answer; a key reused for another request, or malformed, is refused and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from casework.models import AuditEvent, Case, CaseClock, IdempotencyKey
from casework.services.idempotency import purge
from casework.tasks import idempotency_purge_task
from tests.api.test_contract import assert_error
from tests.helpers import events, snapshot
from workflows import idempotency


def body(world, **extra):
    return {
        "title": "村道破损",
        "description": "院桥镇某村村道坑洼，雨天积水。",
        "category": world.category.pk,
        "township": world.township.pk,
        "contacts": world.contact_ids(),
        **extra,
    }


def post(client, url, data=None, key=None, **headers):
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(url, data or {}, format="json", **headers)


def counts():
    return {"cases": Case.objects.count(), "events": AuditEvent.objects.count(), "keys": IdempotencyKey.objects.count()}


def test_without_a_key_two_identical_posts_file_two_cases(world, client_for):
    member = client_for(world.member.user)
    first, second = (post(member, "/api/v1/cases/", body(world)) for _ in range(2))
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert IdempotencyKey.objects.count() == 0


def test_a_retried_filing_with_the_same_key_files_one_case_and_answers_the_first_answer(world, client_for):
    member = client_for(world.member.user)
    first = post(member, "/api/v1/cases/", body(world), key="file-7f3a")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    after_first = counts()
    again = post(member, "/api/v1/cases/", body(world), key="file-7f3a")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert counts() == after_first
    row = IdempotencyKey.objects.get()
    assert (row.user_id, row.key, row.method, row.path, row.status) == (
        world.member.user.pk,
        "file-7f3a",
        "POST",
        "/api/v1/cases/",
        201,
    )


def test_the_same_key_for_another_request_answers_422_and_changes_nothing(world, client_for):
    member = client_for(world.member.user)
    case_id = post(member, "/api/v1/cases/", body(world), key="k-1").json()["id"]
    before = counts()
    assert_error(
        post(member, "/api/v1/cases/", body(world, title="另一件事"), key="k-1"), 422, "idempotency_key_reused"
    )
    assert_error(
        post(member, f"/api/v1/cases/{case_id}/transitions/edit/", {"title": "改标题"}, key="k-1"),
        422,
        "idempotency_key_reused",
    )
    assert counts() == before
    assert Case.objects.get(pk=case_id).title == "村道破损"


def test_keys_belong_to_their_user(world, client_for):
    first = post(client_for(world.member.user), "/api/v1/cases/", body(world), key="shared")
    body_other = body(world, contacts=world.contact_ids(world.other_member))
    second = post(client_for(world.other_member.user), "/api/v1/cases/", body_other, key="shared")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second


@pytest.mark.parametrize("key", ["", " ", "a b", "中文键", "tab\there", "ctl\x01", "x" * 256, "é"])
def test_a_malformed_key_answers_400_and_changes_nothing(world, client_for, key):
    member = client_for(world.member.user)
    before = counts()
    error = assert_error(post(member, "/api/v1/cases/", body(world), key=key), 400, "invalid_idempotency_key")
    assert error["details"] == {"header": "Idempotency-Key"}
    assert counts() == before


def test_a_key_of_255_visible_characters_is_taken(world, client_for):
    member = client_for(world.member.user)
    key = "~!" + "a" * 253
    assert post(member, "/api/v1/cases/", body(world), key=key).status_code == 201
    assert IdempotencyKey.objects.get().key == key


def test_a_refused_request_is_not_remembered(world, client_for):
    member = client_for(world.member.user)
    bad = body(world, title="")
    assert_error(post(member, "/api/v1/cases/", bad, key="k-bad"), 400)
    assert IdempotencyKey.objects.count() == 0
    # Nothing was done, so the retry is decided afresh (and refused again for the same reason).
    assert_error(post(member, "/api/v1/cases/", bad, key="k-bad"), 400)
    assert Case.objects.count() == 0


def test_a_retried_transition_is_done_once(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    case_id = post(member, "/api/v1/cases/", body(world)).json()["id"]
    url = f"/api/v1/cases/{case_id}/transitions/claim/"
    first = post(staff, url, key="claim-1")
    assert first.status_code == 200
    case = Case.objects.get(pk=case_id)
    before = snapshot(case)
    again = post(staff, url, key="claim-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert again["ETag"] == first["ETag"]
    assert snapshot(case) == before
    # Without the key the same retry is refused: the task is already the caller's.
    assert_error(post(staff, url), 409, "claimed_by_you")
    assert [a for a, _ in events(case)] == ["case.submitted", "case.claimed"]


def test_a_retried_edit_is_done_once(world, client_for):
    member = client_for(world.member.user)
    case_id = post(member, "/api/v1/cases/", body(world, submit=False)).json()["id"]
    url = f"/api/v1/cases/{case_id}/"
    first = member.patch(url, {"title": "村道破损严重"}, format="json", HTTP_IDEMPOTENCY_KEY="edit-1")
    assert first.status_code == 200
    case = Case.objects.get(pk=case_id)
    before = snapshot(case)
    again = member.patch(url, {"title": "村道破损严重"}, format="json", HTTP_IDEMPOTENCY_KEY="edit-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert snapshot(case) == before


def test_a_retried_claim_next_claims_one_task(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    ids = [post(member, "/api/v1/cases/", body(world)).json()["id"] for _ in range(2)]
    url = f"/api/v1/queues/{world.committee.pk}/claim-next/"
    first = post(staff, url, key="next-1")
    again = post(staff, url, key="next-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    claimed = CaseClock.objects.filter(case_id__in=ids, assignee__isnull=False)
    assert [c.case_id for c in claimed] == [first.json()["case"]["id"]]
    # A new key claims the next task.
    assert post(staff, url, key="next-2").json()["case"]["id"] != first.json()["case"]["id"]


def test_an_empty_queue_answer_is_replayed_too(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    url = f"/api/v1/queues/{world.committee.pk}/claim-next/"
    assert post(staff, url, key="next-empty").status_code == 204
    post(member, "/api/v1/cases/", body(world))
    # The queue has a task now, but the retry answers what the first request answered.
    again = post(staff, url, key="next-empty")
    assert again.status_code == 204 and again["Idempotent-Replayed"] == "true"
    assert not CaseClock.objects.filter(assignee__isnull=False).exists()


def test_a_retried_output_transition_is_done_once(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    case_id = post(member, "/api/v1/cases/", body(world)).json()["id"]
    case_url = f"/api/v1/cases/{case_id}/transitions"
    assert post(staff, f"{case_url}/accept/").status_code == 200
    output = post(staff, f"{case_url}/convert/", {"output_type": "info_report", "title": "关于村道"}).json()["output"]
    edit = f"/api/v1/outputs/{output}/transitions/edit/"
    assert post(staff, edit, {"analysis": "分析", "suggestion": "建议"}).status_code == 200
    url = f"/api/v1/outputs/{output}/transitions/submit/"
    first = post(staff, url, {}, key="submit-1")
    assert first.status_code == 200 and first.json()["status"] == "submitted"
    before = counts()
    again = post(staff, url, {}, key="submit-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert counts() == before


def test_the_answer_and_the_change_commit_together(world, client_for, monkeypatch):
    member = client_for(world.member.user)
    member.raise_request_exception = False

    def fail(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(idempotency, "answer", fail)
    response = post(member, "/api/v1/cases/", body(world), key="k-crash")
    assert response.status_code == 500
    assert counts() == {"cases": 0, "events": 0, "keys": 0}


def test_an_expired_key_is_used_afresh(world, client_for):
    member = client_for(world.member.user)
    first = post(member, "/api/v1/cases/", body(world), key="k-old").json()
    old = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_SECONDS + 1)
    IdempotencyKey.objects.update(created_at=old)
    again = post(member, "/api/v1/cases/", body(world), key="k-old")
    assert again.status_code == 201 and again.json()["id"] != first["id"]
    assert IdempotencyKey.objects.get().created_at > old


def test_the_purge_deletes_only_expired_keys_and_can_run_twice(world, client_for, settings):
    settings.IDEMPOTENCY_KEY_SECONDS = 3600
    member = client_for(world.member.user)
    for key in ("a", "b", "c"):
        post(member, "/api/v1/cases/", body(world), key=key)
    IdempotencyKey.objects.filter(key__in=["a", "b"]).update(created_at=timezone.now() - timedelta(hours=2))
    assert idempotency_purge_task() == 2
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["c"]
    assert purge() == 0
    assert purge(now=timezone.now() + timedelta(hours=2)) == 1


def test_beat_runs_the_purge():
    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["idempotency-purge"]
    assert entry["task"] == "casework.idempotency_purge"
    app.loader.import_default_modules()
    assert "casework.idempotency_purge" in app.tasks


def test_a_key_costs_one_insert_and_one_update_and_a_retry_writes_nothing(world, client_for):
    member = client_for(world.member.user)
    post(member, "/api/v1/cases/", body(world))  # warm up
    with CaptureQueriesContext(connection) as plain:
        post(member, "/api/v1/cases/", body(world))
    with CaptureQueriesContext(connection) as keyed:
        post(member, "/api/v1/cases/", body(world), key="k-cost")
    key_table = IdempotencyKey._meta.db_table
    on_keys = [q["sql"].split()[0] for q in keyed.captured_queries if key_table in q["sql"]]
    assert on_keys == ["INSERT", "UPDATE"]
    assert len(keyed) == len(plain) + 2
    assert not any(key_table in q["sql"] for q in plain.captured_queries)
    cases = Case.objects.count()
    with CaptureQueriesContext(connection) as replayed:
        again = post(member, "/api/v1/cases/", body(world), key="k-cost")
    assert again["Idempotent-Replayed"] == "true" and Case.objects.count() == cases
    # The failed insert of the key is the retry's first statement in its transaction; then the
    # lookup of the answer. Nothing of the case is read or written.
    statements = [q["sql"] for q in replayed.captured_queries]
    assert [q.split()[0] for q in statements if key_table in q] == ["INSERT", "SELECT"], statements
    assert not any(Case._meta.db_table in q for q in statements), statements


def test_the_schema_documents_the_key_on_every_post_that_acts(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    posts = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("post", "patch")
        and path != "/api/v1/auth/token/"
        # Marking read and choosing channels set a state: sent twice, they leave the same one.
        and not path.startswith(("/api/v1/notifications/", "/api/v1/me/"))
        # A reveal keeps no answer: its answer is personal data in clear, never stored in the
        # database; a retry reveals again and is audited again.
        and not path.startswith("/api/v1/contacts/")
    ]
    assert len(posts) > 15
    for path, method, op in posts:
        headers = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "header"}
        assert headers["Idempotency-Key"]["schema"]["maxLength"] == 255, (method, path)
        assert "422" in op["responses"], (method, path)


def test_a_refusal_inside_the_change_rolls_its_key_back(world, client_for):
    member, staff, staff2 = client_for(world.member.user), client_for(world.staff), client_for(world.staff2)
    case_id = post(member, "/api/v1/cases/", body(world)).json()["id"]
    url = f"/api/v1/cases/{case_id}/transitions/claim/"
    assert post(staff, url).status_code == 200
    # Refused under the lock, after the key was taken: the key goes with the rollback.
    assert_error(post(staff2, url, key="mine-later"), 409, "claimed_by_other")
    assert not IdempotencyKey.objects.exists()
    assert post(staff, f"/api/v1/cases/{case_id}/transitions/release/").status_code == 200
    assert post(staff2, url, key="mine-later").status_code == 200
    assert Case.objects.get(pk=case_id) and IdempotencyKey.objects.get().status == 200


def test_the_refusals_speak_the_requests_language(world, client_for):
    member = client_for(world.member.user)
    error = assert_error(
        post(member, "/api/v1/cases/", body(world), key="a b", HTTP_ACCEPT_LANGUAGE="en"),
        400,
        "invalid_idempotency_key",
    )
    assert error["message"] == "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces)."
    post(member, "/api/v1/cases/", body(world), key="k-en")
    error = assert_error(
        post(member, "/api/v1/cases/", body(world, title="别的"), key="k-en", HTTP_ACCEPT_LANGUAGE="en"), 422
    )
    assert error["message"].startswith("This Idempotency-Key was used for another request")
