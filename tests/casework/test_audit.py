"""The audit trail proves itself: a clean trail verifies, and each attack on it, made as an
attacker with full database access but without the audit key would make it (raw SQL, user
triggers off with `session_replication_role = replica` on PostgreSQL), is named by
`verify_audit`. Each docstring says whether the attack passed verification before the keyed
chain (HMAC digests, heads on records, anchors)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from casework.models import AuditCheckpoint, AuditCheckpointHead, AuditEvent, Case
from casework.services import audit_crypto
from casework.services.audit import (
    audit_checkpoint,
    audit_record,
    case_stream,
    verify_chain,
)
from casework.services.audit_anchor import anchor_checkpoint, anchor_path, read_anchors
from casework.services.audit_crypto import ALGORITHM, GENESIS, legacy_digest, legacy_payload
from casework.services.audit_verify import verify_full
from tests.helpers import do
from tests.workflows.test_case_flow import file_case


def busy_world(world):
    cases = [file_case(world, title=f"问题{i}") for i in range(3)]
    do("accept", cases[0].pk, world.staff)
    do("reject", cases[1].pk, world.staff, reason=world.reason.pk)
    return cases


def tamper(sql: str, params: list) -> None:
    """Edit rows the way someone with database access would, around the app and its trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a superuser can switch user triggers off
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")


def checkpoint(**kwargs):
    """A checkpoint and its anchor, as beat makes them: the test's transaction never commits, so
    the after-commit append is made here."""
    made = audit_checkpoint(**kwargs)
    if made is not None:
        anchor_checkpoint(made)
    return made


def stream_of(case: Case) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(stream=case_stream(case.pk)).order_by("seq"))


def rewind_record(case: Case, seq: int) -> None:
    """What a careful attacker does after cutting a tail: point the case's head at the new last
    event, so the record agrees with the stream."""
    head = AuditEvent.objects.get(stream=case_stream(case.pk), seq=seq).hash if seq else ""
    tamper("UPDATE casework_case SET audit_seq = %s, audit_head = %s WHERE id = %s", [seq, head, case.pk])


def kinds(breaks) -> list[tuple[str, str, int | None]]:
    return [(b.kind, b.stream, b.seq) for b in breaks]


def legacy_hash(event: AuditEvent) -> str:
    """The digest as the code before the keyed chain computed it: no key, anyone can recompute it."""
    payload = legacy_payload(
        event.stream,
        event.seq,
        event.organisation_id,
        event.actor_id,
        event.action,
        event.target_type,
        event.target_id,
        event.occurred_at,
        event.source_ip,
        event.success,
        event.changes,
        event.prev_hash,
    )
    return legacy_digest(ALGORITHM.removeprefix("hmac-"), payload)


# A clean trail ----------------------------------------------------------------------------------


def test_a_clean_trail_verifies_with_keyed_digests_and_heads_on_records(world, capsys):
    cases = busy_world(world)
    events = AuditEvent.objects.all()
    key = audit_crypto.keyring().current
    assert set(events.values_list("algorithm", "key_id")) == {(ALGORITHM, key.id)}
    assert ALGORITHM in ("hmac-sm3", "hmac-sha256")
    for case in cases:
        case.refresh_from_db()
        last = stream_of(case)[-1]
        assert (case.audit_seq, case.audit_head) == (last.seq, last.hash)
    assert verify_chain() == []
    call_command("verify_audit", "--full")
    assert "审计链完好" in capsys.readouterr().out


def test_a_stale_copy_of_a_case_saved_later_does_not_rewind_its_head(world):
    case = file_case(world)
    stale = Case.objects.get(pk=case.pk)
    do("claim", case.pk, world.staff)
    stale.title = "改过的标题"
    stale.save()  # a full save of a copy read before the claim's event

    case.refresh_from_db()
    assert (case.title, case.audit_seq) == ("改过的标题", 2)
    assert verify_chain() == []


# The attacks -------------------------------------------------------------------------------------


def test_an_edited_field_is_named(world):
    """Would have passed before the keyed chain too (the digest no longer matched): kept."""
    busy_world(world)
    victim = AuditEvent.objects.filter(action="case.rejected").get()
    tamper("UPDATE casework_auditevent SET changes = %s WHERE id = %s", ['{"reason": "无"}', victim.pk])

    breaks = verify_chain()
    assert kinds(breaks) == [("hash", victim.stream, victim.seq)] and breaks[0].event_id == victim.pk
    with pytest.raises(CommandError) as err:
        call_command("verify_audit", "--full")
    assert f"event id={victim.pk}" in str(err.value)


