"""Personal data at rest: sealed in the database, opened only under the key and column it was
sealed for, re-sealed under the newest key by the rotation, and masked for display."""

from __future__ import annotations

import os
import stat

import pytest
from django.core.management import call_command
from django.db import connection

from casework import pii
from casework.models import Contact
from casework.services.pii import reseal_all

KEY_A = "pa " + "11" * 32
KEY_B = "pb " + "22" * 32


def raw(contact_id: int, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM casework_contact WHERE id = %s", [contact_id])
        return cursor.fetchone()[0]


def make_contact(world, **values):
    return Contact.objects.create(organisation=world.org, sector=world.sector, name="群众甲", **values)


@pytest.mark.django_db
def test_phone_id_number_and_address_are_stored_sealed_and_read_in_clear(world):
    contact = make_contact(
        world, phone="13812345678", id_number="33010219800101123X", address="浙江省台州市黄岩区东城街道劳动北路 118 号"
    )
    for column, clear in (("phone", "13812345678"), ("id_number", "33010219800101123X"), ("address", "劳动北路")):
        stored = raw(contact.pk, column)
        assert stored.startswith(f"pii1:{pii.CIPHER}:") and clear not in stored
    again = Contact.objects.get(pk=contact.pk)
    assert (again.phone, again.id_number) == ("13812345678", "33010219800101123X")
    assert again.address.endswith("劳动北路 118 号")
    # no value stays no value, so a blank field is not an error
    assert raw(make_contact(world).pk, "phone") == ""


def test_sm4_gcm_is_used_where_openssl_offers_it():
    assert pii.CIPHER == ("s" if pii.SM4_GCM else "a")
    sealed = pii.seal("13812345678", "casework.Contact.phone")
    assert pii.unseal(sealed, "casework.Contact.phone") == "13812345678"


def test_a_value_moved_to_another_column_or_tampered_with_does_not_open():
    sealed = pii.seal("13812345678", "casework.Contact.phone")
    with pytest.raises(pii.PiiKeyError):
        pii.unseal(sealed, "casework.Contact.id_number")
    body = sealed[-8:]
    flipped = sealed[:-8] + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(pii.PiiKeyError):
        pii.unseal(flipped, "casework.Contact.phone")
    with pytest.raises(pii.PiiKeyError):
        pii.unseal("13812345678", "casework.Contact.phone")  # clear text is never passed on


def test_the_embedded_key_file_is_generated_mode_0600(settings, tmp_path):
    settings.PII_KEY_FILE = str(tmp_path / "pii-keys")
    ring = pii.keyring()
    assert stat.S_IMODE(os.stat(tmp_path / "pii-keys").st_mode) == 0o600
    assert ring.current.id.startswith("p") and len(ring.current.secret) == 32


def test_keys_from_the_environment_hex_or_base64_the_last_encrypts(settings):
    import base64

    settings.PII_KEYS = f"{KEY_A}, pb {base64.b64encode(bytes(range(32))).decode()}"
    ring = pii.keyring()
    assert list(ring.keys) == ["pa", "pb"] and ring.current.secret == bytes(range(32))
    for bad in ("pa 1234", "pa", "bad:id " + "11" * 32 + ", x y z", f"{KEY_A},{KEY_A}"):
        with pytest.raises(pii.PiiKeyError):
            pii.parse_keys(bad, "test")


@pytest.mark.django_db
def test_rotation_reseals_every_old_row_under_the_newest_key_and_is_idempotent(world, settings):
    settings.PII_KEYS = KEY_A
    first = make_contact(world, phone="13800000001", id_number="330102198001011234")
    second = make_contact(world, phone="13800000002")
    assert pii.key_id_of(raw(first.pk, "phone")) == "pa"
    settings.PII_KEYS = f"{KEY_A},{KEY_B}"
    # old rows still read after the new key is added
    assert Contact.objects.get(pk=first.pk).phone == "13800000001"
    assert (
        reseal_all(batch_size=1) == 2 + Contact.objects.exclude(pk__in=[first.pk, second.pk]).exclude(phone="").count()
    )
    for contact in (first, second):
        assert pii.key_id_of(raw(contact.pk, "phone")) == "pb"
    assert pii.key_id_of(raw(first.pk, "id_number")) == "pb"
    assert reseal_all() == 0  # a second run finds nothing left to do
    settings.PII_KEYS = KEY_B  # the old key can go now
    assert Contact.objects.get(pk=first.pk).phone == "13800000001"
    assert Contact.objects.get(pk=first.pk).id_number == "330102198001011234"


@pytest.mark.django_db
def test_the_rotate_command_adds_a_key_to_the_file_and_reseals(world, settings, tmp_path, capsys):
    settings.PII_KEY_FILE = str(tmp_path / "pii-keys")
    contact = make_contact(world, phone="13800000003")
    old = pii.key_id_of(raw(contact.pk, "phone"))
    call_command("pii_rotate", "--new-key")
    new = pii.keyring().current.id
    assert new != old and old in pii.keyring().keys
    assert pii.key_id_of(raw(contact.pk, "phone")) == new
    assert Contact.objects.get(pk=contact.pk).phone == "13800000003"


@pytest.mark.django_db
def test_the_migration_seals_phones_stored_in_clear(world):
    from importlib import import_module

    migration = import_module("casework.migrations.0014_pii_encrypted_contacts")
    contact = make_contact(world)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE casework_contact SET phone = %s WHERE id = %s", ["13912345678", contact.pk])

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.encrypt_phones(None, editor)
    assert pii.is_sealed(raw(contact.pk, "phone"))
    assert Contact.objects.get(pk=contact.pk).phone == "13912345678"
    migration.decrypt_phones(None, editor)
    assert raw(contact.pk, "phone") == "13912345678"


@pytest.mark.parametrize(
    ("mask", "value", "shown"),
    [
        (pii.mask_phone, "13812345678", "138****5678"),
        (pii.mask_phone, "057688888888", "057*****8888"),
        (pii.mask_phone, "84123456", "******56"),
        (pii.mask_phone, "", ""),
        (pii.mask_id_number, "33010219800101123X", "3301**********123X"),
        (pii.mask_id_number, "12345", "*****"),
        (pii.mask_address, "浙江省台州市黄岩区东城街道劳动北路 118 号", "浙江省台州市黄岩区***"),
        (pii.mask_address, "台州市劳动路 1 号", "台州市***"),
        (pii.mask_address, "劳动北路 118 号", "***"),
    ],
)
def test_masks(mask, value, shown):
    assert mask(value) == shown


@pytest.mark.django_db
def test_the_rotate_command_refuses_what_it_cannot_do_and_changes_nothing(world, settings):
    from django.core.management.base import CommandError

    settings.PII_KEYS = KEY_A
    contact = make_contact(world, phone="13800000004")
    before = raw(contact.pk, "phone")
    with pytest.raises(CommandError, match="MINQING_PII_KEYS"):
        call_command("pii_rotate", "--new-key")  # the keys are the environment's, not a file's
    with pytest.raises(CommandError, match="batch-size"):
        call_command("pii_rotate", "--batch-size", "0")
    assert raw(contact.pk, "phone") == before
