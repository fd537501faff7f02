"""The API's contract, answer by answer: every error under /api/ in the one JSON shape (unknown
paths, oversized bodies, unsupported media, throttling and server errors included), hostile
inputs answered 4xx with nothing changed, and one time-zone convention in every answer.
`.ci/contract` holds the same contract with schemathesis against a live server."""

from __future__ import annotations

import base64
import json
import random
import re
import unicodedata
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.throttling import ScopedRateThrottle

from casework.models import AuditEvent, Case
from tests.api.test_cases_api import file, go
from tests.helpers import snapshot
from workflows.inputs import Text

ERROR_KEYS = {"code", "message", "details"}


def assert_error(response: Any, status: int, code: str | None = None) -> dict:
    """The one error shape: {"error": {"code", "message", "details"}}, as JSON."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, body
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["details"], dict), body
    if code is not None:
        assert error["code"] == code, body
    return error


def state(case: Case) -> dict:
    """What a refused request must leave as it was: the case, and how many cases and audit
    events there are."""
    return {"case": snapshot(case), "cases": Case.objects.count(), "events": AuditEvent.objects.count()}


def raw_json(body: dict, raw: str) -> str:
    """`body` as JSON with the value "RAW" written as `raw`: what json.dumps would not write."""
    return json.dumps(body).replace('"RAW"', raw)


def cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.fixture
def filed(world, client_for):
    return file(client_for(world.member.user), world)


# Hostile inputs: each answers 4xx in the one shape and changes nothing ------------------------


@pytest.mark.parametrize("raw", ['["abc"]', "[null]", "[1e400]", '[{"a":1}]', "[-1]", "[true]", "[1, 2]", "{}"])
def test_a_malformed_cursor_answers_400(world, client_for, filed, raw):
    staff = client_for(world.staff)
    before = state(filed)
    for url in ("/api/v1/cases/", f"/api/v1/cases/{filed.pk}/events/", f"/api/v1/queues/{world.committee.pk}/tasks/"):
        error = assert_error(staff.get(url, {"cursor": cursor(raw)}), 400, "invalid_cursor")
        assert error["details"] == {"field": "cursor"}
    assert state(filed) == before


def test_a_cursor_that_is_not_base64_json_or_is_too_long_answers_400(world, client_for, filed):
    staff = client_for(world.staff)
    for raw in ("%%%", "\u00e9\u00e9", "e30", "W10", "A" * 201, base64.b64encode(b"\xff\xfe").decode()):
        assert_error(staff.get("/api/v1/cases/", {"cursor": raw}), 400, "invalid_cursor")
    # A queue cursor is a due time and a clock id: a time without its zone is no position, and
    # one that leaves the calendar in UTC is none either.
    queue = f"/api/v1/queues/{world.committee.pk}/tasks/"
    for raw in ('["2026-01-01T00:00:00", 1]', '["0001-01-01T00:00:00+01:00", 1]', '["9999-12-31T23:59:59-01:00", 1]'):
        assert_error(staff.get(queue, {"cursor": cursor(raw)}), 400, "invalid_cursor")
    # Any offset a datetime may have is a position, PostgreSQL's limit of 15:59 notwithstanding.
    for raw in ('["2026-01-01T00:00:00+23:59", 1]', '["0001-01-01T00:00:00+00:00", 0]', '["2026-01-01T08:00:00Z", 1]'):
        page = staff.get(queue, {"cursor": cursor(raw)}).json()
        assert [item["case"]["id"] for item in page["results"]] == [filed.pk], raw


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1e3", "\u0661", "99999999999999999999"])
def test_a_limit_out_of_range_answers_400(world, client_for, limit):
    assert_error(client_for(world.staff).get("/api/v1/cases/", {"limit": limit}), 400, "invalid_limit")


def test_unknown_filter_values_answer_400(world, client_for, filed):
    member = client_for(world.member.user)
    assert_error(member.get("/api/v1/cases/", {"status": "nope"}), 400, "invalid_status")
    url = f"/api/v1/cases/{filed.pk}/joinable-outputs/"
    assert_error(member.get(url, {"output_type": "\x00"}), 400, "invalid_output_type")


@pytest.mark.postgres
def test_nul_in_a_query_parameter_answers_400_on_postgresql(world, client_for, filed):
    # PostgreSQL cannot hold NUL in text: the value must be refused before it reaches a query.
    staff = client_for(world.staff)
    before = state(filed)
    assert_error(staff.get("/api/v1/cases/?status=%00"), 400, "invalid_status")
    assert_error(staff.get(f"/api/v1/cases/{filed.pk}/merge-targets/?q=%00"), 400, "invalid_query")
    assert_error(staff.get(f"/api/v1/cases/{filed.pk}/merge-targets/?q=a%00b"), 400, "invalid_query")
    sign_in = {"username": "a\x00", "password": "b"}
    assert_error(Client().post("/api/v1/auth/token/", sign_in, content_type="application/json"), 400, "invalid")
    assert state(filed) == before


def test_merge_target_search_takes_any_text(world, client_for, filed):
    # "²" and "١" are digits to str.isdigit() but not to int(): the search must not take them for
    # a case number.
    staff = client_for(world.staff)
    other = file(client_for(world.member.user), world)
    url = f"/api/v1/cases/{filed.pk}/merge-targets/"
    for q in ("²", "#١٢", "\u00b2\u00b3", "村道"):
        response = staff.get(url, {"q": q})
        assert response.status_code == 200, (q, response.content)
    assert [c["id"] for c in staff.get(url, {"q": f"#{other.pk}"}).json()] == [other.pk]
    for q in ("\x00", "a\x07b", "x" * 121):
        assert_error(staff.get(url, {"q": q}), 400, "invalid_query")


def test_an_id_too_large_for_the_database_answers_400(world, client_for, filed):
    # A 20-digit id is no row of ours, and SQLite's driver cannot even bind it (OverflowError):
    # the declared input refuses it before any query.
    member, staff = client_for(world.member.user), client_for(world.staff)
    before = state(filed)
    huge = 10**19 + 5
    body = {"title": "t", "description": "d", "category": world.category.pk, "contacts": [huge]}
    error = assert_error(member.post("/api/v1/cases/", body, format="json"), 400, "invalid_id")
    assert error["details"]["field"] == "contacts"
    body = {"title": "t", "description": "d", "category": huge}
    assert_error(member.post("/api/v1/cases/", body, format="json"), 400, "invalid_id")
    raw = raw_json({"title": "t", "description": "d", "category": world.category.pk, "contacts": ["RAW"]}, "1" * 20)
    assert_error(member.post("/api/v1/cases/", raw, content_type="application/json"), 400, "invalid_id")
    go_reject = staff.post(f"/api/v1/cases/{filed.pk}/transitions/reject/", {"reason": huge}, format="json")
    assert_error(go_reject, 400, "invalid_id")
    # In a path an id is at most 18 digits: a longer one is no address of ours.
    assert_error(member.get(f"/api/v1/cases/{huge}/"), 404, "not_found")
    assert_error(member.get(f"/api/v1/cases/{10**18 - 1}/"), 404)
    assert state(filed) == before


@pytest.mark.parametrize("forwarded", ["nonsense", "nonsense, 10.0.0.1", "1.2.3.4.5", "\u0661.1.1.1", ""])
def test_a_forwarded_address_that_is_no_address_is_not_recorded(world, client_for, settings, forwarded):
    # Behind a trusted proxy the audit takes the client's address from X-Forwarded-For, whose
    # first entry the client writes: PostgreSQL refused "nonsense" as an inet (500).
    settings.MINQING_TRUST_X_FORWARDED_FOR = True
    member = client_for(world.member.user)
    body = {"title": "t", "description": "d", "category": world.category.pk}
    created = member.post("/api/v1/cases/", body, format="json", HTTP_X_FORWARDED_FOR=forwarded)
    assert created.status_code == 201, created.content
    timeline = member.get(f"/api/v1/cases/{created.json()['id']}/events/").json()["results"]
    assert [event["source_ip"] for event in timeline] == ["127.0.0.1"]
    forwarded_ok = member.post("/api/v1/cases/", body, format="json", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.1")
    timeline = member.get(f"/api/v1/cases/{forwarded_ok.json()['id']}/events/").json()["results"]
    assert [event["source_ip"] for event in timeline] == ["203.0.113.9"]


def test_a_lone_surrogate_answers_400(world, client_for, filed):
    member, staff = client_for(world.member.user), client_for(world.staff)
    before = state(filed)
    body = raw_json({"title": "t", "description": "d", "category": world.category.pk, "urgency": "RAW"}, '"\\ud800"')
    error = assert_error(member.post("/api/v1/cases/", body, content_type="application/json"), 400, "invalid_choice")
    assert error["details"]["field"] == "urgency"
    body = raw_json({"title": "RAW", "description": "d", "category": world.category.pk}, '"\\ud800"')
    assert_error(member.post("/api/v1/cases/", body, content_type="application/json"), 400, "invalid_characters")
    url = f"/api/v1/cases/{filed.pk}/transitions/redirect/"
    assert_error(staff.post(url, '{"channel": "\\udfff"}', content_type="application/json"), 400, "invalid_choice")
    assert state(filed) == before


@pytest.mark.parametrize("depth_body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000])
def test_deeply_nested_json_answers_400(world, client_for, filed, depth_body):
    member = client_for(world.member.user)
    before = state(filed)
    assert_error(member.post("/api/v1/cases/", depth_body, content_type="application/json"), 400, "parse_error")
    url = f"/api/v1/cases/{filed.pk}/"
    assert_error(member.patch(url, depth_body, content_type="application/json"), 400, "parse_error")
    assert state(filed) == before


@pytest.mark.parametrize("body", ["NaN", '{"title": Infinity}', "{", "\xff", '{"title": "t"} x'])
def test_malformed_json_answers_400(world, client_for, filed, body):
    member = client_for(world.member.user)
    before = state(filed)
    raw = body.encode("latin-1") if body == "\xff" else body
    assert_error(member.post("/api/v1/cases/", raw, content_type="application/json"), 400, "parse_error")
    assert state(filed) == before


def test_a_body_that_is_not_an_object_answers_400(world, client_for, filed):
    staff = client_for(world.staff)
    before = state(filed)
    for body in ("[]", '"text"', "3"):
        url = f"/api/v1/cases/{filed.pk}/transitions/resolve/"
        assert_error(staff.post(url, body, content_type="application/json"), 400, "invalid_body")
    assert state(filed) == before


# Django's and DRF's own answers, in the same shape ---------------------------------------------


def test_an_unknown_path_under_api_answers_404_json(world, client_for):
    member = client_for(world.member.user)
    for path in ("/api/v1/nope/", "/api/nope", "/api/v1/cases/abc/", "/api/v1/cases/1/transitions/fly/", "/api/"):
        assert_error(member.get(path), 404, "not_found")
    assert_error(Client().get("/api/v2/cases/"), 404, "not_found")
    # Outside /api/ the page is HTML, as before.
    page = Client().get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_a_body_over_the_limit_answers_413(world, client_for, filed, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    member, staff = client_for(world.member.user), client_for(world.staff)
    before = state(filed)
    big = json.dumps({"title": "t", "description": "x" * 3000, "category": world.category.pk})
    assert_error(member.post("/api/v1/cases/", big, content_type="application/json"), 413, "too_large")
    url = f"/api/v1/cases/{filed.pk}/transitions/resolve/"
    assert_error(staff.post(url, json.dumps({"note": "x" * 3000}), content_type="application/json"), 413, "too_large")
    # The sign-in form is read by Django's own form parser: its refusal is in the shape too.
    form = f"username=a&password={'x' * 3000}"
    response = Client().post("/api/v1/auth/token/", form, content_type="application/x-www-form-urlencoded")
    assert_error(response, 413, "too_large")
    assert state(filed) == before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "title=t"),
        ("application/x-www-form-urlencoded", "title=t&description=d&category=1"),
        ("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=title\r\n\r\nt\r\n--x--\r\n"),
        ("application/xml", "<title>t</title>"),
    ],
)
def test_a_body_that_is_not_json_answers_415(world, client_for, filed, content_type, body):
    member, staff = client_for(world.member.user), client_for(world.staff)
    before = state(filed)
    assert_error(member.post("/api/v1/cases/", body, content_type=content_type), 415, "unsupported_media_type")
    url = f"/api/v1/cases/{filed.pk}/transitions/resolve/"
    assert_error(staff.post(url, body, content_type=content_type), 415, "unsupported_media_type")
    assert state(filed) == before


@pytest.mark.parametrize("charset", ["zlib", "bz2", "rot13", "base64", "hex"])
def test_a_charset_that_is_no_text_encoding_answers_415(world, client_for, filed, charset):
    # Django takes any codec as a charset: zlib and bz2 would have decompressed the body (and
    # answered 500 on anything else), rot13 answered 500.
    member, staff = client_for(world.member.user), client_for(world.staff)
    before = state(filed)
    # generic(): post() would encode the body in the charset itself, and fail as the server did.
    json_type = f"application/json; charset={charset}"
    form_type = f"application/x-www-form-urlencoded; charset={charset}"
    body = json.dumps({"title": "t", "description": "d", "category": world.category.pk}).encode()
    assert_error(member.generic("POST", "/api/v1/cases/", body, json_type), 415, "unsupported_media_type")
    url = f"/api/v1/cases/{filed.pk}/transitions/resolve/"
    assert_error(staff.generic("POST", url, b'{"note": "n"}', json_type), 415, "unsupported_media_type")
    response = Client().generic("POST", "/api/v1/auth/token/", b"username=a&password=b", form_type)
    assert_error(response, 415, "unsupported_media_type")
    assert state(filed) == before


def test_a_text_charset_is_read(world, client_for):
    member = client_for(world.member.user)
    body = json.dumps({"title": "村道", "description": "积水", "category": world.category.pk}, ensure_ascii=False)
    response = member.generic("POST", "/api/v1/cases/", body.encode("utf-16"), "application/json; charset=utf-16")
    assert response.status_code == 201 and response.json()["title"] == "村道", response.content


def test_an_accept_header_the_api_cannot_answer_is_406(world, client_for):
    assert_error(client_for(world.member.user).get("/api/v1/cases/", HTTP_ACCEPT="text/html"), 406, "not_acceptable")


def test_a_method_an_endpoint_does_not_have_answers_405(world, client_for, filed):
    member = client_for(world.member.user)
    before = state(filed)
    assert_error(member.delete(f"/api/v1/cases/{filed.pk}/"), 405, "method_not_allowed")
    assert_error(member.put(f"/api/v1/cases/{filed.pk}/", {}, format="json"), 405, "method_not_allowed")
    assert state(filed) == before


def test_unauthenticated_answers_401(world, filed):
    client = Client()
    assert_error(client.get("/api/v1/cases/"), 401, "not_authenticated")
    response = client.get("/api/v1/cases/", HTTP_AUTHORIZATION="Token nope")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Token")


def test_sign_in_is_throttled_with_429(world, monkeypatch):
    # The rate is read once, when DRF's throttle class is defined: the test sets it there.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "2/min"})
    # An address of its own, so no earlier request (or the shared Redis of CI) counts against it.
    client = Client(REMOTE_ADDR=f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}")
    body = {"username": world.member.user.username, "password": "Pass-word-123"}
    for _ in range(2):
        assert client.post("/api/v1/auth/token/", body, content_type="application/json").status_code == 200
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    error = assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0, error


@pytest.mark.urls("tests.api.boom_urls")
def test_an_unexpected_failure_under_api_answers_500_json(world, client_for, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(world.member.user)
    with caplog.at_level("ERROR"):
        assert_error(client.get("/api/v1/boom/"), 500, "server_error")
        assert_error(client.get("/api/v1/boom-plain/"), 500, "server_error")
    # The error itself is logged, not answered.
    assert "an API view failed" in caplog.text and "a plain view failed" in caplog.text
    page = client.get("/boom-page/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


# One time-zone convention: ISO 8601 in the deployment's zone, +08:00 ----------------------------

ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def datetimes(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (path, value) in a JSON answer that is a date and time."""
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in datetimes(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in datetimes(item, f"{path}[{i}]")]
    if isinstance(value, str) and ISO_DATETIME.match(value):
        return [(path, value)]
    return []


