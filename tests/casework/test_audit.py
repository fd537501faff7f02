"""The hash-chained audit trail: it verifies, and an attacker's edit or deletion is named."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from casework.models import AuditCheckpoint, AuditEvent
from casework.services.audit import ALGORITHM, audit_checkpoint, verify_chain
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


def test_chain_verifies_and_records_its_algorithm(world, capsys):
    busy_world(world)
    assert verify_chain() == []
    assert set(AuditEvent.objects.values_list("algorithm", flat=True)) == {ALGORITHM}
    call_command("verify_audit")
    assert "审计链完好" in capsys.readouterr().out


def test_an_edited_event_is_named(world):
    busy_world(world)
    victim = AuditEvent.objects.filter(action="case.rejected").get()
    tamper("UPDATE casework_auditevent SET changes = %s WHERE id = %s", ['{"reason": "无"}', victim.pk])

    breaks = verify_chain()
    assert breaks and breaks[0].event_id == victim.pk and breaks[0].kind == "hash"
    with pytest.raises(CommandError) as err:
        call_command("verify_audit")
    assert f"event id={victim.pk}" in str(err.value)


def test_a_deleted_middle_event_breaks_the_chain(world):
    cases = busy_world(world)
    stream = f"case:{cases[0].pk}"
    middle = AuditEvent.objects.filter(stream=stream, seq=2).get()
    tamper("DELETE FROM casework_auditevent WHERE id = %s", [middle.pk])
    breaks = verify_chain()
    assert breaks[0].stream == stream and breaks[0].seq == 3 and breaks[0].kind == "gap"


def test_a_deleted_tail_is_caught_by_the_checkpoint(world):
    cases = busy_world(world)
    checkpoint = audit_checkpoint()
    assert checkpoint is not None and checkpoint.seq == 1
    assert audit_checkpoint() is None  # nothing moved since
    stream = f"case:{cases[0].pk}"
    assert checkpoint.heads[stream][0] == AuditEvent.objects.filter(stream=stream).count()
    assert verify_chain() == []

    tail = AuditEvent.objects.filter(stream=stream).order_by("-seq").first()
    tamper("DELETE FROM casework_auditevent WHERE id = %s", [tail.pk])
    breaks = verify_chain()
    assert [(b.kind, b.stream, b.seq) for b in breaks] == [("tail", stream, tail.seq)]


def test_checkpoints_chain_and_cover_only_streams_that_moved(world):
    cases = busy_world(world)
    first = audit_checkpoint()
    do("claim", cases[2].pk, world.staff)
    second = audit_checkpoint()
    assert second.prev_hash == first.hash
    assert list(second.heads) == [f"case:{cases[2].pk}"]
    assert AuditCheckpoint.objects.count() == 2 and verify_chain() == []


@pytest.mark.postgres
def test_the_application_cannot_update_or_delete_events_on_postgres(world):
    busy_world(world)
    event = AuditEvent.objects.first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


def test_a_checkpoint_waits_for_young_events_to_settle(world):
    busy_world(world)
    assert audit_checkpoint(settle_seconds=3600) is None  # every event is seconds old
    checkpoint = audit_checkpoint(settle_seconds=0)
    assert checkpoint is not None and checkpoint.last_event_id == AuditEvent.objects.order_by("-id").first().pk
