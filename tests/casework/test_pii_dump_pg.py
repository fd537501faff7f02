"""A dump of the database holds no constituent's phone or ID number in clear: `pg_dump` of the
test database, grepped, after the values were written, read through every surface and revealed."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from django.db import connection

from casework.models import Contact
from tests.api.test_cases_api import file

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONES = ["13957601234", "15888886543"]
ID_NUMBERS = ["331003198507154321", "33100319920230888X"]
ADDRESS = "浙江省台州市黄岩区西城街道天长南路 57 号"
NAME = "唯一群众戊"


def dump() -> str:
    """The whole database as pg_dump writes it (data and schema, plain SQL)."""
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    command = ["pg_dump", "--no-owner", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)]
    command += ["-U", db["USER"] or "postgres", db["NAME"]]
    return subprocess.run(command, env=env, check=True, capture_output=True, timeout=120).stdout.decode("utf-8")


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_a_pg_dump_holds_no_phone_or_id_number_in_clear(world, client_for):
    contacts = []
    for phone, id_number in zip(PHONES, ID_NUMBERS, strict=True):
        contact = Contact.objects.create(
            organisation=world.org, sector=world.sector, name=NAME, phone=phone, id_number=id_number, address=ADDRESS
        )
        world.member.roster.create(organisation=world.org, sector=world.sector, contact=contact)
        contacts.append(contact)
    member = client_for(world.member.user)
    case = file(member, world, contacts=[c.pk for c in contacts], consent_to_share=True)
    assert member.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    assert member.get("/api/v1/contacts/").status_code == 200
    for contact in contacts:  # the reveal's audit event and answer leave nothing behind either
        assert member.post(f"/api/v1/contacts/{contact.pk}/reveal/").json()["phone"] in PHONES

    text = dump()
    assert NAME in text and "casework_contact" in text  # the dump has the rows: the grep can find
    for secret in [*PHONES, *ID_NUMBERS, "天长南路"]:
        assert secret not in text, f"{secret} is in the dump in clear"
    # nor in the usual split forms (the masked phone keeps only 3 + 4 digits)
    for phone in PHONES:
        assert phone[3:] not in text
