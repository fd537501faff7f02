"""The audit keys and what the audit digests are computed over.

Every event's digest is an HMAC under a key the database never holds: from the environment
(`MINQING_AUDIT_KEYS`) or a key file (`MINQING_AUDIT_KEY_FILE`, by default `var/audit-keys`,
generated with mode 0600 the first time it is needed, and logged). Whoever can write to the
database but lacks the key cannot make a digest that verifies, so an edit, an insertion or a
forged replacement tail is named by `verify_audit`.

A key file holds one key a line, `<key id> <64 hex digits>`; the last line signs new events and
every earlier one stays to verify the events it signed. A key id is `k<yyyymmdd>-<8 hex>`, the hex
part an HMAC of a fixed text under the key, so a key that does not belong to its id is refused on
loading. Rotation appends a line (`python manage.py audit_rotate_key`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings

from casework.keyfiles import KeySource

log = logging.getLogger("minqing.audit")

GENESIS = "0" * 64
# SM3 is the national standard (GM/T 0004); OpenSSL 3 builds usually offer it. Recorded on every
# event and checkpoint, so a chain stays verifiable on another build that offers its algorithm.
HASH = "sm3" if "sm3" in hashlib.algorithms_available else "sha256"
ALGORITHM = f"hmac-{HASH}"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_KEY_ID = re.compile(r"^k\d{8}-[0-9a-f]{8}$")
_FINGERPRINT_TEXT = b"minqing audit key id"
# One encoder, reused: json.dumps builds a new one on every call, which is most of its cost.
_ENCODE = json.JSONEncoder(sort_keys=True, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode


class AuditKeyError(RuntimeError):
    """The audit keys are missing, malformed or do not match their ids."""


@dataclass(frozen=True)
class AuditKey:
    id: str
    secret: bytes = b""
    rank: int = 0  # position in the key file: a later key never signs before an earlier one

    def __repr__(self) -> str:  # never print the secret
        return f"AuditKey({self.id!r}, rank={self.rank})"


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, AuditKey]
    current: AuditKey
    source: str

    def get(self, key_id: str) -> AuditKey | None:
        return self.keys.get(key_id)


def fingerprint(secret: bytes) -> str:
    return hmac.new(secret, _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()[:8]


def new_key_id(secret: bytes) -> str:
    # The wall clock, not timezone.now(): the demo seeding simulates that one.
    return f"k{datetime.now():%Y%m%d}-{fingerprint(secret)}"


def parse_keys(text: str, source: str) -> Keyring:
    """Lines (or comma-separated items) of `<key id> <hex>` or `<key id>:<hex>`; `#` comments."""
    keys: dict[str, AuditKey] = {}
    ordered: list[AuditKey] = []
    items = [item.strip() for raw in text.splitlines() for item in raw.split("#", 1)[0].split(",")]
    for line in items:
        if not line:
            continue
        parts = re.split(r"[\s:]+", line)
        if len(parts) != 2:
            raise AuditKeyError(f"{source}: a key line is '<key id> <64 hex digits>', got {len(parts)} fields")
        key_id, hexkey = parts
        if not _KEY_ID.match(key_id):
            raise AuditKeyError(f"{source}: malformed key id {key_id!r} (k<yyyymmdd>-<8 hex>)")
        try:
            secret = bytes.fromhex(hexkey)
        except ValueError:
            raise AuditKeyError(f"{source}: the key of {key_id} is not hex") from None
        if len(secret) < 32:
            raise AuditKeyError(f"{source}: the key of {key_id} is shorter than 32 bytes")
        if fingerprint(secret) != key_id[-8:]:
            raise AuditKeyError(f"{source}: the key on the line of {key_id} is not that key (fingerprint differs)")
        if key_id in keys:
            raise AuditKeyError(f"{source}: key {key_id} appears twice")
        key = AuditKey(key_id, secret, len(ordered))
        keys[key_id] = key
        ordered.append(key)
    if not ordered:
        raise AuditKeyError(f"{source}: no audit key")
    return Keyring(keys, ordered[-1], source)


KEY_FILE_HEADER = (
    "# Minqing audit keys (HMAC of every audit event). Keep this file secret, readable by the app only,\n"
    "# and back it up apart from the database: verify_audit needs every key that ever signed an event.\n"
    "# One key a line: <key id> <hex>. The last line signs new events; never delete a line.\n"
)


def key_file() -> Path:
    return Path(settings.AUDIT_KEY_FILE)


def _key_line(secret: bytes) -> str:
    return f"{new_key_id(secret)} {secret.hex()}\n"


SOURCE: KeySource[Keyring] = KeySource(
    env_name="MINQING_AUDIT_KEYS",
    inline=lambda: settings.AUDIT_KEYS,
    path=key_file,
    header=KEY_FILE_HEADER,
    new_line=lambda: _key_line(secrets.token_bytes(32)),
    parse=parse_keys,
    log=log,
    generated="生成了新的审计密钥文件 %s（权限 0600）。请与数据库分开备份：没有它无法校验审计链。"
    " (generated a new audit key file %s, mode 0600; back it up apart from the database: "
    "verify_audit needs it)",
    loose="审计密钥文件 %s 的权限过宽 (audit key file is readable by others): chmod 600",
)


def keyring() -> Keyring:
    """The keys, loaded once per process and again whenever their source changes (a rotation
    in another process is seen by the next event written here)."""
    return SOURCE.keyring()


def add_key() -> AuditKey:
    """Rotation: append a new key to the key file; it signs every event from now on. The file
    keeps every earlier key."""
    if settings.AUDIT_KEYS:
        raise AuditKeyError(
            "the keys come from MINQING_AUDIT_KEYS: add the new key there (last) and restart every process"
        )
    ring = SOURCE.append_key()
    log.warning(
        "新的审计密钥 %s 已写入 %s (audit key rotated); back up the key file again", ring.current.id, key_file()
    )
    return ring.current


_keyed: dict[tuple[str, bytes, str], Any] = {}


def mac(key: AuditKey, algorithm: str, message: bytes) -> str:
    """The HMAC of `message`. The key's inner and outer pads are computed once per key and copied
    for each message: a third of the cost of an HMAC-SM3 of an event (measured)."""
    h = keyed_base(key, algorithm).copy()
    h.update(message)
    digest: str = h.hexdigest()
    return digest


def micros(at: datetime) -> int:
    """An instant as integer microseconds since the epoch: exact, and the same from every database."""
    return (at - EPOCH) // _US


def event_message(
    *,
    key_id: str,
    stream: str,
    seq: int,
    organisation_id: int | None,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: int,
    at_us: int,
    source_ip: str | None,
    success: bool,
    changes: Any,
    prev_hash: str,
) -> bytes:
    """What an event's HMAC is computed over: every column but its id and its own digest, the key
    id included, as one canonical JSON array (JSON escapes what could make fields run together)."""
    return event_message_of(
        key_id,
        stream,
        seq,
        organisation_id,
        actor_id,
        action,
        target_type,
        target_id,
        at_us,
        source_ip,
        success,
        changes,
        prev_hash,
    )


def event_message_of(
    key_id: str,
    stream: str,
    seq: int,
    organisation_id: int | None,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: int,
    at_us: int,
    source_ip: str | None,
    success: bool,
    changes: Any,
    prev_hash: str,
) -> bytes:
    """`event_message` with positional arguments, for the verifier's loop (a keyword call costs
    a microsecond an event there)."""
    return _ENCODE(
        [
            "minqing-audit-event/2",
            key_id,
            stream,
            seq,
            organisation_id,
            actor_id,
            action,
            target_type,
            target_id,
            at_us,
            source_ip,
            success,
            changes,
            prev_hash,
        ]
    ).encode("ascii")


def keyed_base(key: AuditKey, algorithm: str) -> Any:
    """The HMAC state after the key, to copy for each message (see `mac`)."""
    base = _keyed.get((key.id, key.secret, algorithm))
    if base is None:
        if not algorithm.startswith("hmac-"):
            raise AuditKeyError(f"not a keyed algorithm: {algorithm}")
        base = _keyed[(key.id, key.secret, algorithm)] = hmac.new(key.secret, digestmod=algorithm[5:])
    return base


def heads_digest(algorithm: str, heads: Iterable[tuple[str, int, str]]) -> str:
    """A digest of a checkpoint's heads, sorted by stream (in Python: database collations differ)."""
    h = hashlib.new(algorithm.removeprefix("hmac-"))
    for row in sorted(heads):
        h.update(_ENCODE(list(row)).encode("ascii"))
        h.update(b"\n")
    return h.hexdigest()


