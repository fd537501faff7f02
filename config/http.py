"""HTTP helpers both front doors (the API and the pages) share."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


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