def test_every_time_is_answered_in_the_deployments_zone(world, client_for):
    member, staff = client_for(world.member.user), client_for(world.staff)
    body = {"title": "村道破损", "description": "积水", "category": world.category.pk, "contacts": world.contact_ids()}
    answers: dict[str, Any] = {}
    intake = member.post("/api/v1/cases/", body, format="json")
    answers["intake"] = intake.json()
    case_id = answers["intake"]["id"]
    other = file(member, world)
    answers["detail"] = member.get(f"/api/v1/cases/{case_id}/").json()
    answers["list"] = member.get("/api/v1/cases/").json()
    answers["events"] = member.get(f"/api/v1/cases/{case_id}/events/").json()
    answers["queue page"] = staff.get(f"/api/v1/queues/{world.committee.pk}/tasks/").json()
    answers["claim-next"] = staff.post(f"/api/v1/queues/{world.committee.pk}/claim-next/").json()
    answers["my tasks"] = staff.get("/api/v1/tasks/mine/").json()
    answers["merge targets"] = staff.get(f"/api/v1/cases/{other.pk}/merge-targets/").json()
    converted = go(staff, Case.objects.get(pk=other.pk), "accept")
    assert converted["status"] == "conversion"
    answers["convert"] = go(staff, Case.objects.get(pk=other.pk), "convert", output_type="info_report", title="t")
    output_id = answers["convert"]["output"]
    answers["output"] = staff.get(f"/api/v1/outputs/{output_id}/").json()
    answers["joinable outputs"] = staff.get(f"/api/v1/cases/{case_id}/joinable-outputs/").json()
    staff.post(
        f"/api/v1/outputs/{output_id}/transitions/edit/", {"analysis": "分析", "suggestion": "建议"}, format="json"
    )
    answers["outcome"] = staff.post(f"/api/v1/outputs/{output_id}/transitions/submit/", format="json").json()

    found = {name: datetimes(answer) for name, answer in answers.items()}
    assert all(found.values()), {name: values for name, values in found.items() if not values}
    wrong = [(name, path, value) for name, values in found.items() for path, value in values if value[-6:] != "+08:00"]
    assert wrong == []
    # The intake answer and the detail say the same instant in the same words.
    assert answers["intake"]["created_at"] == answers["detail"]["created_at"]
    assert answers["claim-next"]["due_at"] == answers["queue page"]["results"][0]["due_at"]


