"""The OpenAPI schema validates without warnings, and the docs page loads no outside asset."""

from __future__ import annotations

import re

from django.core.management import call_command


def test_schema_validates_without_warnings(tmp_path, db):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    assert "/api/v1/cases/{case_id}/transitions/reject/:" in text
    assert "/api/v1/queues/{committee_id}/claim-next/:" in text


def test_swagger_ui_is_served_from_local_assets(client, db):
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, page
    assert all(not a.startswith(("http://", "https://", "//")) for a in assets), assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert client.get(asset).status_code == 200, asset


def test_a_list_of_one_roles_documents_that_it_refuses_the_others(tmp_path, db, world, client_for):
    """Before: the auditors' alerts answered 403 to everyone else, undocumented (schemathesis's
    status_code_conformance found it)."""
    import yaml

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target))
    responses = yaml.safe_load(target.read_text())["paths"]["/api/v1/audit/alerts/"]["get"]["responses"]
    refused = client_for(world.staff).get("/api/v1/audit/alerts/")
    assert refused.status_code == 403 and str(refused.status_code) in responses
