"""The headers every page and API answer carries (config/middleware.py)."""

from __future__ import annotations

from django.test import Client

from tests.factories import World


def _no_store(response) -> bool:
    return "no-store" in [part.strip() for part in response.get("Cache-Control", "").split(",")]


def test_pages_and_api_answers_with_personal_data_are_not_stored(world: World, client_for):
    """A page or an API answer left in a shared proxy or in the browser's disk cache is read by
    the next person at the machine; they said nothing about caching before."""
    member = Client()
    member.force_login(world.member.user)
    for path in ("/", "/cases/new/", "/nowhere/"):
        response = member.get(path)
        assert _no_store(response), (path, response.status_code, response.get("Cache-Control"))
    api = client_for(world.member.user)
    for path in ("/api/v1/cases/", "/api/v1/categories/", "/api/v1/cases/999999/"):
        response = api.get(path)
        assert _no_store(response), (path, response.status_code, response.get("Cache-Control"))
    refused = Client().get("/api/v1/cases/")
    assert refused.status_code == 401 and _no_store(refused)
    admin = Client()
    world.staff.is_staff = world.staff.is_superuser = True
    world.staff.save()
    admin.force_login(world.staff)
    assert _no_store(admin.get("/admin/casework/user/"))


def test_static_files_stay_cacheable(db):
    response = Client().get("/static/css/minqing.css")
    assert response.status_code == 200
    assert not _no_store(response)