def test_an_edit_with_its_unkeyed_digest_recomputed_is_named(world):
    """Would have FAILED before the keyed chain: the digest was unkeyed, so the attacker recomputed it,
    and the next event's link, and so on to the head, and verify passed."""
    case = busy_world(world)[0]
    events = stream_of(case)
    events[0].changes = {**events[0].changes, "title": "被改的标题"}
    prev = GENESIS
    for event in events:  # every digest and link after the edit, recomputed up to the head
        event.prev_hash = prev
        event.hash = prev = legacy_hash(event)
        tamper(
            "UPDATE casework_auditevent SET changes = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [json.dumps(event.changes, ensure_ascii=False), event.prev_hash, event.hash, event.pk],
        )
    rewind_record(case, events[-1].seq)

    assert kinds(verify_chain()) == [("hash", case_stream(case.pk), e.seq) for e in events]


def test_a_deleted_middle_event_is_named(world):
    """Would have passed before the keyed chain too (a gap in the seqs): kept."""
    case = busy_world(world)[0]
    middle = stream_of(case)[1]
    tamper("DELETE FROM casework_auditevent WHERE id = %s", [middle.pk])

    assert kinds(verify_chain()) == [("gap", middle.stream, 3)]


def test_a_deleted_tail_before_any_checkpoint_is_named_by_the_head_on_its_case(world):
    """Would have FAILED before the keyed chain: nothing recorded the head until a checkpoint, up to 11
    minutes later, and that checkpoint then sealed the shortened stream."""
    case = busy_world(world)[0]
    tail = stream_of(case)[-1]
    tamper("DELETE FROM casework_auditevent WHERE id = %s", [tail.pk])

    assert kinds(verify_chain()) == [("head", tail.stream, tail.seq)]
    # The next checkpoint records the shortened stream, but the case still names the lost head.
    checkpoint()
    assert kinds(verify_chain()) == [("head", tail.stream, tail.seq)]


def test_a_deleted_checkpointed_tail_followed_by_ordinary_work_is_named(world):
    """Would have FAILED before the keyed chain: a checkpointed head was compared only while it was
    still the stream's current head, and ordinary work moved the head on."""
    case = busy_world(world)[0]
    checkpoint()
    tail = stream_of(case)[-1]
    tamper("DELETE FROM casework_auditevent WHERE id = %s", [tail.pk])
    rewind_record(case, tail.seq - 1)

    # Ordinary work: the stream grows past the checkpoint from the shortened head.
    do("convert", case.pk, world.staff, output_type="proposal", title="关于某事的提案")
    checkpoint()
    retaken = stream_of(case)[tail.seq - 1]  # a new event took the deleted one's place
    assert (retaken.seq, retaken.action) == (tail.seq, "case.claimed") and retaken.hash != tail.hash

    assert kinds(verify_chain()) == [("tail", tail.stream, tail.seq)]
    assert "checkpoint 1 recorded another digest" in verify_chain()[0].detail


def test_a_tail_replaced_with_the_apps_own_function_but_without_the_key_is_named(world, settings, tmp_path):
    """Would have FAILED before the keyed chain: the app's audit function needed no secret, so a forged
    tail written with it was indistinguishable from a real one."""
    case = busy_world(world)[0]
    checkpoint()
    tail = stream_of(case)[-1]
    tamper("DELETE FROM casework_auditevent WHERE id = %s", [tail.pk])
    rewind_record(case, tail.seq - 1)

    # The attacker runs the app's own code where the key is not: it makes a key of its own.
    real_key_file = settings.AUDIT_KEY_FILE
    settings.AUDIT_KEY_FILE = str(tmp_path / "attackers-keys")
    with transaction.atomic():
        case.refresh_from_db()
        forged = audit_record(
            stream=case_stream(case.pk),
            actor=world.staff,
            action="case.accepted",
            target_type="case",
            target_id=case.pk,
            organisation_id=case.organisation_id,
            changes={"note": "无异常"},
        )
    settings.AUDIT_KEY_FILE = real_key_file

    breaks = verify_chain()
    assert kinds(breaks) == [("key", tail.stream, tail.seq), ("tail", tail.stream, tail.seq)]
    assert f"signed with key {forged.key_id}, which is not in the keyring" in breaks[0].detail