def test_reference_lists_answer_in_their_documented_shape(world, client_for):
    # The reject reasons were serialised as options without a name (a reason has a text): 500.
    staff = client_for(world.staff)
    assert staff.get("/api/v1/reject-reasons/").json() == [{"id": world.reason.pk, "name": world.reason.text}]
    for path in ("categories", "townships", "committees", "redirect-channels", "output-types", "contacts"):
        response = staff.get(f"/api/v1/{path}/")
        assert response.status_code == 200 and isinstance(response.json(), list), (path, response.content)


def _nameable(char: str) -> bool:
    """What the schema's pattern can name (see Text.pattern): not a lone surrogate, not a format
    character beyond the BMP; clean refuses those all the same."""
    return ord(char) <= 0xFFFF or unicodedata.category(char) != "Cf"


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    text=st.text(st.characters(codec="utf-8").filter(_nameable), max_size=12)
    | st.text(
        st.sampled_from(" \t\n\r\x00\x07\x1f\x7f\x85\u2028\u3000a字\u200b\ufeff\u202e\xad\U0001f600"), max_size=6
    ),
    required=st.booleans(),
    multiline=st.booleans(),
)
def test_the_text_pattern_in_the_schema_promises_nothing_clean_refuses(text, required, multiline):
    field = Text("t", "t", required=required, multiline=multiline, max_length=10)
    matches = re.match(field.pattern(), text) is not None and len(text) <= field.max_length
    if matches:
        cleaned = field.clean(text) if text.strip() else ""
        assert cleaned or not required, (text, field.pattern())


