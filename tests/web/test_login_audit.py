"""Sign-ins, failed sign-ins and sign-outs are audited on the system stream, chained."""

from __future__ import annotations

from casework.models import AuditEvent
from casework.services.audit import SYSTEM_STREAM, verify_chain


def test_sign_in_failure_and_sign_out_are_audited(world, client):
    user = world.staff
    assert client.post("/login/", {"username": user.username, "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": user.username, "password": "Pass-word-123"}).status_code == 302
    assert client.post("/logout/").status_code == 302

    trail = list(
        AuditEvent.objects.filter(stream=SYSTEM_STREAM)
        .order_by("seq")
        .values_list("seq", "action", "actor_id", "success", "changes", "source_ip")
    )
    assert trail == [
        (1, "account.login_failed", None, False, {"username": user.username}, "127.0.0.1"),
        (2, "account.login", user.pk, True, {"username": user.username}, "127.0.0.1"),
        (3, "account.logout", user.pk, True, {"username": user.username}, "127.0.0.1"),
    ]
    assert verify_chain() == []
