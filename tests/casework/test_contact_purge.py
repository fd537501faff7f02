"""A contact is kept no longer than its purpose needs: `purge_contacts` anonymises those whose
retention has run out, keeps their sector and cases for the figures, audits each, and never
touches one whose concern is still being worked."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from casework.choices import CaseStatus
from casework.models import AuditEvent, Case, Contact, RosterEntry
from casework.services.pii import ANONYMOUS_NAME, purge_contacts, purge_due
from tests.workflows.test_case_flow import file_case

# A day soon after the data's making: contacts with no date of their own are far from their default.
TODAY = timezone.localdate() + timedelta(days=10)


def _close(case: Case) -> None:
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED)


def _contacts(world) -> list[Contact]:
    return list(Contact.objects.filter(pk__in=world.contact_ids()).order_by("pk"))


def test_a_contact_past_their_retention_date_is_anonymised_and_still_counted(world):
    case = file_case(world)
    _close(case)
    first, second, third = _contacts(world)
    Contact.objects.filter(pk=first.pk).update(
        retain_until=TODAY - timedelta(days=1), phone="13812345678", id_number="11010519491231002X", address="南城街道"
    )
    Contact.objects.filter(pk=second.pk).update(retain_until=TODAY)  # the last day: still kept
    Contact.objects.filter(pk=third.pk).update(retain_until=TODAY + timedelta(days=30))

    assert purge_contacts(today=TODAY) == 1

    gone = Contact.objects.get(pk=first.pk)
    assert gone.name == ANONYMOUS_NAME and gone.anonymised_at is not None
    assert (gone.phone, gone.id_number, gone.address, gone.workplace) == ("", "", "", "")
    assert gone.sector_id == world.sector.pk
    assert not RosterEntry.objects.filter(contact=gone).exists()
    assert Contact.objects.get(pk=second.pk).name != ANONYMOUS_NAME
    # The case still counts three constituents, for every figure counted over it.
    assert case.contacts.count() == 3
    event = AuditEvent.objects.get(action="contact.anonymised")
    assert event.target_id == first.pk and event.organisation_id == world.org.pk
    assert event.changes["rule"] == "retain_until" and "13812345678" not in str(event.changes)
    # Run again: nothing more to do, nothing audited twice.
    assert purge_contacts(today=TODAY) == 0
    assert AuditEvent.objects.filter(action="contact.anonymised").count() == 1


def test_a_contact_on_a_case_still_being_worked_is_kept_past_their_date(world):
    case = file_case(world)  # in review
    first = _contacts(world)[0]
    Contact.objects.filter(pk=first.pk).update(retain_until=TODAY - timedelta(days=365))
    assert purge_contacts(today=TODAY) == 0
    assert Contact.objects.get(pk=first.pk).name == first.name
    _close(case)
    assert purge_contacts(today=TODAY) == 1


def test_without_a_date_of_their_own_the_default_counts_from_their_last_concern(world, settings):
    settings.CONTACT_RETENTION_DAYS = 100
    old = file_case(world, title="早先的问题")
    _close(old)
    long_ago = timezone.now() - timedelta(days=150)
    Case.objects.filter(pk=old.pk).update(created_at=long_ago)
    Contact.objects.filter(pk__in=world.contact_ids()).update(created_at=long_ago)
    today = timezone.localdate()
    assert purge_due(today).count() == 3
    # A new concern raised for one of them restarts that one's clock.
    recent = file_case(world, title="新的问题")
    _close(recent)
    keep = _contacts(world)[0]
    recent.contacts.set([keep])
    assert set(purge_due(today).values_list("pk", flat=True)) == set(world.contact_ids()) - {keep.pk}
    # A contact never named on a case counts from their registration.
    other = Contact.objects.filter(pk__in=world.contact_ids(world.other_member))
    other.update(created_at=long_ago)
    assert purge_due(today).filter(pk__in=other.values("pk")).count() == 3


def test_the_command_counts_first_with_dry_run_then_anonymises(world):
    case = file_case(world)
    _close(case)
    Contact.objects.filter(pk__in=world.contact_ids()).update(retain_until=date(2000, 1, 1))
    out = StringIO()
    call_command("purge_contacts", "--dry-run", stdout=out)
    assert "将匿名化 3 人" in out.getvalue()
    assert not Contact.objects.filter(name=ANONYMOUS_NAME).exists()
    out = StringIO()
    call_command("purge_contacts", stdout=out)
    assert "已匿名化 3 人" in out.getvalue()
    assert Contact.objects.filter(name=ANONYMOUS_NAME).count() == 3
