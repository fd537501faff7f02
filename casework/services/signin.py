"""The sign-in lock-out (等保: limit failed sign-ins, lock, cool off), for every door that signs
in with a password: the login page, the admin's and the API's token.

Two counters: one per account (`user:<username>`, MINQING_LOGIN_MAX_FAILURES wrong passwords in
MINQING_LOGIN_FAILURE_WINDOW_SECONDS lock it) and one per address (`addr:<ip>`, a higher limit, so
one address guessing many names is stopped too, while an office behind one address is not locked
by a few typos). A lock lasts MINQING_LOGIN_LOCKOUT_SECONDS and refuses even the right password.

The counters are rows counted up by one atomic upsert, so processes share them and two failures
at once both count. The audit trail gets each failure while its counters are under their limits
and then one `account.locked` event; attempts refused during a lock are counted on the lock's row
(`refused`), not audited one by one: guessing cannot grow the trail without limit."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from casework.choices import AuditAction
from casework.models import SignInThrottle
from casework.services.audit import SYSTEM_STREAM, audit_account_event, audit_record


@dataclass(frozen=True)
class Lock:
    """Why a sign-in is refused: the counter that is locked, until when."""

    key: str
    until: datetime

    @property
    def seconds_left(self) -> int:
        return max(1, int((self.until - timezone.now()).total_seconds() + 0.999))


def account_key(username: str) -> str:
    # Case-folded: the variants of one name share one counter.
    return f"user:{username.casefold()[:150]}"


def address_key(ip: str) -> str:
    """An IPv4 address, or an IPv6 address's /64 (one subscriber's network: counted per address,
    a guesser would have more addresses than anyone could count)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return f"addr:{ip[:100]}"
    if address.version == 6:
        return f"addr:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"addr:{address}"


def _keys(username: str, ip: str | None) -> list[tuple[str, int]]:
    keys = [(account_key(username), settings.MINQING_LOGIN_MAX_FAILURES)]
    if ip:
        keys.append((address_key(ip), settings.MINQING_LOGIN_MAX_FAILURES_PER_ADDRESS))
    return keys


def _prep(value: datetime) -> Any:
    return SignInThrottle._meta.get_field("locked_until").get_db_prep_save(value, connection)


def _table() -> str:
    return connection.ops.quote_name(SignInThrottle._meta.db_table)


def current_lock(username: str, ip: str | None) -> Lock | None:
    """The lock that refuses this sign-in, if any; the refusal is counted on it."""
    now = timezone.now()
    keys = [key for key, _limit in _keys(username, ip)]
    found = SignInThrottle.objects.filter(key__in=keys, locked_until__gt=now).order_by("-locked_until").first()
    if found is None or found.locked_until is None:
        return None
    SignInThrottle.objects.filter(key__in=keys, locked_until__gt=now).update(refused=F("refused") + 1)
    return Lock(found.key, found.locked_until)


def _count_failure(key: str, now: datetime) -> int:
    """Add one failure to `key`'s counter (starting a new window if its window has passed) in one
    statement, and return the count."""
    window = timedelta(seconds=settings.MINQING_LOGIN_FAILURE_WINDOW_SECONDS)
    table, key_column = _table(), connection.ops.quote_name("key")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_column}, failures, window_started_at, locked_until, refused, expires_at) "
            f"VALUES (%s, 1, %s, NULL, 0, %s) "
            f"ON CONFLICT ({key_column}) DO UPDATE SET "
            f"failures = CASE WHEN {table}.window_started_at < %s THEN 1 ELSE {table}.failures + 1 END, "
            f"window_started_at = CASE WHEN {table}.window_started_at < %s THEN %s "
            f"ELSE {table}.window_started_at END, "
            f"expires_at = CASE WHEN {table}.window_started_at < %s THEN %s ELSE {table}.expires_at END "
            f"RETURNING failures",
            [
                key,
                _prep(now),
                _prep(now + window),
                _prep(now - window),
                _prep(now - window),
                _prep(now),
                _prep(now - window),
                _prep(now + window),
            ],
        )
        return int(cursor.fetchone()[0])


def _lock(key: str, now: datetime) -> datetime | None:
    """Lock `key` from now, unless it is locked already (so of two failures that reach the limit
    at once, one locks and audits). Returns the lock's end if this call placed it."""
    until = now + timedelta(seconds=settings.MINQING_LOGIN_LOCKOUT_SECONDS)
    window = timedelta(seconds=settings.MINQING_LOGIN_FAILURE_WINDOW_SECONDS)
    placed = (
        SignInThrottle.objects.filter(key=key)
        .exclude(locked_until__gt=now)
        .update(locked_until=until, failures=0, refused=0, window_started_at=until, expires_at=until + window)
    )
    return until if placed else None


def record_failure(username: str, ip: str | None) -> None:
    """A wrong password (or an unknown name): count it on the account and the address, audit it
    while under the limits, lock what reached its limit and audit that once."""
    now = timezone.now()
    with transaction.atomic():
        SignInThrottle.objects.filter(expires_at__lt=now).delete()
        counts = [(key, limit, _count_failure(key, now)) for key, limit in _keys(username, ip)]
        if all(count <= limit for _key, limit, count in counts):
            audit_account_event(
                action=AuditAction.ACCOUNT_LOGIN_FAILED, user=None, username=username, source_ip=ip, success=False
            )
        for key, limit, count in counts:
            if count >= limit:
                until = _lock(key, now)
                if until is not None:
                    audit_record(
                        stream=SYSTEM_STREAM,
                        actor=None,
                        action=AuditAction.ACCOUNT_LOCKED,
                        target_type="user" if key.startswith("user:") else "address",
                        target_id=0,
                        organisation_id=None,
                        changes={
                            "username": username[:150],
                            "locked": key,
                            "failures": count,
                            "until": until.isoformat(),
                        },
                        source_ip=ip,
                        success=False,
                        at=now,
                    )


def record_success(username: str) -> None:
    """The right password: the account's failures are forgotten (the address's are not: one
    account an attacker holds must not clear the count of their guesses at others)."""
    SignInThrottle.objects.filter(key=account_key(username)).exclude(locked_until__gt=timezone.now()).delete()
