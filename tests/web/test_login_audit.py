"""Sign-ins, failed sign-ins and sign-outs are audited on the system streams, chained: one stream
per organisation and day (a failed sign-in names no account, so it goes to organisation 0's). A
sign-out revokes the user's API token, audited after it."""

from __future__ import annotations

from django.utils import timezone

from casework.models import ApiToken, AuditEvent, AuditStream
from casework.services.audit import system_stream, verify_chain


def test_sign_in_failure_and_sign_out_are_audited(world, client):
    user = world.staff
    prefix = ApiToken.objects.get(user=user).prefix
    assert client.post("/login/", {"username": user.username, "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": user.username, "password": "Pass-word-123"}).status_code == 302
    assert client.post("/logout/").status_code == 302

    today = timezone.localdate()
    own, nobody = system_stream(user.organisation_id, today), system_stream(None, today)
    trail = list(
        AuditEvent.objects.filter(stream__startswith="system:")
        .order_by("id")
        .values_list("stream", "seq", "action", "actor_id", "success", "changes", "source_ip")
    )
    assert trail == [
        (nobody, 1, "account.login_failed", None, False, {"username": user.username}, "127.0.0.1"),
        (own, 1, "account.login", user.pk, True, {"username": user.username}, "127.0.0.1"),
        (own, 2, "account.logout", user.pk, True, {"username": user.username}, "127.0.0.1"),
        (
            own,
            3,
            "account.token_revoked",
            user.pk,
            True,
            {"username": user.username, "token": prefix, "reason": "logout"},
            "127.0.0.1",
        ),
    ]
    assert own == f"system:{user.organisation_id}:{today:%Y%m%d}" and nobody == f"system:0:{today:%Y%m%d}"
    # Each stream's record carries its head.
    record = AuditStream.objects.get(name=own)
    last = AuditEvent.objects.get(stream=own, seq=3)
    assert (record.organisation_id, record.day, record.audit_seq, record.audit_head) == (
        user.organisation_id,
        today,
        3,
        last.hash,
    )
    assert verify_chain() == []
