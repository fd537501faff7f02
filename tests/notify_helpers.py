"""A stand-in DingTalk robot for the tests: a local HTTP server (no internet here) that checks
each request's signature as DingTalk does and answers what the test scripts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from casework.choices import NotificationKind
from casework.models import DingTalkRobot, Notification
from casework.services.notifications import notify

SECRET = "SECtest0123456789abcdef"


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    signature_ok: bool


@dataclass
class RobotServer:
    """Answers with `answers` in turn (the last one again once they run out)."""

    secret: str = SECRET
    answers: list[tuple[int, Any]] = field(default_factory=lambda: [(200, {"errcode": 0, "errmsg": "ok"})])
    received: list[Received] = field(default_factory=list)

    def start(self) -> RobotServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = base64.b64encode(
                    hmac.new(
                        server.secret.encode(), f"{query.get('timestamp')}\n{server.secret}".encode(), hashlib.sha256
                    ).digest()
                ).decode()
                server.received.append(
                    Received(parts.path, query, json.loads(raw), hmac.compare_digest(query.get("sign", ""), expected))
                )
                index = min(len(server.received), len(server.answers)) - 1
                status, answer = server.answers[index]
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/robot/send?access_token=tok123"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def robot(org: Any, url: str, *, committee: Any = None, fmt: str = DingTalkRobot.Format.MARKDOWN) -> DingTalkRobot:
    return DingTalkRobot.objects.create(
        organisation=org, committee=committee, name="测试机器人", webhook_url=url, secret=SECRET, message_format=fmt
    )


def tell(
    user: Any, key: str = "k1", title: str = "案件即将超期", body: str = "「学校门口接送拥堵」审核还剩 1 个工作日。"
):
    """One notification to `user`, as the sweep would send it."""
    (created,) = notify(
        recipients=[user],
        organisation_id=user.organisation_id,
        kind=NotificationKind.CLOCK_WARNING,
        title=title,
        body=body,
        dedupe_key=key,
    )
    return created


def notification(user: Any, key: str) -> Notification:
    return Notification.objects.get(recipient=user, dedupe_key=key)
