"""ETag on a case's and an output's detail: If-None-Match answers 304 while nothing shown has
changed; If-Match on a change answers 412 and changes nothing once anything shown has."""

from __future__ import annotations

import pytest
from django.utils import timezone

from casework.models import Case, CaseClock
from tests.api.test_contract import assert_error
from tests.api.test_idempotency import body, post
from tests.helpers import snapshot


@pytest.fixture
def filed(world, client_for):
    return Case.objects.get(pk=post(client_for(world.member.user), "/api/v1/cases/", body(world)).json()["id"])


def detail(client, case, **headers):
    return client.get(f"/api/v1/cases/{case.pk}/", **headers)


def test_the_detail_carries_an_etag_and_answers_304_while_it_holds(world, client_for, filed):
    staff = client_for(world.staff)
    first = detail(staff, filed)
    tag = first["ETag"]
    assert first.status_code == 200 and tag.startswith('"') and tag.endswith('"')
    assert detail(staff, filed)["ETag"] == tag  # the same read, the same tag
    unchanged = detail(staff, filed, HTTP_IF_NONE_MATCH=tag)
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged["ETag"] == tag
    assert detail(staff, filed, HTTP_IF_NONE_MATCH=f'"other", W/{tag}').status_code == 304  # weak comparison
    assert detail(staff, filed, HTTP_IF_NONE_MATCH="*").status_code == 304
    assert detail(staff, filed, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_the_tag_changes_with_anything_shown(world, client_for, filed):
    staff, member = client_for(world.staff), client_for(world.member.user)
    tag = detail(staff, filed)["ETag"]
    # Another reader sees other transitions, so another representation.
    assert detail(member, filed)["ETag"] != tag
    # A clock's mark set by the sweep changes no case row and no audit head, but it is shown.
    CaseClock.objects.filter(case=filed).update(warned_at=timezone.now())
    marked = detail(staff, filed, HTTP_IF_NONE_MATCH=tag)
    assert marked.status_code == 200 and marked["ETag"] != tag
    # A claim.
    post(staff, f"/api/v1/cases/{filed.pk}/transitions/claim/")
    assert detail(staff, filed)["ETag"] != marked["ETag"]


def test_a_change_with_the_current_tag_goes_ahead_and_answers_the_new_tag(world, client_for, filed):
    staff = client_for(world.staff)
    tag = detail(staff, filed)["ETag"]
    claimed = post(staff, f"/api/v1/cases/{filed.pk}/transitions/claim/", HTTP_IF_MATCH=tag)
    assert claimed.status_code == 200
    # The answer's tag is the tag a read gives now: it can be sent with the next change.
    assert claimed["ETag"] == detail(staff, filed)["ETag"] != tag
    accepted = post(
        staff, f"/api/v1/cases/{filed.pk}/transitions/accept/", {"note": "转化"}, HTTP_IF_MATCH=claimed["ETag"]
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "conversion"


def test_a_stale_tag_answers_412_and_changes_nothing(world, client_for, filed):
    staff, staff2 = client_for(world.staff), client_for(world.staff2)
    stale = detail(staff, filed)["ETag"]
    post(staff2, f"/api/v1/cases/{filed.pk}/transitions/claim/")
    post(staff2, f"/api/v1/cases/{filed.pk}/transitions/release/")
    before = snapshot(filed)
    assert_error(
        post(staff, f"/api/v1/cases/{filed.pk}/transitions/claim/", HTTP_IF_MATCH=stale), 412, "precondition_failed"
    )
    assert snapshot(filed) == before


def test_a_members_edit_with_a_stale_tag_answers_412(world, client_for):
    member = client_for(world.member.user)
    case_id = post(member, "/api/v1/cases/", body(world, submit=False)).json()["id"]
    url = f"/api/v1/cases/{case_id}/"
    tag = member.get(url)["ETag"]
    edited = member.patch(url, {"title": "第一次修改"}, format="json", HTTP_IF_MATCH=tag)
    assert edited.status_code == 200
    case = Case.objects.get(pk=case_id)
    before = snapshot(case)
    # A second device still holding the first read.
    assert_error(
        member.patch(url, {"title": "另一台手机"}, format="json", HTTP_IF_MATCH=tag), 412, "precondition_failed"
    )
    assert snapshot(case) == before and case.title == "第一次修改"
    # A weak tag never satisfies If-Match; "*" does.
    assert_error(member.patch(url, {"title": "再改"}, format="json", HTTP_IF_MATCH=f"W/{edited['ETag']}"), 412)
    assert member.patch(url, {"title": "再改"}, format="json", HTTP_IF_MATCH="*").status_code == 200
    assert (
        member.patch(url, {"title": "又改"}, format="json", HTTP_IF_MATCH=f'"x", {member.get(url)["ETag"]}').status_code
        == 200
    )


@pytest.mark.parametrize("header", ["abc", '"unterminated', "W/", '"a" "b"', '"a",,', '"quo"te"', '*, "a"', "x" * 1025])
def test_a_malformed_precondition_answers_400_and_changes_nothing(world, client_for, filed, header):
    staff = client_for(world.staff)
    before = snapshot(filed)
    error = assert_error(
        post(staff, f"/api/v1/cases/{filed.pk}/transitions/claim/", HTTP_IF_MATCH=header), 400, "invalid_precondition"
    )
    assert error["details"] == {"header": "If-Match"}
    assert snapshot(filed) == before
    assert_error(detail(staff, filed, HTTP_IF_NONE_MATCH=header), 400, "invalid_precondition")


def test_a_retry_with_its_key_is_replayed_though_its_if_match_is_now_stale(world, client_for, filed):
    staff = client_for(world.staff)
    tag = detail(staff, filed)["ETag"]
    url = f"/api/v1/cases/{filed.pk}/transitions/claim/"
    first = post(staff, url, key="claim-once", HTTP_IF_MATCH=tag)
    again = post(staff, url, key="claim-once", HTTP_IF_MATCH=tag)
    assert first.status_code == again.status_code == 200 and again.json() == first.json()


def test_an_outputs_detail_and_transitions_take_tags(world, client_for, filed):
    staff = client_for(world.staff)
    transitions = f"/api/v1/cases/{filed.pk}/transitions"
    post(staff, f"{transitions}/accept/")
    output = post(staff, f"{transitions}/convert/", {"output_type": "info_report", "title": "关于村道"}).json()[
        "output"
    ]
    url = f"/api/v1/outputs/{output}/"
    read = staff.get(url)
    tag = read["ETag"]
    assert staff.get(url, HTTP_IF_NONE_MATCH=tag).status_code == 304
    assert_error(post(staff, f"{url}transitions/edit/", {"suggestion": "建议"}, HTTP_IF_MATCH='"stale"'), 412)
    assert staff.get(url, HTTP_IF_NONE_MATCH=tag).status_code == 304  # nothing changed
    done = post(staff, f"{url}transitions/edit/", {"suggestion": "建议"}, HTTP_IF_MATCH=tag)
    assert done.status_code == 200 and done["ETag"] == staff.get(url)["ETag"] != tag


def test_the_schema_documents_the_headers(db):
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in ("/api/v1/cases/{case_id}/", "/api/v1/outputs/{output_id}/"):
        get = paths[path]["get"]
        assert [p["name"] for p in get["parameters"] if p["in"] == "header"] == ["If-None-Match"]
        assert get["responses"]["200"]["headers"]["ETag"]["required"] is True
        assert "304" in get["responses"]
    for path, op in [
        ("/api/v1/cases/{case_id}/", paths["/api/v1/cases/{case_id}/"]["patch"]),
        *((p, item["post"]) for p, item in paths.items() if "/transitions/" in p),
    ]:
        headers = {p["name"]: p["schema"] for p in op["parameters"] if p["in"] == "header"}
        assert headers["If-Match"]["maxLength"] == 1024, path
        assert "412" in op["responses"] and "ETag" in op["responses"]["200"]["headers"], path
