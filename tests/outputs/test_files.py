"""A department attaches files to its own assignment before replying; anything refused leaves no
row, no file and no audit event."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from casework.errors import InvalidInput, PermissionDenied, TransitionNotAllowed
from casework.models import Assignment, AuditEvent, OutputFile
from tests.outputs.proposal_world import make_proposal_world
from workflows import output_actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    pw = make_proposal_world(world)
    output = pw.output
    for signer in output.signers.all():
        output_actions.perform("signature", "confirm", record_id=signer.pk, actor=signer.user)
    output_actions.perform("output", "edit", record_id=output.pk, actor=world.staff, data={"suggestion": "建议"})
    output_actions.perform("output", "submit", record_id=output.pk, actor=world.staff)
    output_actions.perform("output", "file", record_id=output.pk, actor=pw.office)
    output_actions.perform(
        "output",
        "assign",
        record_id=output.pk,
        actor=pw.office,
        data={"handling": "joint", "lead": pw.lead.pk, "co_handlers": [pw.co.pk]},
    )
    return pw, Assignment.objects.get(output=output, department=pw.lead), tmp_path


def attach(assignment, actor, name="答复函.pdf", content=b"%PDF-1.4 reply"):
    return output_actions.attach_file(
        assignment_id=assignment.pk, actor=actor, upload=SimpleUploadedFile(name, content)
    )


def test_the_department_attaches_a_file_that_is_kept_with_its_digest(assigned):
    pw, assignment, media = assigned
    row = attach(assignment, pw.lead_liaison)
    assert row.sha256 == hashlib.sha256(b"%PDF-1.4 reply").hexdigest() and row.size == 14
    assert (media / row.file.name).read_bytes() == b"%PDF-1.4 reply"
    event = AuditEvent.objects.filter(stream=f"output:{pw.output.pk}").order_by("-seq").first()
    assert event.action == "assignment.file_added" and event.changes["sha256"] == row.sha256


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("答复函.exe", b"MZ", InvalidInput),
        ("空.pdf", b"", InvalidInput),
        ("名\u202e字.pdf", b"x", InvalidInput),
    ],
)
def test_refused_files_leave_nothing(assigned, name, content, error):
    pw, assignment, media = assigned
    before = AuditEvent.objects.count()
    with pytest.raises(error):
        attach(assignment, pw.lead_liaison, name, content)
    assert AuditEvent.objects.count() == before and not OutputFile.objects.exists()
    assert not any(p.is_file() for p in media.rglob("*"))


def test_a_file_too_large_is_refused(assigned, settings):
    pw, assignment, _media = assigned
    settings.MINQING_MAX_UPLOAD_BYTES = 10
    with pytest.raises(InvalidInput) as refused:
        attach(assignment, pw.lead_liaison, content=b"x" * 11)
    assert refused.value.code == "file_too_large"


def test_another_department_cannot_attach_to_this_one_and_nothing_is_left(assigned):
    pw, assignment, media = assigned
    with pytest.raises(PermissionDenied):
        attach(assignment, pw.co_liaison)
    assert not OutputFile.objects.exists() and not any(p.is_file() for p in media.rglob("*"))


def test_no_file_after_the_reply(assigned):
    pw, assignment, media = assigned
    co = Assignment.objects.get(output=pw.output, department=pw.co)
    output_actions.perform("assignment", "send_view", record_id=co.pk, actor=pw.co_liaison, data={"view": "同意"})
    output_actions.perform(
        "assignment", "reply", record_id=assignment.pk, actor=pw.lead_liaison, data={"reply_class": "A", "text": "已办"}
    )
    with pytest.raises(TransitionNotAllowed):
        attach(assignment, pw.lead_liaison)
