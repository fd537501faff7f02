"""HTTP helpers both front doors (the API and the pages) share."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str | None:
    """The address a request came from, for the audit trail. `X-Forwarded-For` only when the
    deployment says it sits behind its own proxy (MINQING_TRUST_X_FORWARDED_FOR)."""
    if settings.MINQING_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")
