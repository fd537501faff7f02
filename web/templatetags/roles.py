"""`user|has_role:"leadership"` for the header's links: the roles are read once per request
(casework.access caches them on the user)."""

from __future__ import annotations

from typing import Any

from django import template

from casework import access

register = template.Library()


@register.filter
def has_role(user: Any, role: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return role in access.roles_of(user)


@register.filter
def may_decide_referrals(user: Any) -> bool:
    """Staff who decide on the info reports lower organisations send up (the header's link)."""
    if user is None or not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return False
    return access.may_decide_referrals(user)