def test_a_forged_event_under_the_real_key_id_but_another_secret_is_named(world):
    """Would have FAILED before the keyed chain in its unkeyed form (the attacker recomputed the digest)."""
    case = busy_world(world)[0]
    tail = stream_of(case)[-1]
    impostor = audit_crypto.AuditKey(audit_crypto.keyring().current.id, b"x" * 32)
    forged = audit_crypto.mac(
        impostor,
        ALGORITHM,
        audit_crypto.event_message(
            key_id=impostor.id,
            stream=tail.stream,
            seq=tail.seq,
            organisation_id=tail.organisation_id,
            actor_id=tail.actor_id,
            action="case.rejected",
            target_type=tail.target_type,
            target_id=tail.target_id,
            at_us=audit_crypto.micros(tail.occurred_at),
            source_ip=tail.source_ip,
            success=True,
            changes={},
            prev_hash=tail.prev_hash,
        ),
    )
    tamper(
        "UPDATE casework_auditevent SET action = 'case.rejected', changes = '{}', hash = %s WHERE id = %s",
        [forged, tail.pk],
    )
    rewind_record(case, tail.seq)

    assert kinds(verify_chain()) == [("hash", tail.stream, tail.seq)]


def test_a_consistently_rewound_database_is_named_by_the_anchors(world):
    """Would have FAILED before the keyed chain (there were no anchors). The attacker takes the trail back to
    an earlier checkpoint, consistently: the later checkpoint and its heads, the events after it
    and the heads on the records are removed together. Inside the database everything agrees;
    only the anchor file outside it remembers the later checkpoint."""
    case = busy_world(world)[0]
    checkpoint()
    do("convert", case.pk, world.staff, output_type="proposal", title="关于某事的提案")
    second = checkpoint()
    assert second.seq == 2 and read_anchors().anchored.keys() == {1, 2}

    later = AuditEvent.objects.filter(id__gt=AuditCheckpoint.objects.get(seq=1).last_event_id)
    streams = set(later.values_list("stream", flat=True))
    tamper("DELETE FROM casework_auditcheckpointhead WHERE checkpoint_id = %s", [second.pk])
    tamper("DELETE FROM casework_auditcheckpoint WHERE id = %s", [second.pk])
    tamper("DELETE FROM casework_auditevent WHERE id > %s", [AuditCheckpoint.objects.get(seq=1).last_event_id])
    output = Case.objects.get(pk=case.pk).output_id
    tamper("UPDATE casework_case SET output_id = NULL WHERE id = %s", [case.pk])
    tamper("DELETE FROM casework_outputsigner WHERE output_id = %s", [output])
    tamper("DELETE FROM casework_output WHERE id = %s", [output])
    for stream in streams:
        if stream.startswith("case:"):
            rewind_record(Case.objects.get(pk=int(stream[5:])), AuditEvent.objects.filter(stream=stream).count())

    breaks = verify_chain()
    assert kinds(breaks) == [("anchor", "checkpoint", 2)]
    assert "anchored outside the database but missing from it (the chain ends at 1)" in breaks[0].detail


def test_a_rewritten_checkpoint_is_named_by_its_key_and_its_anchor(world):
    """Would have FAILED before the keyed chain with the checkpoint's unkeyed digest recomputed; here it
    is not even recomputed, and both the key and the anchor name it."""
    case = busy_world(world)[0]
    first = checkpoint()
    row = AuditCheckpointHead.objects.get(checkpoint=first, stream=case_stream(case.pk))
    tamper("DELETE FROM casework_auditcheckpointhead WHERE id = %s", [row.pk])
    tamper("UPDATE casework_auditcheckpoint SET n_heads = n_heads - 1, hash = %s WHERE id = %s", ["f" * 64, first.pk])

    assert kinds(verify_chain()) == [("checkpoint", "checkpoint", 1), ("anchor", "checkpoint", 1)]


