"""Running the audit trail: its keys (generated, from the environment, rotated, needed to verify),
the incremental check and its state, the verify_audit command (--json, exit status, restores),
the beat task's alert that auditors see, and the system streams split by organisation and day."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from casework.choices import Role
from casework.models import AuditCheckpoint, AuditCheckpointHead, AuditEvent, AuditStream
from casework.services import audit_crypto
from casework.services.audit import (
    SYSTEM_STREAM,
    audit_record,
    case_stream,
    run_checkpoint,
    system_stream,
    verify_chain,
)
from casework.services.audit_anchor import read_anchors
from casework.services.audit_verify import load_state, verify_full, verify_incremental
from casework.tasks import audit_verify_task
from tests.casework.test_audit import busy_world, checkpoint, kinds, rewind_record, stream_of, tamper
from tests.factories import make_user, make_world, token_key
from tests.helpers import do
from tests.workflows.test_case_flow import file_case

ROOT = Path(__file__).resolve().parents[2]


# Keys ---------------------------------------------------------------------------------------------


def test_the_embedded_default_generates_a_key_file_with_mode_0600_and_says_so(settings, tmp_path, caplog):
    settings.AUDIT_KEY_FILE = str(tmp_path / "var" / "audit-keys")
    with caplog.at_level(logging.WARNING, logger="minqing.audit"):
        ring = audit_crypto.keyring()

    path = Path(settings.AUDIT_KEY_FILE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [line.split()[0] for line in path.read_text().splitlines() if not line.startswith("#")] == [ring.current.id]
    assert "generated a new audit key file" in caplog.text and str(path) in caplog.text
    assert audit_crypto.keyring() is ring  # loaded once, while the file is unchanged


def test_keys_from_the_environment_are_used_and_a_key_not_matching_its_id_is_refused(settings):
    secret = bytes(range(32))
    line = f"{audit_crypto.new_key_id(secret)} {secret.hex()}"
    settings.AUDIT_KEYS = line
    assert audit_crypto.keyring().current.id == line.split()[0]

    settings.AUDIT_KEYS = f"{line.split()[0]} {bytes(range(1, 33)).hex()}"
    with pytest.raises(audit_crypto.AuditKeyError, match="not that key"):
        audit_crypto.keyring()


def test_verify_needs_the_keys(world, settings, tmp_path):
    busy_world(world)
    old = audit_crypto.keyring().current.id
    settings.AUDIT_KEY_FILE = str(tmp_path / "another-key-file")  # the key file was lost

    breaks = verify_chain()
    assert {b.kind for b in breaks} == {"key"}
    assert f"signed with key {old}, which is not in the keyring" in breaks[0].detail
    with pytest.raises(CommandError, match="which is not in the keyring"):
        call_command("verify_audit", "--full")


def test_rotation_starts_a_new_segment_linked_to_the_old(world, settings, tmp_path, capsys):
    settings.AUDIT_KEY_FILE = str(tmp_path / "audit-keys")
    case = busy_world(world)[0]
    old = audit_crypto.keyring().current
    first = checkpoint()

    call_command("audit_rotate_key")
    new = audit_crypto.keyring().current
    handover = AuditCheckpoint.objects.get(seq=2)
    assert new.id != old.id and new.rank == old.rank + 1
    assert (handover.key_id, handover.next_key_id, handover.prev_hash) == (old.id, new.id, first.hash)
    assert f"new audit key): {new.id}" in capsys.readouterr().out

    do("convert", case.pk, world.staff, output_type="proposal", title="关于某事的提案")
    after = checkpoint()
    events = stream_of(case)
    assert [e.key_id for e in events] == [old.id] * 3 + [new.id] * 2
    assert events[3].prev_hash == events[2].hash  # the new segment links to the old
    assert after.key_id == new.id and verify_chain() == []

    # Both keys stay in the file: verify needs the old one for the old segment.
    lines = [ln.split()[0] for ln in Path(settings.AUDIT_KEY_FILE).read_text().splitlines() if ln[:1] == "k"]
    assert lines == [old.id, new.id]


def test_an_event_signed_with_an_older_key_after_a_newer_one_is_named(world, settings, tmp_path):
    """Someone who got hold of a retired key still cannot extend a stream with it."""
    settings.AUDIT_KEY_FILE = str(tmp_path / "audit-keys")
    case = file_case(world)
    old = audit_crypto.keyring().current
    audit_crypto.add_key()
    do("claim", case.pk, world.staff)
    tail = stream_of(case)[-1]
    message = audit_crypto.event_message(
        key_id=old.id,
        stream=tail.stream,
        seq=3,
        organisation_id=tail.organisation_id,
        actor_id=world.staff.pk,
        action="case.released",
        target_type="case",
        target_id=case.pk,
        at_us=audit_crypto.micros(tail.occurred_at),
        source_ip=None,
        success=True,
        changes={},
        prev_hash=tail.hash,
    )
    forged = audit_crypto.mac(old, audit_crypto.ALGORITHM, message)
    tamper(
        "INSERT INTO casework_auditevent (stream, seq, organisation_id, actor_id, action, target_type, target_id, "
        "occurred_at, source_ip, success, changes, algorithm, key_id, prev_hash, hash) SELECT stream, 3, "
        "organisation_id, actor_id, 'case.released', target_type, target_id, occurred_at, NULL, success, '{}', "
        "algorithm, %s, hash, %s FROM casework_auditevent WHERE id = %s",
        [old.id, forged, tail.pk],
    )
    rewind_record(case, 3)

    breaks = verify_chain()
    assert kinds(breaks) == [("key", tail.stream, 3)] and "older than the event before" in breaks[0].detail


# The incremental check -----------------------------------------------------------------------------


def test_incremental_verification_starts_from_the_last_verified_checkpoint(world):
    cases = busy_world(world)
    checkpoint()
    full = verify_incremental()  # no state yet: a full walk, which leaves the state
    assert full.ok and full.mode.startswith("full") and load_state()["checkpoint"] == 1

    do("claim", cases[2].pk, world.staff)
    checkpoint()
    report = verify_incremental()
    new_events = AuditEvent.objects.filter(id__gt=AuditCheckpoint.objects.get(seq=1).resume_after).count()
    assert (report.ok, report.mode, report.checkpoints, report.events) == (True, "incremental", 1, new_events)
    assert load_state()["checkpoint"] == 2 and report.verified_through == 2
    assert (
        verify_incremental().events
        == AuditEvent.objects.filter(id__gt=AuditCheckpoint.objects.get(seq=2).resume_after).count()
    )


def test_incremental_verification_names_a_checkpointed_tail_cut_back_then_written_on(world):
    case = busy_world(world)[0]
    checkpoint()
    assert verify_incremental().ok  # the state: checkpoint 1
    tail = stream_of(case)[-1]
    tamper("DELETE FROM casework_auditevent WHERE id = %s", [tail.pk])
    rewind_record(case, tail.seq - 1)
    do("convert", case.pk, world.staff, output_type="proposal", title="关于某事的提案")
    checkpoint()

    report = verify_incremental()
    assert kinds(report.breaks) == [("tail", tail.stream, tail.seq)]
    assert load_state()["checkpoint"] == 1  # a failed check does not move the starting point


def test_incremental_verification_names_new_events_edited_or_cut_before_their_checkpoint(world):
    cases = busy_world(world)
    checkpoint()
    assert verify_incremental().ok
    do("claim", cases[2].pk, world.staff)
    do("accept", cases[2].pk, world.staff)
    claimed, accepted = stream_of(cases[2])[1:]
    tamper("UPDATE casework_auditevent SET actor_id = %s WHERE id = %s", [world.staff2.pk, claimed.pk])
    tamper("DELETE FROM casework_auditevent WHERE id = %s", [accepted.pk])

    assert kinds(verify_incremental().breaks) == [("hash", claimed.stream, 2), ("head", claimed.stream, 3)]


def test_incremental_verification_names_a_verified_checkpoint_that_was_cut_back(world):
    case = busy_world(world)[0]
    checkpoint()
    do("convert", case.pk, world.staff, output_type="proposal", title="关于某事的提案")
    second = checkpoint()
    assert verify_incremental().ok and load_state()["checkpoint"] == 2
    tamper("DELETE FROM casework_auditcheckpointhead WHERE checkpoint_id = %s", [second.pk])
    tamper("DELETE FROM casework_auditcheckpoint WHERE id = %s", [second.pk])

    report = verify_incremental()
    assert kinds(report.breaks) == [("checkpoint", "checkpoint", 2)]
    assert "now missing" in report.breaks[0].detail


# The command ---------------------------------------------------------------------------------------


def test_verify_audit_json_for_monitoring_and_its_exit_status(world, capsys):
    case = busy_world(world)[0]
    checkpoint()
    call_command("verify_audit", "--full", "--json")
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["mode"], report["breaks"], report["checkpoints"], report["anchors"]) == (
        True,
        "full",
        0,
        1,
        1,
    )
    assert report["events"] == AuditEvent.objects.count() and report["verified_through"] == 1

    tail = stream_of(case)[-1]
    tamper("DELETE FROM casework_auditevent WHERE id = %s", [tail.pk])
    with pytest.raises(CommandError) as err:
        # Incremental, from checkpoint 1: the stream has not moved since, but the rolling
        # re-check of older checkpoints' heads takes checkpoint 1 in this run.
        call_command("verify_audit", "--json")
    assert err.value.returncode == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["mode"], report["first_break"]["kind"], report["first_break"]["stream"]) == (
        False,
        "incremental",
        "tail",
        tail.stream,
    )


def test_a_restore_from_an_older_backup_is_named_until_acknowledged(world, capsys):
    busy_world(world)
    first = checkpoint()
    do("claim", busy_world(world)[2].pk, world.staff)
    second = checkpoint()
    # The database comes back from a backup taken at checkpoint 1: checkpoint 2 and everything
    # after checkpoint 1 are gone, consistently.
    tamper("DELETE FROM casework_auditcheckpointhead WHERE checkpoint_id = %s", [second.pk])
    tamper("DELETE FROM casework_auditcheckpoint WHERE id = %s", [second.pk])
    for event in AuditEvent.objects.filter(id__gt=first.last_event_id).exclude(stream__startswith="case:"):
        tamper("DELETE FROM casework_auditevent WHERE id = %s", [event.pk])
    later = AuditEvent.objects.filter(id__gt=first.last_event_id)
    for stream in set(later.values_list("stream", flat=True)):
        tamper("DELETE FROM casework_auditevent WHERE stream = %s AND id > %s", [stream, first.last_event_id])
    from casework.models import Case

    for other in Case.objects.filter(organisation=world.org):
        rewind_record(other, AuditEvent.objects.filter(stream=case_stream(other.pk)).count())
    tamper(
        "DELETE FROM casework_auditevent WHERE stream IN (SELECT 'case:' || id FROM casework_case WHERE audit_seq = 0)",
        [],
    )
    tamper("DELETE FROM casework_caseclock WHERE case_id IN (SELECT id FROM casework_case WHERE audit_seq = 0)", [])
    assert kinds(verify_chain()) == [("anchor", "checkpoint", 2)]

    call_command("verify_audit", "--acknowledge-restore", "从 11 月 29 日的备份恢复")
    out = capsys.readouterr()
    assert "restore acknowledged" in out.out and "审计链完好" in out.out
    marker = json.loads(Path(django_settings.AUDIT_ANCHOR_FILE).read_text().splitlines()[-1])
    assert (marker["restore"], marker["seq"], marker["hash"], marker["reason"]) == (
        1,
        1,
        first.hash,
        "从 11 月 29 日的备份恢复",
    )
    # Work goes on: the next checkpoint is #2 again, anchored after the marker.
    file_case(world)
    again = checkpoint()
    assert again.seq == 2 and read_anchors().anchored == {1: first.hash, 2: again.hash}
    report = verify_full()
    assert report.ok and any("given up by an acknowledged restore" in w for w in report.warnings)


# Beat and the auditors ------------------------------------------------------------------------------


def client_for(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user)}")
    return client


def test_a_failed_check_in_beat_is_an_alert_auditors_see(world):
    case = busy_world(world)[0]
    checkpoint()
    assert audit_verify_task() is True and not AuditEvent.objects.filter(action="audit.verify_failed").exists()
    tail = stream_of(case)[-1]
    tamper("DELETE FROM casework_auditevent WHERE id = %s", [tail.pk])

    assert audit_verify_task() is False
    assert audit_verify_task() is False  # the same first break again: not alerted twice
    alert = AuditEvent.objects.get(action="audit.verify_failed")
    assert alert.stream == system_stream(None, timezone.localdate()) and alert.organisation_id is None
    assert alert.changes["first"]["kind"] == "tail" and alert.changes["first"]["stream"] == tail.stream

    auditor = make_user(world.org, Role.AUDITOR, "吴审计")
    body = client_for(auditor).get("/api/v1/audit/alerts/").json()
    assert [(a["id"], a["mode"], a["breaks"], a["first"]["stream"]) for a in body] == [
        (alert.pk, "incremental", 1, tail.stream)
    ]
    assert "审计链校验失败：1 处异常" in body[0]["message"]
    denied = client_for(world.staff).get("/api/v1/audit/alerts/")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "not_auditor"


def test_beat_checkpoints_every_minute_and_verifies_incrementally_and_daily():
    from config.celery import app

    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["audit-checkpoint"] == {"task": "casework.audit_checkpoint", "schedule": 60}
    assert schedule["audit-verify"] == {"task": "casework.audit_verify", "schedule": 300}
    assert schedule["audit-verify-full"] == {
        "task": "casework.audit_verify",
        "schedule": 86400,
        "kwargs": {"full": True},
    }
    assert {"casework.audit_checkpoint", "casework.audit_verify"} <= set(app.tasks)


# System streams -------------------------------------------------------------------------------------


def test_system_events_go_to_their_organisations_stream_of_the_day(world):
    other = make_world("政协台州市椒江区委员会")
    day = timezone.localdate()
    with transaction.atomic():
        for org, n in ((world.org, 2), (other.org, 1)):
            for _ in range(n):
                audit_record(
                    stream=SYSTEM_STREAM,
                    actor=None,
                    action="account.login",
                    target_type="user",
                    target_id=0,
                    organisation_id=org.pk,
                )
        yesterday = timezone.now() - timezone.timedelta(days=1)
        audit_record(
            stream=SYSTEM_STREAM,
            actor=None,
            action="account.login",
            target_type="user",
            target_id=0,
            organisation_id=world.org.pk,
            at=yesterday,
        )
    streams = dict(AuditStream.objects.values_list("name", "audit_seq"))
    assert streams == {
        system_stream(world.org.pk, day): 2,
        system_stream(other.org.pk, day): 1,
        system_stream(world.org.pk, timezone.localdate(yesterday)): 1,
    }
    assert verify_chain() == []


# A restore -------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_clean_database_after_a_restore_passes(world, tmp_path):
    """pg_dump the database, pg_restore it into another one, verify that one with the same keys
    and anchors: nothing is lost, so everything verifies."""
    cases = busy_world(world)
    run_checkpoint()  # committed for real: the anchor is appended after commit
    do("claim", cases[2].pk, world.staff)
    run_checkpoint()
    assert AuditCheckpointHead.objects.exists() and read_anchors().last_seq == 2

    db = connection.settings_dict
    restored = f"{db['NAME']}_restored"
    base = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]
    dump = tmp_path / "minqing.dump"
    subprocess.run(["pg_dump", *base, "-Fc", "-f", str(dump), db["NAME"]], check=True)
    subprocess.run(["dropdb", *base, "--if-exists", restored], check=True)
    subprocess.run(["createdb", *base, restored], check=True)
    try:
        subprocess.run(["pg_restore", *base, "-d", restored, str(dump)], check=True)
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{restored}",
            "MINQING_AUDIT_KEY_FILE": django_settings.AUDIT_KEY_FILE,
            "MINQING_AUDIT_ANCHOR_FILE": django_settings.AUDIT_ANCHOR_FILE,
            "MINQING_VAR_DIR": str(tmp_path / "var"),
        }
        result = subprocess.run(
            [sys.executable, "manage.py", "verify_audit", "--full", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        subprocess.run(["dropdb", *base, "--if-exists", restored], check=True)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["ok"], report["checkpoints"], report["anchors"], report["events"]) == (
        True,
        2,
        2,
        AuditEvent.objects.count(),
    )
