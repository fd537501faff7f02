"""What the browser tests share: where Chromium is, a visitor (one person's browser context on
the live server, with the guards every page is held to) and signing in.

The guards: the pages are for offline intranets, so a request to any other host than the live
server is a defect (a CDN, a web font, an analytics script) and fails the test; so does any
console error or uncaught page error, and any answer of 500 or more. Every page visited is
screenshotted, full page, under var/screenshots/, so a reviewer can look at what the test saw."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desk": {"width": 1280, "height": 800}}
# tests.factories gives every persona this password.
PASSWORD = "Pass-word-123"


def chromium_path() -> str | None:
    """Debian's chromium (never a browser Playwright downloads); MINQING_CHROMIUM names another."""
    named = os.environ.get("MINQING_CHROMIUM")
    if named:
        return named if os.path.isfile(named) and os.access(named, os.X_OK) else None
    return shutil.which("chromium")


def has_cjk_font() -> bool:
    """Without a CJK font the screenshots show boxes for every Chinese character."""
    try:
        found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(found.stdout.strip())


def browser_missing() -> str | None:
    """Why the browser tests cannot run on this machine, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package: run `make setup`"
    if chromium_path() is None:
        return (
            "needs Debian's chromium: `make test` installs it where it can (root and apt-get), or set MINQING_CHROMIUM"
        )
    if not has_cjk_font():
        return "needs a CJK font (fonts-noto-cjk): `make test` installs it where it can (root and apt-get)"
    return None


def _slug(url: str) -> str:
    parts = urlsplit(url)
    text = f"{parts.path} {parts.query}".strip()
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "home"


class Visitor:
    """One person's browser: a context of its own (cookies, viewport, locale) and one page.

    Move through the site with `goto`, `click` and `submit`: each waits for the page the action
    leads to and screenshots it. A page that loaded without a screenshot (a navigation the test
    did not go through these) is reported at the end of the test."""

    def __init__(self, run: Run, context: Any, label: str, viewport: dict[str, int]) -> None:
        self.run, self.context, self.label, self.viewport = run, context, label, viewport
        self.page = context.new_page()
        self.unshot: list[str] = []
        self.page.on("load", lambda page: self.unshot.append(page.url))
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: run.problems.append(f"{label}: page error: {error}"))
        self.page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.run.problems.append(f"{self.label}: console error on {self.page.url}: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 500:
            self.run.problems.append(f"{self.label}: {response.status} from {response.url}")

    def url(self, path: str) -> str:
        return self.run.server + path

    def goto(self, path: str) -> Any:
        self.page.goto(self.url(path))
        return self.snap()

    def click(self, locator: Any) -> Any:
        """Click something that leads to another page (a link, a submit button)."""
        with self.page.expect_navigation():
            locator.click()
        return self.snap()

    def submit(self, key: str = "Enter") -> Any:
        """Press a key on what has the focus (Enter on a submit button) and land on the next page."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)
        return self.snap()

    def snap(self) -> Any:
        """Screenshot the page as it now stands, full page."""
        self.page.wait_for_load_state("load")
        self.run.shots += 1
        name = f"{self.run.name}-{self.run.shots:02d}-{self.label}-{_slug(self.page.url)}.png"
        self.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
        self.run.saved.append(name)
        self.unshot.clear()
        return self.page

    def fits(self) -> bool:
        """No horizontal scrolling: nothing wider than the viewport."""
        width = self.page.evaluate("document.scrollingElement.scrollWidth")
        return bool(width <= self.viewport["width"])

    def path(self) -> str:
        return urlsplit(self.page.url).path

    def style(self, selector: str, prop: str) -> str:
        """The computed value of a CSS property of the first element matching `selector`."""
        return str(self.page.eval_on_selector(selector, "(el, prop) => getComputedStyle(el)[prop]", prop))


class Run:
    """One test's browsers and what went wrong in them."""

    def __init__(self, browser: Any, server: str, name: str) -> None:
        self.browser, self.server, self.name = browser, server.rstrip("/"), name
        origin = urlsplit(self.server)
        self.origin = (origin.scheme, origin.netloc)
        self.visitors: list[Visitor] = []
        self.escaped: list[str] = []
        self.problems: list[str] = []
        self.saved: list[str] = []
        self.shots = 0

    def _route(self, route: Any) -> None:
        parts = urlsplit(route.request.url)
        if (parts.scheme, parts.netloc) == self.origin:
            route.continue_()
        else:
            self.escaped.append(route.request.url)
            route.abort("blockedbyclient")

    def visitor(self, viewport: str = "phone", label: str = "guest", *, bypass_csp: bool = False) -> Visitor:
        """A fresh browser context; `bypass_csp` lets a guard's own test reach the network layer
        that the pages' Content-Security-Policy would otherwise stop first."""
        size = VIEWPORTS[viewport]
        context = self.browser.new_context(
            viewport=size, locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=bypass_csp
        )
        context.set_default_timeout(15_000)
        context.route("**/*", self._route)
        visitor = Visitor(self, context, label, size)
        self.visitors.append(visitor)
        return visitor

    def finish(self) -> list[str]:
        """Close every browser; what the test must fail for."""
        failures = []
        for visitor in self.visitors:
            if visitor.unshot and not visitor.page.is_closed():
                missed = visitor.unshot[:-1] if visitor.unshot[-1] == visitor.page.url else visitor.unshot
                visitor.snap()  # the page it ended on
                failures += [f"{visitor.label}: page loaded without a screenshot: {url}" for url in missed]
            visitor.context.close()
        failures += [f"request left the machine: {url}" for url in self.escaped]
        return failures + self.problems


def sign_in(visitor: Visitor, user: Any, password: str = PASSWORD) -> None:
    """Sign in through the real login form, as a person would. Every test signs in here, so a
    second step (a one-time code) is added in this one place."""
    from casework.otp import asks_otp
    from tests.factories import enrol_otp, otp_code

    # A role that signs in with a one-time code has enrolled its authenticator (enrolment has its
    # own tests); the code it shows now is typed on the code step.
    device = enrol_otp(user) if asks_otp(user) else None
    page = visitor.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    visitor.click(page.locator("main form button[type=submit]"))
    if device is not None:
        assert visitor.path() == "/account/otp/verify/", f"{user.username} was not asked for a code: {page.url}"
        # A code is good once (django-otp refuses a replay): a second sign-in within the same 30
        # seconds types the next one, as a person would wait for it; it is within the tolerance.
        device.refresh_from_db()
        now_t = int((time.time() - device.t0) // device.step)
        page.fill("#id_code", otp_code(device, step=1 if device.last_t >= now_t else 0))
        visitor.click(page.locator("main form button[type=submit]"))
    assert visitor.path() == "/", f"sign-in as {user.username} did not reach home: {page.url}"