def test_two_swapped_events_are_named(world):
    """Would have passed before the keyed chain too (the links no longer matched): kept."""
    case = busy_world(world)[0]
    one, two = stream_of(case)[:2]
    tamper("UPDATE casework_auditevent SET seq = 1000 WHERE id = %s", [one.pk])
    tamper("UPDATE casework_auditevent SET seq = 1 WHERE id = %s", [two.pk])
    tamper("UPDATE casework_auditevent SET seq = 2 WHERE id = %s", [one.pk])

    breaks = verify_chain()
    assert kinds(breaks)[:2] == [("link", one.stream, 1), ("hash", one.stream, 1)]
    assert {b.kind for b in breaks} == {"link", "hash"}


def test_an_inserted_event_is_named(world):
    """Would have FAILED before the keyed chain: appended with its unkeyed digest recomputed (and, now,
    the head on the case moved to it), only a key tells it from a real one."""
    case = busy_world(world)[0]
    tail = stream_of(case)[-1]
    forged = AuditEvent(
        stream=tail.stream,
        seq=tail.seq + 1,
        organisation_id=tail.organisation_id,
        actor_id=world.staff.pk,
        action="case.rejected",
        target_type="case",
        target_id=case.pk,
        occurred_at=tail.occurred_at,
        source_ip=None,
        success=True,
        changes={},
        algorithm=tail.algorithm,
        key_id=tail.key_id,
        prev_hash=tail.hash,
    )
    forged.hash = legacy_hash(forged)
    tamper(
        "INSERT INTO casework_auditevent (stream, seq, organisation_id, actor_id, action, target_type, target_id, "
        "occurred_at, source_ip, success, changes, algorithm, key_id, prev_hash, hash) "
        "SELECT stream, %s, organisation_id, %s, 'case.rejected', target_type, target_id, occurred_at, NULL, "
        "success, '{}', algorithm, key_id, %s, %s FROM casework_auditevent WHERE id = %s",
        [forged.seq, world.staff.pk, forged.prev_hash, forged.hash, tail.pk],
    )
    tamper("UPDATE casework_case SET audit_seq = %s, audit_head = %s WHERE id = %s", [forged.seq, forged.hash, case.pk])

    assert kinds(verify_chain()) == [("hash", tail.stream, forged.seq)]


def test_an_event_inserted_in_the_middle_is_named(world):
    """Would have passed before the keyed chain too as made here (a wrong digest), but not with every
    later digest recomputed, which the key now prevents."""
    case = busy_world(world)[0]
    events = stream_of(case)
    tamper("UPDATE casework_auditevent SET seq = seq + 100 WHERE stream = %s AND seq >= 2", [events[0].stream])
    tamper("UPDATE casework_auditevent SET seq = seq - 99 WHERE stream = %s AND seq >= 100", [events[0].stream])
    tamper(
        "INSERT INTO casework_auditevent (stream, seq, organisation_id, actor_id, action, target_type, target_id, "
        "occurred_at, source_ip, success, changes, algorithm, key_id, prev_hash, hash) "
        "SELECT stream, 2, organisation_id, actor_id, 'case.claimed', target_type, target_id, occurred_at, NULL, "
        "success, '{}', algorithm, key_id, hash, %s FROM casework_auditevent WHERE id = %s",
        ["e" * 64, events[0].pk],
    )

    breaks = verify_chain()
    assert kinds(breaks)[:2] == [("hash", events[0].stream, 2), ("link", events[0].stream, 3)]


def test_a_whole_stream_deleted_while_its_case_remains_is_named(world):
    """Would have FAILED before the keyed chain: until a checkpoint had recorded the stream, nothing
    said it had existed."""
    case = busy_world(world)[2]
    tamper("DELETE FROM casework_auditevent WHERE stream = %s", [case_stream(case.pk)])

    breaks = verify_chain()
    assert kinds(breaks) == [("head", case_stream(case.pk), 1)]
    assert "the whole stream is missing" in breaks[0].detail


def test_a_whole_checkpointed_stream_deleted_while_its_case_remains_is_named(world):
    """Would have passed before the keyed chain too once checkpointed (the checkpoint named the missing
    head): kept, and now the case's head names it as well."""
    case = busy_world(world)[2]
    checkpoint()
    tamper("DELETE FROM casework_auditevent WHERE stream = %s", [case_stream(case.pk)])
    tamper("DELETE FROM casework_caseclock WHERE case_id = %s", [case.pk])

    assert kinds(verify_chain()) == [("head", case_stream(case.pk), 1), ("tail", case_stream(case.pk), 1)]


