"""What the API's `Idempotency-Key` and `If-Match` do for its clients, done for the pages' forms.

- **Sent twice, done once.** A form that creates something (filing a concern) carries a one-off
  key drawn with the page (`once`). The key is taken as the change's first statement, and the new
  record's id written into it as its last, exactly as an API retry's key is: a second submission
  (a double tap on a phone, the browser's "resend" after a dropped connection) finds the key taken
  and is sent to what the first one made, creating nothing. Two submissions at the same moment:
  the second waits on the key's unique index until the first commits.
- **Drawn from a record that has since changed.** A form on a case's or an output's page carries
  the record's audit sequence number as drawn (`seen`); every audited change moves it. The action
  compares it under the row lock before deciding anything; if the record changed meanwhile (a
  colleague decided it, edited it, claimed it) nothing is done and the page says so, showing the
  record as it now stands. A form posted without it (an older page) is not checked."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from casework.errors import Conflict
from workflows import idempotency

ONCE = "once"
SEEN = "seen"
_ONCE = re.compile(r"[0-9a-f]{32}")


def new_once() -> str:
    return uuid.uuid4().hex


class Once:
    """One form submission's key, and what the first submission with it made."""

    def __init__(self, request: HttpRequest) -> None:
        raw = request.POST.get(ONCE, "")
        self.user_id: int = request.user.pk  # type: ignore[assignment]
        self.key = f"form:{raw}" if _ONCE.fullmatch(raw) else None
        self.path = request.path[:500]
        self.row_id: int | None = None

    def first(self) -> Callable[[], None] | None:
        if self.key is None:
            return None
        key = self.key

        def take() -> None:
            self.row_id = idempotency.take(user_id=self.user_id, key=key, method="POST", path=self.path, body_hash="")

        return take

    def then(self) -> Callable[[Any], None] | None:
        if self.key is None:
            return None

        def remember(record: Any) -> None:
            assert self.row_id is not None
            idempotency.answer(self.row_id, status=303, body=str(record.pk), headers={})

        return remember

    def earlier(self, error: IntegrityError) -> int | None:
        """The id the first submission made, when `error` is this key found taken; re-raises
        any other fault."""
        if self.key is None or self.row_id is not None:
            raise error
        found = idempotency.find(self.user_id, self.key)
        if found is None or found.path != self.path or not found.body.isdigit():
            raise error
        return int(found.body)


def unchanged_since(request: HttpRequest) -> Callable[[Any], None] | None:
    """The check that the record is still as the form was drawn from, or None without `seen`."""
    raw = request.POST.get(SEEN, "")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        return None
    seen = int(raw)

    def check(record: Any) -> None:
        if record.audit_seq != seen:
            raise Conflict(
                _("您打开页面后，这条记录已有新的变动（见下方记录）。本次操作未执行，请核对后再提交。"),
                code="changed_since_seen",
            )

    return check
