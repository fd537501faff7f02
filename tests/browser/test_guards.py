"""The guards every browser test relies on catch what they are there to catch: a request to
another host, a console or page error, a page left without a screenshot."""

from __future__ import annotations

import pytest

from tests.browser.support import SCREENSHOTS, Run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def run(request, chromium, live_server):
    return Run(chromium, live_server.url, request.node.name)


def test_a_request_to_another_host_is_stopped_and_fails_the_test(run):
    # The pages' CSP blocks such a request in the browser already; the guard is the second line,
    # for what a policy allows (or a page served without one), so it is tested without the first.
    visitor = run.visitor("desk", "guest", bypass_csp=True)
    page = visitor.goto("/login/")
    page.evaluate(
        """() => new Promise(done => {
             const img = document.createElement("img");
             img.onerror = img.onload = done;
             img.src = "https://cdn.example.com/logo.png";
             document.body.append(img);
           })"""
    )
    failures = run.finish()
    assert "request left the machine: https://cdn.example.com/logo.png" in failures
    assert run.escaped == ["https://cdn.example.com/logo.png"]


def test_console_and_page_errors_fail_the_test(run):
    visitor = run.visitor("phone", "guest")
    page = visitor.goto("/login/")
    page.evaluate("console.error('boom')")
    page.evaluate("setTimeout(() => { throw new Error('kaboom') }, 0)")
    page.wait_for_timeout(200)
    failures = run.finish()
    assert any("console error" in f and "boom" in f for f in failures), failures
    assert any("page error" in f and "kaboom" in f for f in failures), failures


def test_a_page_visited_without_a_screenshot_is_reported_and_each_shot_is_saved(run):
    visitor = run.visitor("phone", "guest")
    visitor.goto("/login/")
    visitor.page.goto(visitor.url("/login/?next=/"))  # around the helpers: no screenshot
    visitor.page.goto(visitor.url("/login/?next=/queues/"))
    failures = run.finish()
    assert failures == [f"guest: page loaded without a screenshot: {run.server}/login/?next=/"]
    # The first page and the one it ended on were saved, full page, named after the test.
    assert len(run.saved) == 2 and run.saved[0].startswith(f"{run.name}-01-guest-login")
    assert all((SCREENSHOTS / name).stat().st_size > 1000 for name in run.saved)


def test_a_clean_page_passes_and_a_page_wider_than_the_phone_is_seen(run):
    visitor = run.visitor("phone", "guest")
    page = visitor.goto("/login/")
    assert visitor.fits()
    page.evaluate(
        """() => {
             const wide = document.createElement("div");
             wide.style.width = "500px";
             wide.textContent = "宽";  // an empty box adds no scrollable overflow
             document.body.append(wide);
           }"""
    )
    assert not visitor.fits()
    assert run.finish() == []


def test_with_the_browser_running_the_test_keeps_its_own_database_connection(run):
    """Playwright marks its loop running on this thread; Django would then hand the test other
    connections than the set-up ones, and a transactional test's reset would skip restoring
    the data the migrations seeded (the clock policies, the calendar)."""
    from django.db import connections

    from casework.models import ClockPolicy

    run.visitor("desk", "guest").goto("/login/")
    assert hasattr(connections["default"], "_test_serialized_contents")
    assert ClockPolicy.objects.filter(organisation=None).count() == 4
    assert run.finish() == []


def test_the_pages_policy_stops_a_request_to_another_host_before_it_leaves(run):
    visitor = run.visitor("desk", "guest")
    page = visitor.goto("/login/")
    page.evaluate(
        """() => new Promise(done => {
             const img = document.createElement("img");
             img.onerror = img.onload = done;
             img.src = "https://cdn.example.com/logo.png";
             document.body.append(img);
           })"""
    )
    failures = run.finish()
    assert run.escaped == []
    assert any("Content Security Policy" in f and "cdn.example.com" in f for f in failures), failures
