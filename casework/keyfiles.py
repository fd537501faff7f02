"""Key rings kept outside the database, one mechanism for every kind of key (the audit trail's,
personal data's): inline from the environment (a secret store), or a key file that the embedded
default generates, mode 0600, the first time a key is asked for.

A process reads its keys once and again whenever their source changes (the variable's value, or
the file's inode, size or time), so a key added by another process is seen without a restart.
A key is added by appending a line to the file, replaced atomically (never half-written) under a
lock, so two additions at once both stay."""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

Ring = TypeVar("Ring")


def write_new_file(path: Path, text: str) -> Path:
    """Write `text` to a fresh temporary file beside `path`, mode 0600, flushed to disk."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


@dataclass
class KeySource(Generic[Ring]):
    """Where one kind of key comes from. `inline` and `path` read the settings when asked (tests
    change them); `parse(text, source)` makes the ring and refuses a malformed one; `new_line()`
    is a fresh key's line; `generated` (two %s: the path) and `loose` (one %s) are what the log
    says when a file is made or found readable by others."""

    env_name: str
    inline: Callable[[], str]
    path: Callable[[], Path]
    header: str
    new_line: Callable[[], str]
    parse: Callable[[str, str], Ring]
    log: logging.Logger
    generated: str
    loose: str
    _token: Any = field(default=None, repr=False)
    _ring: Any = field(default=None, repr=False)

    def keyring(self) -> Ring:
        inline = self.inline()
        if inline:
            token: tuple[Any, ...] = ("env", inline)
            if self._token != token:
                self._ring, self._token = self.parse(inline, self.env_name), token
            ring: Ring = self._ring
            return ring
        path = self.path()
        try:
            st = path.stat()
        except FileNotFoundError:
            self._generate(path)
            st = path.stat()
        token = ("file", str(path), st.st_ino, st.st_mtime_ns, st.st_size)
        if self._token != token:
            if st.st_mode & 0o077:
                self.log.warning(self.loose, path)
            self._ring, self._token = self.parse(path.read_text(), str(path)), token
        ring = self._ring
        return ring

    def append_key(self) -> Ring:
        """Add a new key as the file's last line (the one that signs or encrypts from now on);
        the ring with it. Keys from the environment are added there, not here: the caller says so."""
        assert not self.inline(), "keys from the environment are added in the environment"
        path = self.path()
        self.keyring()  # makes the file if there is none yet, and checks it
        lock = path.with_name(f".{path.name}.lock")
        with open(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            text = path.read_text()
            if not text.endswith("\n"):
                text += "\n"
            text += self.new_line()
            ring = self.parse(text, str(path))
            os.replace(write_new_file(path, text), path)
        return ring

    def _generate(self, path: Path) -> None:
        """The embedded default: a new key file, created atomically (the link fails if another
        process made one meanwhile, and then that one is used), mode 0600."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = write_new_file(path, self.header + self.new_line())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return
        finally:
            os.unlink(tmp)
        self.log.warning(self.generated, path, path)
