"""Shared fixtures and the markers for real services.

Tests marked `postgres` or `redis` run only where those servers are configured (CI exports
DATABASE_URL and REDIS_URL); elsewhere they are skipped with the reason shown. With
MINQING_REQUIRE_SERVICES=1 (CI) a configured server that does not answer fails the run
instead of skipping silently. Tests marked `browser` drive Debian's chromium: skipped where it
(or a CJK font) is missing, and under MINQING_REQUIRE_SERVICES=1 the run fails instead."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.utils import translation

from tests.browser.support import browser_missing
from tests.factories import World, make_world

REQUIRE = os.environ.get("MINQING_REQUIRE_SERVICES") == "1"


def _redis_answers() -> bool:
    url = settings.REDIS_URL
    if not url:
        return False
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except Exception:
        if REQUIRE:
            raise
        return False


def pytest_collection_modifyitems(config, items):
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    redis_ok = None
    no_browser: str | None = None
    if any(item.get_closest_marker("browser") for item in items):
        no_browser = browser_missing()
        if no_browser and REQUIRE:
            raise pytest.UsageError(f"MINQING_REQUIRE_SERVICES=1 but the browser tests cannot run: {no_browser}")
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            # A transactional test ends with a flush, which takes the data the migrations seeded
            # (roles, the calendar) and, unless it is serialized, breaks the next serialized one.
            raise pytest.UsageError(f"{item.nodeid}: a transactional test needs serialized_rollback=True")
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://… (CI does)"))
        if "redis" in item.keywords:
            if redis_ok is None:
                redis_ok = _redis_answers()
            if not redis_ok:
                item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://… (CI does)"))
        if no_browser and item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=f"browser test {no_browser}"))
    if REQUIRE and not on_postgres:
        raise pytest.UsageError("MINQING_REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL")


@pytest.fixture
def client_for():
    """An API client signed in with the user's token."""
    from rest_framework.test import APIClient

    from tests.factories import token_key

    def make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_key(user)}")
        return client

    return make


@pytest.fixture(autouse=True)
def _sign_in_rate_of_the_test():
    """The token endpoint's per-address rate is counted in the cache. The database cache rolls
    back with each test, Redis (CI) does not: there the tests' address starts each test afresh,
    or the sign-ins of earlier tests would answer 429."""
    if settings.REDIS_URL:
        from django.core.cache import cache

        cache.delete("throttle_token_127.0.0.1")


@pytest.fixture(autouse=True)
def _force_login_passes_the_second_factor(monkeypatch):
    """`client.force_login(user)` signs in as after the whole sign-in: with the second factor
    verified for those who use one (tests.factories.login_verified). The sign-in steps
    themselves are tested through the real pages."""
    from django.test import Client

    from tests.factories import login_verified

    monkeypatch.setattr(Client, "force_login", lambda client, user, backend=None: login_verified(client, user))


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture(scope="session", autouse=True)
def audit_key_file(tmp_path_factory):
    """One audit key file for the session, generated on first use as the embedded default does;
    nothing of the tests' goes into the real var/ (module-scoped fixtures run before the
    per-test ones below, so the session's settings are set here, for the whole run)."""
    from django.conf import settings as django_settings

    root = tmp_path_factory.mktemp("audit")
    saved = {name: getattr(django_settings, name) for name in ("AUDIT_KEYS", "AUDIT_KEY_FILE", "AUDIT_ANCHOR_FILE")}
    django_settings.AUDIT_KEYS = ""
    django_settings.AUDIT_KEY_FILE = str(root / "audit-keys")
    django_settings.AUDIT_ANCHOR_FILE = str(root / "session-anchors.log")
    saved["PII_KEYS"], saved["PII_KEY_FILE"] = django_settings.PII_KEYS, django_settings.PII_KEY_FILE
    django_settings.PII_KEYS = ""
    django_settings.PII_KEY_FILE = str(root / "pii-keys")
    yield root / "audit-keys"
    for name, value in saved.items():
        setattr(django_settings, name, value)


@pytest.fixture(autouse=True)
def _audit_files_of_the_test(settings, audit_key_file, tmp_path):
    # Anchors and verification state are per database; each test's database is its own, so are they.
    settings.AUDIT_KEYS = ""
    settings.AUDIT_KEY_FILE = str(audit_key_file)
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "audit-anchors.log")
    settings.VAR_DIR = tmp_path
    settings.PII_KEYS = ""
    settings.PII_KEY_FILE = str(audit_key_file.parent / "pii-keys")


@pytest.fixture(autouse=True)
def _checkpoint_without_settling(settings):
    # The tests checkpoint events they wrote a moment ago.
    settings.AUDIT_CHECKPOINT_SETTLE_SECONDS = 0


@pytest.fixture(autouse=True)
def _calendar_for_now(request):
    """Tests file cases at the real now, and their clocks reach some weeks ahead: from late
    December that is next year, whose notice may not be published yet (its absence is an error
    by design, tested on its own). The years of now are given a weekends-only calendar here when
    the seed has none, so a test does not change with the day it runs on."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction") or "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        yield
        return
    from django.utils import timezone as tz

    from casework.models import CalendarYear
    from casework.services.deadlines import forget_calendar
    from casework.services.policies import forget_policies

    this_year = tz.localdate().year
    for year in (this_year, this_year + 1):
        CalendarYear.objects.get_or_create(year=year, defaults={"source": "测试：只有周末（该年通知尚未录入）"})
    # A rolled-back test's edits send no signal: each test reads the calendar and policies afresh.
    forget_calendar()
    forget_policies()
    yield
    forget_calendar()
    forget_policies()


@pytest.fixture(autouse=True)
def _default_language():
    # A page request in English leaves English active in the thread; the next test starts in
    # the deployment's language, as a new request would.
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~0.3 s a user; the personas of every test would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
