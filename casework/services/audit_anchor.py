"""Anchors: each checkpoint's digest, appended outside the database.

The database can be rewritten by whoever administers it; an append-only file on the application
server (by default `var/audit-anchors-<database>.log`; make it append-only with `chattr +a`, ship
it to a log host), and optionally syslog or a command of your own, cannot be rewritten from the
database. `verify_audit` reads the file back and names a checkpoint chain that disagrees with it:
a checkpoint missing, rewritten, or a chain cut back to an earlier state.

The append happens after the checkpoint commits (no I/O inside a transaction). If the process
dies between the commit and the append, the checkpoint is in the database but not in the file;
the next checkpoint run (AUDIT_CHECKPOINT_SECONDS later) appends every checkpoint the file lacks
before its own, so a lost append is repaired and the window it opens is one checkpoint interval.
Checkpoints cannot be forged without the audit key, so one the file lacks is a lost append, not
an attack: verification reports it as a warning.

A line is one JSON object:
  {"anchor":1,"seq":12,"hash":…,"prev":…,"key":…,"at":…,"events":<last event id>,"heads":<n>}
After a database is restored from an older backup, `verify_audit --acknowledge-restore REASON`
appends {"restore":1,"seq":K,"hash":…,"at":…,"reason":…}: the chain now ends at checkpoint K,
and anchors after K written before the marker belong to the abandoned history."""

from __future__ import annotations

import fcntl
import json
import logging
import logging.handlers
import os
import re
import shlex
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from casework.models import AuditCheckpoint

log = logging.getLogger("minqing.audit")


def anchor_path() -> Path:
    if settings.AUDIT_ANCHOR_FILE:
        return Path(settings.AUDIT_ANCHOR_FILE)
    return Path(settings.VAR_DIR) / f"audit-anchors-{database_label()}.log"


def database_label() -> str:
    """The database's name, safe in a file name: anchors and verification state are per database."""
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite":
        name = Path(name).stem
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "default"


def anchor_line(checkpoint: AuditCheckpoint) -> str:
    return json.dumps(
        {
            "anchor": 1,
            "seq": checkpoint.seq,
            "hash": checkpoint.hash,
            "prev": checkpoint.prev_hash,
            "key": checkpoint.key_id,
            "at": checkpoint.created_at.isoformat(),
            "events": checkpoint.last_event_id,
            "heads": checkpoint.n_heads,
        },
        separators=(",", ":"),
    )


@dataclass
class AnchorLog:
    """What a read of the anchor file found. `anchored` maps a checkpoint seq to its anchored
    digest in the current history (after the last restore marker that applies)."""

    path: Path
    exists: bool = False
    anchored: dict[int, str] = field(default_factory=dict)
    conflicts: list[tuple[int, str, str]] = field(default_factory=list)  # seq, first digest, other
    abandoned: dict[int, str] = field(default_factory=dict)  # given up by an acknowledged restore
    malformed: list[int] = field(default_factory=list)  # line numbers
    restores: list[dict[str, Any]] = field(default_factory=list)
    end_offset: int = 0
    lines: int = 0

    @property
    def last_seq(self) -> int:
        return max(self.anchored, default=0)


def read_anchors(path: Path | None = None, *, offset: int = 0, known: dict[int, str] | None = None) -> AnchorLog:
    """Read the anchor file from byte `offset` (0: all of it); `known` carries what an earlier
    read up to `offset` found. A last line without its newline is a torn append: left for the
    next read (the next append starts on a fresh line)."""
    path = path or anchor_path()
    result = AnchorLog(path=path, anchored=dict(known or {}), end_offset=offset)
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return result
    result.exists = True
    position = offset
    with handle:
        handle.seek(offset)
        for raw in handle:  # line by line: a year of checkpoints a minute is over 100 MB
            if not raw.endswith(b"\n"):
                break  # a torn last append: left for the next read
            position += len(raw)
            result.lines += 1
            try:
                record = json.loads(raw)
                seq, digest = int(record["seq"]), str(record["hash"])
            except (ValueError, KeyError, TypeError):
                if raw.strip():
                    result.malformed.append(result.lines)
                continue
            if record.get("restore"):
                result.restores.append(record)
                for later in [s for s in result.anchored if s > seq]:
                    result.abandoned[later] = result.anchored.pop(later)
                result.conflicts = [c for c in result.conflicts if c[0] <= seq]
                continue
            have = result.anchored.get(seq)
            if have is None:
                result.anchored[seq] = digest
            elif have != digest:
                result.conflicts.append((seq, have, digest))
    result.end_offset = position
    return result


