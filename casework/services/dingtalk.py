"""Posting to a DingTalk / 浙政钉 group robot (自定义机器人), as DingTalk documents it.

A robot with the "加签" security setting takes requests whose URL carries `timestamp` (now, in
milliseconds) and `sign`: base64 of HMAC-SHA256 over "<timestamp>\\n<secret>" keyed with the
secret, URL-encoded. DingTalk refuses a timestamp more than an hour from its clock, so the
signature is made at the moment of sending, never stored. The answer is JSON; `errcode` other
than 0 is a refusal (a bad signature, a keyword missing, too many messages a minute), which the
outbox treats as a failure to retry. Plain `urllib`: one POST needs no extra dependency."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings

from casework.models import DingTalkRobot


class DingTalkError(Exception):
    """The robot did not take the message; the text says why (for `last_error`)."""


def sign(secret: str, timestamp_ms: int) -> str:
    """The `sign` parameter for `timestamp_ms`, URL-encoded as DingTalk expects."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def signed_url(webhook_url: str, secret: str, timestamp_ms: int | None = None) -> str:
    timestamp_ms = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    joiner = "&" if urllib.parse.urlsplit(webhook_url).query else "?"
    return f"{webhook_url}{joiner}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def message(robot_format: str, title: str, body: str, mobile: str = "") -> dict[str, Any]:
    """The JSON DingTalk takes: a "markdown" or "text" message, with the recipient @-mentioned
    by mobile when one is known (a markdown message shows the @ only if the text names it)."""
    at = {"atMobiles": [mobile] if mobile else [], "isAtAll": False}
    mention = f" @{mobile}" if mobile else ""
    if robot_format == DingTalkRobot.Format.TEXT:
        content = f"{title}\n{body}".strip() + mention
        return {"msgtype": "text", "text": {"content": content}, "at": at}
    text = f"#### {title}\n\n{body}".strip()
    if mention:
        text += f"\n\n{mention.strip()}"
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": at}


def post(robot: DingTalkRobot, payload: dict[str, Any]) -> None:
    """Send `payload` to `robot`; raises `DingTalkError` unless DingTalk answers errcode 0."""
    request = urllib.request.Request(
        signed_url(robot.webhook_url, robot.secret),
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.MINQING_DINGTALK_TIMEOUT) as response:
            raw = response.read(64 * 1024)
    except urllib.error.HTTPError as error:
        raise DingTalkError(f"HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        raise DingTalkError(f"unreachable: {getattr(error, 'reason', error)}") from None
    try:
        answer = json.loads(raw)
    except ValueError:
        raise DingTalkError(f"not JSON: {raw[:100]!r}") from None
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        code = answer.get("errcode") if isinstance(answer, dict) else None
        text = answer.get("errmsg") if isinstance(answer, dict) else answer
        raise DingTalkError(f"errcode {code}: {text}")
