"""Personal data on every surface: masked in the API, the pages and the admin; in clear only
through the audited reveal, and only for the constituent's member and their sector's convener."""

from __future__ import annotations

import pytest

from casework.models import AuditEvent, Contact
from tests.api.test_cases_api import file

PHONE, ID_NUMBER, ADDRESS = "13812345678", "33010219800101123X", "浙江省台州市黄岩区东城街道劳动北路 118 号"


@pytest.fixture
def contact(world):
    contact = Contact.objects.get(pk=world.contact_ids()[0])
    contact.phone, contact.id_number, contact.address = PHONE, ID_NUMBER, ADDRESS
    contact.save()
    return contact


def reveals(contact):
    return AuditEvent.objects.filter(action="contact.pii_revealed", target_type="contact", target_id=contact.pk)


def test_the_roster_answers_masked_values(world, client_for, contact):
    rows = {c["id"]: c for c in client_for(world.member.user).get("/api/v1/contacts/").json()}
    assert rows[contact.pk]["phone"] == "138****5678"
    assert rows[contact.pk]["id_number"] == "3301**********123X"
    assert rows[contact.pk]["address"] == "浙江省台州市黄岩区***"


def test_the_case_detail_answers_the_phone_masked_and_only_with_consent(world, client_for, contact):
    member, staff = client_for(world.member.user), client_for(world.staff)
    case = file(member, world, consent_to_share=False)
    rows = {c["id"]: c for c in member.get(f"/api/v1/cases/{case.pk}/").json()["contacts"]}
    assert rows[contact.pk]["phone"] == "138****5678"
    assert PHONE not in member.get(f"/api/v1/cases/{case.pk}/").content.decode()
    rows = {c["id"]: c for c in staff.get(f"/api/v1/cases/{case.pk}/").json()["contacts"]}
    assert rows[contact.pk] == {"id": contact.pk, "name": None, "phone": None}


def test_the_member_reveals_and_it_is_audited_without_the_values(world, client_for, contact):
    response = client_for(world.member.user).post(f"/api/v1/contacts/{contact.pk}/reveal/")
    assert response.status_code == 200
    assert response.json() == {
        "id": contact.pk,
        "name": contact.name,
        "phone": PHONE,
        "id_number": ID_NUMBER,
        "address": ADDRESS,
    }
    [event] = reveals(contact)
    assert event.actor_id == world.member.user.pk and event.success
    assert event.changes == {"fields": ["phone", "id_number", "address"]}
    assert PHONE not in str(event.changes) and ID_NUMBER not in str(event.changes)


def test_the_sectors_convener_reveals_too(world, client_for, contact):
    world.sector.conveners.add(world.other_member)
    response = client_for(world.other_member.user).post(f"/api/v1/contacts/{contact.pk}/reveal/")
    assert response.status_code == 200 and response.json()["phone"] == PHONE
    assert reveals(contact).get().actor_id == world.other_member.user.pk


def test_anyone_else_is_told_it_does_not_exist_and_nothing_is_recorded(world, client_for, contact):
    file(client_for(world.member.user), world, consent_to_share=True)  # consent covers names, not numbers
    for user in (world.other_member.user, world.staff, world.leader, world.outsider):
        response = client_for(user).post(f"/api/v1/contacts/{contact.pk}/reveal/")
        assert response.status_code == 404, user
        assert response.json()["error"]["code"] == "contact_not_found"
        assert PHONE not in response.content.decode()
    assert client_for(world.member.user).post("/api/v1/contacts/999999999/reveal/").status_code == 404
    assert not reveals(contact).exists()


def test_the_case_page_shows_the_phone_masked_and_the_reveal_button_to_the_member(world, client, contact):
    from tests.workflows.test_case_flow import file_case

    case = file_case(world)
    case.contacts.add(contact)
    client.force_login(world.member.user)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "138****5678" in page and PHONE not in page
    assert f"/contacts/{contact.pk}/reveal/" in page
    assert client.get(f"/contacts/{contact.pk}/reveal/").status_code == 405  # a link never reveals
    revealed = client.post(f"/contacts/{contact.pk}/reveal/", {"next": f"/cases/{case.pk}/"})
    assert revealed.status_code == 200
    text = revealed.content.decode()
    assert PHONE in text and ID_NUMBER in text and "劳动北路" in text
    assert revealed["Cache-Control"].startswith("no-store") or "no-store" in revealed["Cache-Control"]
    assert reveals(contact).count() == 1

    client.force_login(world.staff)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f"/contacts/{contact.pk}/reveal/" not in page and PHONE not in page
    assert client.post(f"/contacts/{contact.pk}/reveal/").status_code == 404
    assert reveals(contact).count() == 1


def test_the_admin_shows_masked_values_and_writes_without_reading_back(world, client, contact):
    world.staff.is_staff = world.staff.is_superuser = True
    world.staff.save()
    client.force_login(world.staff)
    listing = client.get("/admin/casework/contact/").content.decode()
    assert "138****5678" in listing and PHONE not in listing and ID_NUMBER not in listing
    change = client.get(f"/admin/casework/contact/{contact.pk}/change/").content.decode()
    assert "138****5678" in change and PHONE not in change and ID_NUMBER not in change and "劳动北路" not in change
    form = {
        "organisation": world.org.pk,
        "sector": world.sector.pk,
        "name": contact.name,
        "phone": "",
        "id_number": "",
        "address": "",
        "workplace": "",
        "consent_recorded_on": "",
    }
    assert client.post(f"/admin/casework/contact/{contact.pk}/change/", form).status_code == 302
    contact.refresh_from_db()
    assert (contact.phone, contact.id_number, contact.address) == (PHONE, ID_NUMBER, ADDRESS)  # empty: unchanged
    form["phone"] = "13900001111"
    assert client.post(f"/admin/casework/contact/{contact.pk}/change/", form).status_code == 302
    contact.refresh_from_db()
    assert contact.phone == "13900001111" and contact.id_number == ID_NUMBER
    form["id_number"] = "12345"
    response = client.post(f"/admin/casework/contact/{contact.pk}/change/", form)
    assert response.status_code == 200  # refused, nothing changed
    contact.refresh_from_db()
    assert contact.id_number == ID_NUMBER


def test_the_case_detail_decrypts_only_the_phones_it_shows(world, client_for, contact, monkeypatch):
    from casework import pii

    member = client_for(world.member.user)
    case = file(member, world)
    read = []
    real = pii.unseal
    monkeypatch.setattr(pii, "unseal", lambda stored, label: read.append(label) or real(stored, label))
    assert member.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    # the ID numbers and addresses are never read with a case (the benchmark's 15 % budget)
    assert read == ["casework.Contact.phone"] * len(world.contact_ids())
