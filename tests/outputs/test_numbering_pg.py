"""Proposal numbers under real concurrency (PostgreSQL): eight submissions of one organisation
released at once, each thread on its own connection, are numbered 1..8 with no gap and no
repeat; one that fails after taking its number gives it back to whoever is waiting."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from casework.choices import OutputStatus
from casework.models import AuditEvent, Output, OutputSeries
from tests.outputs.test_numbering import Refused, signed_drafts
from tests.workflows.test_concurrency_pg import race
from workflows import output_actions

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def submit_at_once(drafts: list[Output], actor, failing: int | None = None) -> list[object]:
    def refuse(_output: Output) -> None:
        time.sleep(0.3)  # hold the series row while the others queue on it, then roll back
        raise Refused("after the number was taken")

    def work(i: int) -> object:
        return output_actions.perform(
            "output", "submit", record_id=drafts[i].pk, actor=actor, then=refuse if i == failing else None
        )

    return race(len(drafts), work)


def test_eight_concurrent_submissions_are_numbered_one_to_eight(world):
    drafts = signed_drafts(world, 8)
    results = submit_at_once(drafts, world.staff)
    assert all(isinstance(r, Output) for r in results), results
    numbered = Output.objects.filter(pk__in=[d.pk for d in drafts])
    series = f"proposal:{world.org.pk}:{timezone.localdate().year}"
    assert sorted(numbered.values_list("number_seq", flat=True)) == list(range(1, 9))
    assert set(numbered.values_list("series", flat=True)) == {series}
    assert len(set(numbered.values_list("number", flat=True))) == 8
    assert set(numbered.values_list("status", flat=True)) == {OutputStatus.SUBMITTED}
    assert OutputSeries.objects.get(name=series).last == 8
    assert AuditEvent.objects.filter(action="output.submitted").count() == 8


def test_a_concurrent_submission_that_fails_gives_its_number_to_the_next(world):
    drafts = signed_drafts(world, 8)
    results = submit_at_once(drafts, world.staff, failing=0)
    assert isinstance(results[0], Refused), results[0]
    assert all(isinstance(r, Output) for r in results[1:]), results
    numbered = Output.objects.filter(pk__in=[d.pk for d in drafts[1:]])
    assert sorted(numbered.values_list("number_seq", flat=True)) == list(range(1, 8))
    failed = Output.objects.get(pk=drafts[0].pk)
    assert (failed.status, failed.number_seq) == (OutputStatus.DRAFT, None)
    assert not AuditEvent.objects.filter(stream=f"output:{failed.pk}", action="output.submitted").exists()
    series = f"proposal:{world.org.pk}:{timezone.localdate().year}"
    assert OutputSeries.objects.get(name=series).last == 7
    again = output_actions.perform("output", "submit", record_id=failed.pk, actor=world.staff)
    again.refresh_from_db()
    assert again.number_seq == 8 and again.number.endswith("第0008号")