def checkpoint_message(
    *,
    key_id: str,
    seq: int,
    prev_hash: str,
    created_us: int,
    last_event_id: int,
    resume_after: int,
    next_key_id: str,
    n_heads: int,
    heads: str,
) -> bytes:
    return _ENCODE(
        [
            "minqing-audit-checkpoint/2",
            key_id,
            seq,
            prev_hash,
            created_us,
            last_event_id,
            resume_after,
            next_key_id,
            n_heads,
            heads,
        ]
    ).encode("ascii")


# Events written before keys existed: an unkeyed digest over a JSON object. Verified as written,
# trusted only as far as the first keyed checkpoint sealed them (audit_verify).
def legacy_digest(algorithm: str, payload: dict[str, Any]) -> str:
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.new(algorithm, data.encode("utf-8")).hexdigest()


def legacy_payload(
    stream: str,
    seq: int,
    organisation_id: int | None,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: int,
    at: datetime,
    source_ip: str | None,
    success: bool,
    changes: Any,
    prev_hash: str,
) -> dict[str, Any]:
    return {
        "stream": stream,
        "seq": seq,
        "organisation": organisation_id,
        "actor": actor_id,
        "action": action,
        "target": [target_type, target_id],
        "at": at.astimezone(UTC).isoformat(),
        "ip": source_ip,
        "success": success,
        "changes": changes,
        "prev": prev_hash,
    }
