"""A department's reply files through the API: uploaded to its own assignment (once per
Idempotency-Key), downloaded only by those who may see the proposal, with headers that keep a
browser from running or caching it; every refused upload changes nothing (no row, no event, no
file on disk)."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from casework.choices import AuditAction, Role
from casework.models import AuditEvent, Department, OutputFile
from tests.api.proposal_steps import act, assigned, assignment_of
from tests.factories import make_user, make_world
from tests.outputs.proposal_world import make_proposal_world

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% the signed reply letter\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def pw(world):
    pw = make_proposal_world(world)
    assigned(pw)
    return pw


def upload(client, assignment, name="答复函.pdf", content=PDF, **headers):
    data = {"file": SimpleUploadedFile(name, content)} if name is not None else {}
    return client.post(f"/api/v1/assignments/{assignment.pk}/files/", data, format="multipart", **headers)


def stored_files(media):
    return sorted(p for p in media.rglob("*") if p.is_file())


def state(media):
    return (OutputFile.objects.count(), AuditEvent.objects.count(), stored_files(media))


def test_a_liaison_uploads_a_reply_file_and_those_who_see_the_proposal_download_it(pw, client_for):
    lead = assignment_of(pw, pw.lead)
    response = upload(client_for(pw.lead_liaison), lead)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == pw.output.pk  # the output detail, with the file on its assignment
    files = next(a for a in body["assignments"] if a["id"] == lead.pk)["files"]
    assert [(f["name"], f["size"], f["sha256"]) for f in files] == [
        ("答复函.pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    ]
    event = AuditEvent.objects.filter(stream=f"output:{pw.output.pk}").order_by("-seq").first()
    assert event.action == AuditAction.ASSIGNMENT_FILE_ADDED and event.changes["file"] == files[0]["id"]

    path = f"/api/v1/files/{files[0]['id']}/"
    w = pw.world
    for user in (pw.lead_liaison, pw.co_liaison, pw.office, w.staff, w.member.user, w.leader):
        got = client_for(user).get(path)
        assert got.status_code == 200, (user, got.content)
        assert b"".join(got.streaming_content) == PDF
        assert got["Content-Type"] == "application/octet-stream"
        assert got["X-Content-Type-Options"] == "nosniff"
        assert got["Cache-Control"] == "no-store"
        disposition = got["Content-Disposition"]
        assert disposition.startswith('attachment; filename="')
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == "答复函.pdf"


def test_a_file_is_not_found_by_whoever_may_not_see_its_proposal(pw, client_for):
    lead = assignment_of(pw, pw.lead)
    file_id = upload(client_for(pw.lead_liaison), lead).json()["assignments"][0]["files"][0]["id"]
    w = pw.world
    third = Department.objects.create(organisation=w.org, name="区民政局")
    bystander = make_user(w.org, Role.DEPARTMENT_LIAISON)
    bystander.department = third
    bystander.save()
    far = make_world("政协台州市路桥区委员会")
    for user in (bystander, w.outsider, far.staff, make_user(w.org, Role.AUDITOR), w.other_staff):
        got = client_for(user).get(f"/api/v1/files/{file_id}/")
        assert got.status_code == 404 and got.json()["error"]["code"] == "file_not_found", user
    assert client_for(w.staff).get("/api/v1/files/987654321/").status_code == 404


def test_a_name_with_a_quote_and_semicolons_cannot_break_the_header(pw, client_for):
    lead = assignment_of(pw, pw.lead)
    name = "复函'; filename=evil.html; x=.pdf"
    body = upload(client_for(pw.lead_liaison), lead, name=name).json()
    file_id = body["assignments"][0]["files"][0]["id"]
    disposition = client_for(pw.office).get(f"/api/v1/files/{file_id}/")["Content-Disposition"]
    fallback = disposition.split('filename="')[1].split('"')[0]
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert disposition == f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    assert all(c.isalnum() or c in "%-_.~" for c in encoded)  # nothing the header could split on
    assert ";" not in fallback and " " not in fallback and fallback.endswith(".pdf")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == name


def test_the_same_key_uploads_once_and_another_file_under_it_is_refused(pw, client_for, media):
    lead = assignment_of(pw, pw.lead)
    liaison = client_for(pw.lead_liaison)
    first = upload(liaison, lead, HTTP_IDEMPOTENCY_KEY="reply-file-1")
    again = upload(liaison, lead, HTTP_IDEMPOTENCY_KEY="reply-file-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert OutputFile.objects.filter(assignment=lead).count() == 1 and len(stored_files(media)) == 1
    before = state(media)
    other = upload(liaison, lead, content=b"%PDF-1.4 another letter", HTTP_IDEMPOTENCY_KEY="reply-file-1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert state(media) == before


def test_refused_uploads_change_nothing(pw, client_for, media, settings):
    lead, co = assignment_of(pw, pw.lead), assignment_of(pw, pw.co)
    liaison = client_for(pw.lead_liaison)
    before = state(media)

    def refused(response, status, code):
        assert response.status_code == status, response.content
        assert response.json()["error"]["code"] == code
        assert state(media) == before

    settings.MINQING_MAX_UPLOAD_BYTES = 16
    refused(upload(liaison, lead, content=b"x" * 17), 400, "file_too_large")
    settings.MINQING_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
    refused(upload(liaison, lead, name="答复.exe"), 400, "file_type_refused")
    refused(upload(liaison, lead, name="答复.html"), 400, "file_type_refused")
    refused(upload(liaison, lead, content=b""), 400, "file_empty")
    refused(upload(liaison, lead, name=None), 400, "file_required")
    as_json = liaison.post(f"/api/v1/assignments/{lead.pk}/files/", {"file": "x"}, format="json")
    refused(as_json, 415, "unsupported_media_type")
    # Another department's assignment on the same proposal: seen, not theirs.
    refused(upload(liaison, co), 403, "not_your_department")
    # The office sees the proposal but is no department; the staff and another organisation's.
    refused(upload(client_for(pw.office), lead), 403, "not_your_department")
    refused(upload(client_for(pw.world.outsider), lead), 404, "assignment_not_found")
    refused(upload(liaison, type("Missing", (), {"pk": 987654321})()), 404, "assignment_not_found")


def test_no_file_is_attached_after_the_reply(pw, client_for, media):
    lead, co = assignment_of(pw, pw.lead), assignment_of(pw, pw.co)
    act("assignment", "send_view", co.pk, pw.co_liaison, view="同意。")
    act("assignment", "reply", lead.pk, pw.lead_liaison, reply_class="A", text="已解决。")
    before = state(media)
    response = upload(client_for(pw.lead_liaison), lead)
    assert response.status_code == 409 and response.json()["error"]["code"] == "transition_not_allowed"
    assert state(media) == before


def test_a_reply_file_larger_than_a_json_body_may_be_is_taken(pw, client_for, settings):
    """A scanned reply letter is megabytes: the JSON body limit (MINQING_MAX_BODY_BYTES) is not
    the file's; the file's is MINQING_MAX_UPLOAD_BYTES."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    settings.MINQING_MAX_UPLOAD_BYTES = 1024 * 1024
    scan = PDF + b"\0" * (300 * 1024)
    response = upload(client_for(pw.lead_liaison), assignment_of(pw, pw.lead), content=scan)
    assert response.status_code == 200, response.content
    assert OutputFile.objects.get().size == len(scan)
    too_big = upload(client_for(pw.lead_liaison), assignment_of(pw, pw.lead), content=b"%PDF" + b"\0" * 1024 * 1024)
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "file_too_large"
