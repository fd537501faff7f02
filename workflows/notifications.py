"""A user's own notifications and the channels they are told by: the changes the API and the
pages make, through this layer like every other change (they never call the domain's services).

The channel settings are checked strictly, in one place for both callers: a body that is not an
object, an empty one, a field we do not know or a value of the wrong type answers one clear
error and changes nothing; a field is never half-applied."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from casework.errors import InvalidInput
from casework.models import DingTalkRobot, Notification, User
from casework.services import notifications, outbox

SETTINGS_FIELDS = ("email", "dingtalk", "mobile")
MOBILE = re.compile(r"(1[0-9]{10})?")  # fullmatch: "$" would let a trailing newline in


def mark_read(user: User, notification_id: int) -> Notification:
    return notifications.mark_read(user, notification_id)


def mark_all_read(user: User) -> int:
    return notifications.mark_all_read(user)


def retry_deliveries(delivery_ids: list[int]) -> int:
    """The admin's "retry now": failed deliveries get a fresh round of attempts."""
    with transaction.atomic():
        return outbox.retry_failed(delivery_ids)


def try_robot(robot: DingTalkRobot) -> str | None:
    """The admin's check of a robot's address and secret: the error, or None when it answered."""
    return outbox.send_test_message(robot)


def clean_settings(data: Any) -> dict[str, Any]:
    """The changes `data` asks for, or `InvalidInput` naming every field that is wrong."""
    if not isinstance(data, Mapping):
        raise InvalidInput(_("请求内容应为 JSON 对象。"), code="invalid_body")
    unknown = sorted(str(name) for name in data if name not in SETTINGS_FIELDS)
    if unknown:
        raise InvalidInput(
            _("不认识的设置项：%(names)s。") % {"names": "、".join(unknown)},
            code="unknown_field",
            details={"field": unknown[0], "fields": {name: _("不认识的设置项。") for name in unknown}},
        )
    if not data:
        raise InvalidInput(_("请至少给出一项设置。"), code="invalid_body")
    errors: dict[str, str] = {}
    for name in ("email", "dingtalk"):
        if name in data and not isinstance(data[name], bool):
            errors[name] = _("应为 true 或 false。")
    if "mobile" in data:
        mobile = data["mobile"]
        if not isinstance(mobile, str) or not MOBILE.fullmatch(mobile):
            errors["mobile"] = _("手机号应为 11 位数字，以 1 开头；留空则不提供。")
    if errors:
        first = next(iter(errors))
        raise InvalidInput(errors[first], code="invalid", details={"field": first, "fields": errors})
    return {name: data[name] for name in SETTINGS_FIELDS if name in data}


def update_settings(user: User, data: Any) -> User:
    """Apply the channel settings in `data` to the user (see `clean_settings`)."""
    values = clean_settings(data)
    with transaction.atomic():
        return notifications.set_channels(user, **values)
