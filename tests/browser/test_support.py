"""Where the browser tests cannot run, they say why (these run everywhere, browser or not)."""

from __future__ import annotations

import pytest

from tests.browser.support import browser_missing


@pytest.mark.parametrize("setting", ["/nonexistent/chromium", ""])
def test_a_missing_chromium_is_named_as_the_reason(monkeypatch, tmp_path, setting):
    monkeypatch.setenv("MINQING_CHROMIUM", setting)
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium on it
    assert "needs Debian's chromium" in (browser_missing() or "")
