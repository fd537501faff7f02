"""The contract run's world: cases in many stages, and a schemathesis configuration that offers
their ids (so the run reaches the workflow, not only 404s)."""

from __future__ import annotations

import tomllib

from casework.models import Case
from tests.contract.seed import BINDINGS, schemathesis_config, seed


def test_the_seeded_world_and_its_schemathesis_configuration(db, settings, tmp_path):
    from casework.models import Assignment, OutputFile

    settings.MEDIA_ROOT = tmp_path  # the reply file the seed attaches
    world = seed()
    assert set(world["tokens"]) == {"member", "staff"}
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {"draft", "review", "needs_info", "conversion", "outcome", "feedback", "closed"} <= statuses
    config = tomllib.loads(schemathesis_config(world["ids"]))
    assert config["dictionaries"]["cases"]["values"] == sorted(Case.objects.values_list("id", flat=True))
    assert all(config["dictionaries"][name]["values"] for name in BINDINGS)
    assert config["parameters"]["path.case_id"] == {"dictionary": "cases", "probability": 0.5}
    assert config["parameters"]["body.contacts[*]"]["dictionary"] == "contacts"
    # The output lifecycles' records: a transition's path takes an output, assignment or signature.
    assignment = Assignment.objects.get()
    assert {assignment.pk, assignment.output_id} <= set(config["dictionaries"]["records"]["values"])
    assert config["dictionaries"]["files"]["values"] == [OutputFile.objects.get().pk]
    assert config["parameters"]["path.record_id"] == {"dictionary": "records", "probability": 0.5}
