"""A proposal goes to its handling departments only without the identity of a constituent whose
consent does not cover it: their name, phone or ID number typed into its text stops the
assignment (and a reassignment) with the field named, and nothing is sent.

Before: the office could assign a proposal whose text named a constituent who had not agreed to
their name being passed on, and the department read it."""

from __future__ import annotations

import pytest

from casework.errors import DomainError
from casework.models import Assignment, Case, Contact, Output
from tests.api.proposal_steps import act, submitted
from tests.outputs.proposal_world import make_proposal_world


@pytest.fixture
def pw(world):
    return make_proposal_world(world)


def _constituent(pw) -> Contact:
    case = pw.cases[0]
    assert not case.consent_to_share
    return case.contacts.get()


def test_a_named_constituent_without_consent_stops_the_assignment(pw):
    output = submitted(pw)
    act("output", "file", output.pk, pw.office)
    name = _constituent(pw).name
    Output.objects.filter(pk=output.pk).update(suggestion=f"建议联系{name}本人核实。")
    with pytest.raises(DomainError) as refused:
        act("output", "assign", output.pk, pw.office, handling="joint", lead=pw.lead.pk)
    assert "建议" in str(refused.value.message) and name not in str(refused.value.message)
    assert not Assignment.objects.filter(output=output).exists()
    assert Output.objects.get(pk=output.pk).status == "filed"


def test_a_phone_number_however_written_stops_it_too(pw):
    output = submitted(pw)
    act("output", "file", output.pk, pw.office)
    Contact.objects.filter(pk=_constituent(pw).pk).update(phone="13812345678")
    Output.objects.filter(pk=output.pk).update(analysis="群众（电话 138-1234-5678）反映")
    with pytest.raises(DomainError):
        act("output", "assign", output.pk, pw.office, handling="joint", lead=pw.lead.pk)


def test_with_consent_or_without_their_identity_the_proposal_goes(pw):
    output = submitted(pw)
    act("output", "file", output.pk, pw.office)
    name = _constituent(pw).name
    Output.objects.filter(pk=output.pk).update(suggestion=f"建议联系{name}本人核实。")
    Case.objects.filter(pk=pw.cases[0].pk).update(consent_to_share=True)
    act("output", "assign", output.pk, pw.office, handling="joint", lead=pw.lead.pk)
    assert Assignment.objects.filter(output=output, department=pw.lead).exists()


def test_the_office_page_says_why_it_cannot_assign_and_a_post_changes_nothing(pw, client):
    output = submitted(pw)
    act("output", "file", output.pk, pw.office)
    Output.objects.filter(pk=output.pk).update(title=f"关于{_constituent(pw).name}反映问题的提案")
    client.force_login(pw.office)
    shown = client.get(f"/outputs/{output.pk}/").content.decode()
    assert "暂不能「交办」" in shown and "「标题」中含有未同意提供姓名的群众" in shown
    answer = client.post(f"/outputs/{output.pk}/do/assign/", {"handling": "joint", "lead": pw.lead.pk})
    assert answer.status_code == 302
    assert "未同意提供姓名" in client.get(answer["Location"]).content.decode()
    assert not Assignment.objects.filter(output=output).exists()