# Checkpoints -------------------------------------------------------------------------------------


def test_checkpoints_record_only_streams_that_moved_and_chain(world):
    cases = busy_world(world)
    first = checkpoint()
    assert checkpoint() is None  # nothing moved since
    do("claim", cases[2].pk, world.staff)
    second = checkpoint()

    assert (first.seq, second.seq, second.prev_hash) == (1, 2, first.hash)
    assert first.n_heads == len({e.stream for e in AuditEvent.objects.filter(id__lte=first.last_event_id)})
    assert list(second.head_rows.values_list("stream", "seq")) == [(case_stream(cases[2].pk), 2)]
    assert (first.key_id, first.algorithm) == (audit_crypto.keyring().current.id, ALGORITHM)
    assert verify_chain() == []


def test_a_checkpoint_takes_young_events_but_resumes_below_them(world):
    """A committed event is recorded by the first checkpoint after it, however young; the next
    checkpoint starts below the young ones, so an older id committing late is not passed over."""
    busy_world(world)
    young = checkpoint(settle_seconds=3600)  # every event is seconds old
    assert young.n_heads == 3 and young.last_event_id == AuditEvent.objects.order_by("-id").first().pk
    first_id = AuditEvent.objects.order_by("id").first().pk
    assert young.resume_after == first_id - 1  # just below the first young event
    assert checkpoint(settle_seconds=0) is None  # the same heads again: nothing to record
    assert verify_chain() == []


def test_a_checkpoint_is_anchored_after_commit_and_a_lost_append_is_repaired(world, django_capture_on_commit_callbacks):
    busy_world(world)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = audit_checkpoint()  # the process dies before its after-commit append
    assert len(callbacks) == 1 and not anchor_path().exists()
    assert verify_chain() == []  # a lost append is not a break: checkpoints cannot be forged

    file_case(world)
    with django_capture_on_commit_callbacks(execute=True):
        second = audit_checkpoint()
    anchors = read_anchors()
    assert anchors.anchored == {1: first.hash, 2: second.hash}
    lines = anchor_path().read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2]
    assert json.loads(lines[1]) == {
        "anchor": 1,
        "seq": 2,
        "hash": second.hash,
        "prev": first.hash,
        "key": second.key_id,
        "at": second.created_at.isoformat(),
        "events": second.last_event_id,
        "heads": 1,
    }


@pytest.mark.postgres
def test_the_application_cannot_update_or_delete_audit_rows_on_postgres(world):
    busy_world(world)
    checkpoint()
    event = AuditEvent.objects.first()
    head = AuditCheckpointHead.objects.first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpointHead.objects.filter(pk=head.pk).update(seq=99)
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


# Legacy, unkeyed events --------------------------------------------------------------------------


def test_unkeyed_events_from_before_keys_verify_once_a_keyed_checkpoint_sealed_them(world):
    case = file_case(world)
    legacy = stream_of(case)[0]
    legacy.algorithm, legacy.key_id, legacy.prev_hash = ALGORITHM.removeprefix("hmac-"), "", GENESIS
    legacy.hash = legacy_hash(legacy)
    tamper(
        "UPDATE casework_auditevent SET algorithm = %s, key_id = '', hash = %s WHERE id = %s",
        [legacy.algorithm, legacy.hash, legacy.pk],
    )
    tamper("UPDATE casework_case SET audit_head = %s WHERE id = %s", [legacy.hash, case.pk])

    assert kinds(verify_chain()) == [("unsealed", legacy.stream, 1)]
    checkpoint()  # the first keyed checkpoint records every stream's head: the seal
    assert verify_chain() == []
    do("claim", case.pk, world.staff)  # keyed events follow on
    assert verify_chain() == []
    assert verify_full().warnings == []


def test_a_torn_anchor_append_is_a_warning_and_the_next_append_starts_afresh(world):
    busy_world(world)
    first = checkpoint()
    with open(anchor_path(), "ab") as handle:
        handle.write(b'{"anchor":1,"seq":2,"ha')  # a process died in the middle of its append
    assert read_anchors().anchored == {1: first.hash}  # the torn line is not read yet

    file_case(world)
    second = checkpoint()
    assert read_anchors().anchored == {1: first.hash, 2: second.hash}
    report = verify_full()
    assert report.ok and report.warnings == [f"{anchor_path()}: line 2 is not an anchor"]