def test_every_operation_documents_its_errors_and_its_parameters_limits(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in item.items()
    ]
    assert len(operations) > 30
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        # Sign-in is the one operation open to anyone; every other one may answer 401.
        assert bool(op.get("security")) == (path != "/api/v1/auth/token/"), where
        expected = {"404", "406", "429", "500"} | ({"401"} if op.get("security") else set())
        if method in ("post", "patch"):
            expected |= {"400", "403", "409", "413", "415"}
        assert expected <= set(op["responses"]), (where, sorted(op["responses"]))
        for code in expected:
            content = op["responses"][code]["content"]["application/json"]["schema"]
            assert content == {"$ref": "#/components/schemas/ErrorOut"}, (where, code)
        assert "Retry-After" in op["responses"]["429"]["headers"], where
        if "401" in expected:
            assert op["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True, where
        for parameter in op.get("parameters", []):
            limits = {"maximum", "maxLength", "enum"} & set(parameter["schema"])
            assert limits, (where, parameter)
            if parameter["in"] == "path":
                assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}, where


def test_the_request_schemas_say_what_input_clean_takes(world, client_for, db):
    # null for an optional field is its absence (the field's default); an edit needs a field.
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    intake = components["CaseFileInRequest"]
    assert {n for n, p in intake["properties"].items() if p.get("nullable")} == {
        "township",
        "urgency",
        "contacts",
        "consent_to_share",
        "committee",
        "submit",
    }
    assert set(intake["required"]) == {"title", "description", "category"}
    assert components["PatchedCaseEditInRequest"]["minProperties"] == 1
    assert "minProperties" not in intake

    member = client_for(world.member.user)
    body = {"title": "t", "description": "d", "category": world.category.pk}
    nulls = {"township": None, "urgency": None, "contacts": None, "consent_to_share": None, "submit": None}
    created = member.post("/api/v1/cases/", {**body, **nulls}, format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["status"], created.json()["urgency"], created.json()["township"]) == (
        "review",
        "normal",
        None,
    )
    case = Case.objects.get(pk=created.json()["id"])
    assert_error(member.post("/api/v1/cases/", {**body, "title": None}, format="json"), 400, "required")
    before = state(case)
    staff = client_for(world.staff)  # who edits a case under review
    assert_error(staff.patch(f"/api/v1/cases/{case.pk}/", {}, format="json"), 400, "empty_update")
    assert state(case) == before
