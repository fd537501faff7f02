"""Fixtures of the browser tests: one headless Chromium per test module, the live server, and
`browse`, which opens a signed-in browser for a person at a phone's or a desk's size.

Tests here are marked `browser` (the top conftest skips them where Chromium cannot run and fails
the run instead under MINQING_REQUIRE_SERVICES=1) and are transactional: the live server
answers from another thread, which must see what the test wrote."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections

from tests.browser.support import SCREENSHOTS, Run, Visitor, chromium_path, sign_in


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser for a module's tests (starting it costs about a second); each test gets fresh
    contexts.

    Playwright's synchronous API marks its event loop as running on this thread between its
    calls. Django then takes the thread for async code: it refuses database calls (allowed here
    while the browser runs) and, worse, keeps a second set of connections for it, so the tests
    would talk to the database on other connections than the live server's, and a transactional
    test's reset would not find the data the migrations seeded and so not restore it. The
    thread's own connections are put in that second set too: one set, whatever the loop."""
    from playwright.sync_api import sync_playwright

    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    own = {alias: connections[alias] for alias in connections}
    playwright = sync_playwright().start()
    for alias, connection in own.items():
        setattr(connections._connections, alias, connection)  # the set Django uses while the loop runs
    assert all(connections[alias] is connection for alias, connection in own.items())
    try:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def browser_run(request, chromium, live_server) -> Iterator[Run]:
    """The test's browsers; at its end, the test fails for any request that left the machine, any
    console or page error, any 5xx answer, any page loaded without a screenshot."""
    name = re.sub(r"[^A-Za-z0-9_]+", "-", request.node.name).strip("-")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob(f"{name}-*.png"):
        old.unlink()
    run = Run(chromium, live_server.url, name)
    yield run
    failures = run.finish()
    if failures:
        pytest.fail("the browser saw:\n  " + "\n  ".join(failures), pytrace=False)


@pytest.fixture
def browse(browser_run) -> Callable[..., Visitor]:
    """browse(user, "phone" | "desk"): a browser signed in as `user` (None: signed out), in
    Chinese, at a 360×740 phone's or a 1280×800 desk's size."""

    def open_browser(user: Any, viewport: str = "phone", label: str | None = None) -> Visitor:
        visitor = browser_run.visitor(viewport, label or (user.username if user is not None else "guest"))
        if user is not None:
            sign_in(visitor, user)
        return visitor

    return open_browser
