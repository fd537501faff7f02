"""The header's unread badge, for every page: one count over the partial index of unread
notifications, and only for a signed-in user (the sign-in page costs no query)."""

from __future__ import annotations

from typing import Any

from django import template

from casework import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: dict[str, Any]) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return selectors.unread_count(user)
