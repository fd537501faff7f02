"""Keyset cursors: opaque to clients, no COUNT(*) and no OFFSET, so a page costs the same on
page one and page ten thousand."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.request import Request

from casework.errors import InvalidInput

MAX_LIMIT = 100


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(request: Request) -> list[Any] | None:
    raw = request.query_params.get("cursor")
    if not raw:
        return None
    try:
        padded = raw + "=" * (-len(raw) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list):
            raise ValueError
        return values
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(_("翻页参数无效。"), code="invalid_cursor", details={"field": "cursor"}) from None


def page_limit(request: Request, default: int = 50) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
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
