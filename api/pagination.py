"""Keyset cursors: opaque to clients, no COUNT(*) and no OFFSET, so a page costs the same on
page one and page ten thousand. A cursor is base64 of a JSON list whose shape each list declares
(`decode_cursor(request, int)` for an id, `(datetime, int)` for a queue position); anything else
answers 400."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework.request import Request

from casework.errors import InvalidInput
from workflows.inputs import MAX_ID

MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 200


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _bad_cursor() -> InvalidInput:
    return InvalidInput(_("翻页参数无效。"), code="invalid_cursor", details={"field": "cursor"})


def _part(value: Any, kind: type) -> Any:
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
            raise _bad_cursor()
        return value
    if kind is datetime:
        if value is None:
            return None  # past the dated rows: a clock whose due time could not be reckoned
        if not isinstance(value, str) or len(value) > 40:
            raise _bad_cursor()
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise _bad_cursor()
        # In UTC, as the database compares it: an offset PostgreSQL cannot hold (over 15:59) or
        # a time that leaves the calendar when shifted (year 1 at +01:00, SQLite's conversion)
        # would fail in the query instead of answering 400.
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise _bad_cursor() from None
    raise AssertionError(kind)


def decode_cursor(request: Request, *kinds: type) -> tuple[Any, ...] | None:
    """The cursor of the request as a tuple of `kinds`, or None when there is none."""
    raw = request.query_params.get("cursor")
    if not raw:
        return None
    if len(raw) > MAX_CURSOR_LENGTH:
        raise _bad_cursor()
    try:
        padded = raw + "=" * (-len(raw) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise _bad_cursor() from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise _bad_cursor()
    return tuple(_part(value, kind) for value, kind in zip(values, kinds, strict=True))


def page_limit(request: Request, default: int = 50) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else 0
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(
            _("每页条数须在 1 到 %(n)d 之间。") % {"n": MAX_LIMIT}, code="invalid_limit", details={"field": "limit"}
        )
    return value


def next_link(request: Request, rows: list[Any], limit: int, key: Any) -> str | None:
    if len(rows) < limit:
        return None
    params = request.query_params.copy()
    params["cursor"] = encode_cursor(key(rows[-1]))
    return request.build_absolute_uri(request.path) + "?" + params.urlencode()