def _records_backwards(handle: Any) -> Iterator[dict[str, Any]]:
    """The file's well-formed records, last first (read from the end in blocks)."""
    pos = handle.seek(0, os.SEEK_END)
    rest = b""
    while pos > 0:
        step = min(1 << 16, pos)
        pos -= step
        handle.seek(pos)
        block = handle.read(step) + rest
        lines = block.split(b"\n")
        rest = lines[0] if pos else b""
        for raw in reversed(lines[1:] if pos else lines):
            try:
                record = json.loads(raw)
                int(record["seq"])
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(record, dict):
                yield record


def _anchored_in_tail(handle: Any, seq: int) -> tuple[int, str | None]:
    """The seq the file's current history ends at, and the digest it anchors for `seq` (None if
    it anchors none: not yet, or only in a history a restore marker gave up)."""
    last: int | None = None
    for record in _records_backwards(handle):
        at = int(record["seq"])
        if last is None:
            last = at
        if record.get("restore"):
            if at < seq:
                break
            continue
        if at == seq:
            return last, str(record.get("hash"))
        if at < seq:
            break
    return last or 0, None


def _append(path: Path, lines: list[str], *, upto: AuditCheckpoint | None) -> list[str]:
    """Append `lines` under an exclusive lock, so two processes anchoring at once neither
    interleave nor repeat. With `upto` (a committed checkpoint, `lines` its own line): first every
    checkpoint between the file's last one and it, and nothing if the file has it already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        written = list(lines)
        if upto is not None:
            last, have = _anchored_in_tail(handle, upto.seq)
            if have == upto.hash:
                return []
            if upto.seq > last:
                missing = (
                    AuditCheckpoint.objects.exclude(key_id="").filter(seq__gt=last, seq__lt=upto.seq).order_by("seq")
                )
                written = [anchor_line(c) for c in missing] + written
            else:
                # The database's chain ends at or below what the file anchors, with another
                # digest: it was cut back or restored. Anchor what it did; verification names it.
                log.error(
                    "审计检查点 #%s 与锚文件不一致（锚文件已到 #%s）：数据库的检查点链被回退或恢复过 "
                    "(checkpoint chain disagrees with its anchors: restored or cut back)",
                    upto.seq,
                    last,
                )
        size = handle.seek(0, os.SEEK_END)
        if size:
            handle.seek(size - 1)
            if handle.read(1) != b"\n":  # a torn append of a process that died: start afresh
                handle.write(b"\n")
        handle.write("".join(line + "\n" for line in written).encode())
        handle.flush()
        os.fsync(handle.fileno())
    return written


_syslog: dict[str, logging.Logger] = {}


def _to_syslog(address: str, lines: Iterable[str]) -> None:
    logger = _syslog.get(address)
    if logger is None:
        if address.startswith("/"):
            target: Any = address
        else:
            host, _, port = address.rpartition(":")
            target = (host or address, int(port) if port.isdigit() else 514)
        handler = logging.handlers.SysLogHandler(address=target)
        handler.setFormatter(logging.Formatter("minqing-audit: %(message)s"))
        logger = logging.getLogger(f"minqing.audit.anchor.{len(_syslog)}")
        logger.propagate = False
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        _syslog[address] = logger
    for line in lines:
        logger.info(line)


def _to_command(command: str, lines: list[str]) -> None:
    subprocess.run(
        shlex.split(command), input="".join(line + "\n" for line in lines), text=True, timeout=30, check=True
    )


def anchor_checkpoint(checkpoint: AuditCheckpoint) -> None:
    """Append a committed checkpoint (and any earlier one the file lacks) to every sink. Runs after
    commit; a failure is logged, and the next checkpoint run repairs the file."""
    try:
        written = _append(anchor_path(), [anchor_line(checkpoint)], upto=checkpoint)
    except Exception:
        log.exception("审计锚点写入失败 (anchor append failed); the next checkpoint run retries")
        return
    if not written:
        return
    if settings.AUDIT_ANCHOR_SYSLOG:
        try:
            _to_syslog(settings.AUDIT_ANCHOR_SYSLOG, written)
        except Exception:
            log.exception("审计锚点写入 syslog 失败 (anchor to syslog failed)")
    if settings.AUDIT_ANCHOR_COMMAND:
        try:
            _to_command(settings.AUDIT_ANCHOR_COMMAND, written)
        except Exception:
            log.exception("审计锚点命令失败 (anchor command failed)")


def repair_anchors() -> list[str]:
    """Append every keyed checkpoint the anchor file lacks (after the file's last one)."""
    last = AuditCheckpoint.objects.exclude(key_id="").order_by("-seq").first()
    if last is None:
        return []
    return _append(anchor_path(), [anchor_line(last)], upto=last)


def append_restore_marker(checkpoint: AuditCheckpoint | None, reason: str) -> str:
    line = json.dumps(
        {
            "restore": 1,
            "seq": checkpoint.seq if checkpoint else 0,
            "hash": checkpoint.hash if checkpoint else "",
            "at": timezone.now().isoformat(),
            "reason": reason,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    _append(anchor_path(), [line], upto=None)
    return line
