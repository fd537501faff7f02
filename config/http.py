"""HTTP helpers both front doors (the API and the pages) share."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpResponse


def client_ip(request: Any) -> str | None:
    """The address a request came from, for the audit trail. `X-Forwarded-For` only when the
    deployment says it sits behind its own proxy (MINQING_TRUST_X_FORWARDED_FOR)."""
    if settings.MINQING_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        # The header is the client's to write: what is not an address would fail to store
        # (PostgreSQL's inet: a 500) or stand in the audit trail as one.
        try:
            return str(ipaddress.ip_address(forwarded))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR")


def attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    """A file to save, not to show: its name in ASCII for old clients and in full (RFC 5987
    `filename*`, UTF-8) for the rest, and never kept by a cache on the way."""
    response = HttpResponse(content, content_type=content_type)
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "download"
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "no-store"
    return response
