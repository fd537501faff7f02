"""The production posture: the production switch refuses a laptop's settings, HTTPS turns on
secure cookies, redirects and HSTS, `check --deploy` is clean, and every page carries a strict
Content-Security-Policy that the templates keep to (no inline script or style)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import django
import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.factories import World
from tests.helpers import do
from tests.web.test_pages import file_case

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = secrets.token_urlsafe(60)


def _env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The environment of a fresh process: this one's, less every setting of ours, plus these."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "MINQING_", "SESSION_", "AUDIT_")) and k != "DATABASE_URL"
    }
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "MINQING_VAR_DIR": str(tmp_path), **variables})
    return env


def _manage(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_env(tmp_path, **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings_of(tmp_path: Path, *names: str, **variables: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(tmp_path, **variables), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# The production switch ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({}, "needs DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "minqing-embedded-default-not-for-production"}, "needs DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "short-key"}, "at least 50 random characters"),
        ({"DJANGO_SECRET_KEY": GOOD_KEY, "DJANGO_DEBUG": "true"}, "refuses DJANGO_DEBUG"),
    ],
)
def test_production_refuses_to_start_with_a_laptops_settings(tmp_path, variables, says):
    """Nothing stopped a deployment from running on the key printed in the source, or with debug
    pages that show settings and data to anyone."""
    done = _manage(tmp_path, "check", MINQING_ENV="production", **variables)
    assert done.returncode != 0 and says in done.stderr, done.stderr[-2000:]


def test_a_misspelt_switch_stops_start_up_rather_than_falling_back(tmp_path):
    done = _manage(tmp_path, "check", MINQING_ENV="prod", DJANGO_SECRET_KEY=GOOD_KEY)
    assert done.returncode != 0 and "MINQING_ENV must be development or production" in done.stderr


def test_check_deploy_is_clean_with_the_production_variables(tmp_path):
    production = {"MINQING_ENV": "production", "DJANGO_SECRET_KEY": GOOD_KEY, "MINQING_HTTPS": "1"}
    done = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout and "WARNING" not in done.stdout + done.stderr
    # Without HTTPS the same check names what is missing: the test above is not vacuous.
    plain = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **{**production, "MINQING_HTTPS": "0"})
    assert plain.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in plain.stderr + plain.stdout, check


def test_https_and_the_proxy_header_follow_their_variables(tmp_path):
    names = (
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        "SESSION_COOKIE_HTTPONLY",
        "X_FRAME_OPTIONS",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY",
    )
    laptop = _settings_of(tmp_path, *names)
    assert laptop["SESSION_COOKIE_SECURE"] is False and laptop["SECURE_SSL_REDIRECT"] is False
    assert laptop["SECURE_HSTS_SECONDS"] == 0 and laptop["SECURE_PROXY_SSL_HEADER"] is None
    assert (laptop["SESSION_COOKIE_HTTPONLY"], laptop["X_FRAME_OPTIONS"]) == (True, "DENY")
    assert (laptop["SECURE_CONTENT_TYPE_NOSNIFF"], laptop["SECURE_REFERRER_POLICY"]) == (True, "same-origin")
    https = _settings_of(
        tmp_path,
        *names,
        MINQING_HTTPS="yes",
        MINQING_TRUST_X_FORWARDED_PROTO="1",
        MINQING_HSTS_SECONDS="600",
        MINQING_HSTS_PRELOAD="on",
    )
    assert https["SESSION_COOKIE_SECURE"] and https["CSRF_COOKIE_SECURE"] and https["SECURE_SSL_REDIRECT"]
    assert (https["SECURE_HSTS_SECONDS"], https["SECURE_HSTS_INCLUDE_SUBDOMAINS"], https["SECURE_HSTS_PRELOAD"]) == (
        600,
        True,
        True,
    )
    assert https["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.django_db
def test_over_https_plain_requests_are_redirected_and_browsers_told_to_stay(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    plain = Client().get("/login/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/login/"
    secure = Client().get("/login/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Behind a proxy that ends TLS, its header says so; without the setting it is not believed.
    assert Client().get("/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 301
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert Client().get("/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


# The Content-Security-Policy ----------------------------------------------------------------------


def test_the_policy_is_strict():
    policy = dict(part.strip().split(" ", 1) for part in django_settings.CONTENT_SECURITY_POLICY.split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in django_settings.CONTENT_SECURITY_POLICY


def test_every_main_page_carries_the_policy_and_the_security_headers(world: World, client_for):
    case = file_case(world)
    do("accept", case.pk, world.staff)
    do("convert", case.pk, world.staff, output_type="info_report", title="关于校门拥堵的社情民意")
    case.refresh_from_db()
    world.staff.is_staff = world.staff.is_superuser = True
    world.staff.save()
    staff = Client()
    staff.force_login(world.staff)
    member = Client()
    member.force_login(world.member.user)
    anonymous = Client()
    pages = [
        (anonymous, "/login/"),
        (anonymous, "/api/docs/"),
        (anonymous, "/api/docs/?script="),
        (anonymous, "/api/schema/"),
        (member, "/"),
        (member, "/cases/new/"),
        (member, f"/cases/{case.pk}/"),
        (staff, "/"),
        (staff, f"/queues/{world.committee.pk}/"),
        (staff, f"/outputs/{case.output_id}/"),
        (staff, "/admin/"),
        (staff, "/admin/casework/case/"),
        (staff, "/admin/casework/auditevent/"),  # a list without actions
        (staff, "/admin/viewflow/task/"),
        (staff, f"/admin/casework/case/{case.pk}/change/"),
        (staff, "/admin/casework/user/add/"),
        (staff, "/nowhere/"),
        (client_for(world.member.user), "/api/v1/cases/"),
    ]
    for client, path in pages:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert response["Content-Security-Policy"] == django_settings.CONTENT_SECURITY_POLICY, path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["Referrer-Policy"] == "same-origin", path
        if response["Content-Type"].startswith("text/html"):
            _assert_no_inline_code(response.content.decode(), path)


_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.I | re.S)
_STYLE_ELEMENT = re.compile(r"<style\b", re.I)
_STYLE_ATTRIBUTE = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)
_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
_JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def _assert_no_inline_code(html: str, where: str) -> None:
    """What the policy blocks: a script with code in it, a <style> element, a style attribute,
    an on… handler, a javascript: address."""
    for attributes, body in _SCRIPT.findall(html):
        assert "src=" in attributes and not body.strip(), (where, attributes, body[:200])
    for pattern in (_STYLE_ELEMENT, _STYLE_ATTRIBUTE, _HANDLER, _JS_URL):
        found = pattern.search(html)
        assert found is None, (where, html[max(0, found.start() - 80) : found.end() + 80] if found else "")


def _templates() -> list[Path]:
    """Ours, and the admin's that ours do not replace (an override of ours rewrites the block that
    held the inline code; the rendered pages above are checked as well)."""
    ours = sorted((ROOT / "templates").rglob("*.html"))
    admin = Path(django.__file__).parent / "contrib" / "admin" / "templates"
    overridden = {t.relative_to(ROOT / "templates") for t in ours}
    return ours + sorted(t for t in admin.rglob("*.html") if t.relative_to(admin) not in overridden)


def test_no_template_holds_inline_script_or_style():
    """Ours and the admin's (the policy has no exception for /admin/): a script or style written
    into a template would be blocked by the browser, silently, on the server."""
    templates = _templates()
    assert len(templates) > 50 and any(t.name == "case.html" for t in templates)
    for template in templates:
        _assert_no_inline_code(template.read_text(encoding="utf-8"), str(template))
    # Our change list replaces the block of Django's that held a <style>, and says so.
    ours = (ROOT / "templates" / "admin" / "change_list.html").read_text(encoding="utf-8")
    assert (
        "{% block extrastyle %}" in ours
        and "block.super" not in ours.split("{% block extrastyle %}")[1].split("{% endblock %}")[0]
    )


def test_the_inline_checks_find_what_they_look_for():
    for html in (
        "<script>alert(1)</script>",
        '<script src="/a.js">x()</script>',
        "<style>p{}</style>",
        '<p style="color:red">',
        '<a href="#" onclick="x()">',
        '<a href="javascript:x()">',
    ):
        with pytest.raises(AssertionError):
            _assert_no_inline_code(html, "sample")
    _assert_no_inline_code('<script src="/static/a.js"></script><p class="x">', "sample")
