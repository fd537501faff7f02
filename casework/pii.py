"""Personal data at rest (PIPL): constituents' phone numbers, ID numbers and addresses are stored
encrypted, shown masked, and read in clear only by an explicit, audited reveal.

A value is sealed with an authenticated cipher: SM4-GCM (the national standard, GB/T 32907)
when the OpenSSL under `cryptography` offers it, AES-256-GCM otherwise. What is stored is
`pii1:<cipher>:<key id>:<base64 of nonce, ciphertext and tag>`, so a value names the cipher and
key that sealed it and stays readable after a rotation; the column and model it belongs to are
bound in as associated data, so a sealed value copied into another column does not open.

The keys never live in the database: from the environment (`MINQING_PII_KEYS`, items
`<key id> <64 hex digits or base64 of 32 bytes>`, comma- or newline-separated) or a key file
(`MINQING_PII_KEY_FILE`, by default `var/pii-keys`, generated with mode 0600 the first time it
is needed). The last key seals new values; every earlier one stays to open old values until
`manage.py pii_rotate` has sealed them again under the newest."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django import forms
from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models

from casework.keyfiles import KeySource

log = logging.getLogger("minqing.pii")

PREFIX = "pii1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_NONCE = 12
_TAG = 16


def _sm4_gcm_available() -> bool:
    try:
        encryptor = Cipher(algorithms.SM4(bytes(16)), modes.GCM(bytes(_NONCE))).encryptor()
        encryptor.update(b"x")
        encryptor.finalize()
    except Exception:  # an OpenSSL without SM4, or without it in GCM mode
        return False
    return True


SM4_GCM = _sm4_gcm_available()
# "s": SM4-GCM, "a": AES-256-GCM. New values use SM4 where this build offers it.
CIPHER = "s" if SM4_GCM else "a"


class PiiKeyError(RuntimeError):
    """The personal-data keys are missing or malformed, or a stored value does not open."""


@dataclass(frozen=True)
class PiiKey:
    id: str
    secret: bytes = b""

    def __repr__(self) -> str:  # never print the secret
        return f"PiiKey({self.id!r})"

    def subkey(self, cipher: str) -> bytes:
        """One key a cipher, derived, so the same secret never serves two algorithms."""
        digest = hmac.new(self.secret, f"minqing pii {cipher}".encode(), hashlib.sha256).digest()
        return digest[:16] if cipher == "s" else digest


@dataclass(frozen=True)
class PiiKeyring:
    keys: dict[str, PiiKey]
    current: PiiKey
    source: str


def _decode_key(text: str) -> bytes | None:
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def parse_keys(text: str, source: str) -> PiiKeyring:
    """Items of `<key id> <key>` (or `<key id>:<key>`), one a line or comma-separated; `#` comments.
    A key is 32 bytes, as 64 hex digits or base64."""
    keys: dict[str, PiiKey] = {}
    last: PiiKey | None = None
    items = [item.strip() for raw in text.splitlines() for item in raw.split("#", 1)[0].split(",")]
    for item in items:
        if not item:
            continue
        parts = re.split(r"[\s:]+", item, maxsplit=1)
        if len(parts) != 2:
            raise PiiKeyError(f"{source}: a key item is '<key id> <key>'")
        key_id, encoded = parts[0], parts[1].strip()
        if not _KEY_ID.match(key_id):
            raise PiiKeyError(f"{source}: malformed key id {key_id!r} (letters, digits, . _ -, at most 40)")
        secret = _decode_key(encoded)
        if secret is None:
            raise PiiKeyError(f"{source}: the key of {key_id} is not 32 bytes of hex or base64")
        if key_id in keys:
            raise PiiKeyError(f"{source}: key {key_id} appears twice")
        last = keys[key_id] = PiiKey(key_id, secret)
    if last is None:
        raise PiiKeyError(f"{source}: no personal-data key")
    return PiiKeyring(keys, last, source)


KEY_FILE_HEADER = (
    "# Minqing personal-data keys (contacts' phone, ID number, address are encrypted under them).\n"
    "# Keep this file secret, readable by the app only, and back it up apart from the database:\n"
    "# without it the encrypted values cannot be read. One key a line: <key id> <hex>. The last\n"
    "# line encrypts; keep older lines until `manage.py pii_rotate` has run.\n"
)


def key_file() -> Path:
    return Path(settings.PII_KEY_FILE)


def new_key_line() -> str:
    secret = secrets.token_bytes(32)
    fingerprint = hmac.new(secret, b"minqing pii key id", hashlib.sha256).hexdigest()[:8]
    # The wall clock, not timezone.now(): the demo seeding simulates that one.
    return f"p{datetime.now():%Y%m%d}-{fingerprint} {secret.hex()}\n"


SOURCE: KeySource[PiiKeyring] = KeySource(
    env_name="MINQING_PII_KEYS",
    inline=lambda: settings.PII_KEYS,
    path=key_file,
    header=KEY_FILE_HEADER,
    new_line=new_key_line,
    parse=parse_keys,
    log=log,
    generated="生成了新的个人信息密钥文件 %s（权限 0600），请与数据库分开备份。"
    " (generated a new personal-data key file %s, mode 0600; back it up apart from the database)",
    loose="个人信息密钥文件 %s 的权限过宽 (personal-data key file is readable by others): chmod 600",
)


def keyring() -> PiiKeyring:
    """The keys, loaded once per process and again whenever their source changes."""
    return SOURCE.keyring()


def add_key() -> PiiKey:
    """Append a new key to the key file (it encrypts from now on); `pii_rotate` then re-seals."""
    if settings.PII_KEYS:
        raise PiiKeyError("the keys come from MINQING_PII_KEYS: add the new key there (last) and restart every process")
    return SOURCE.append_key().current


def _aad(label: str, cipher: str, key_id: str) -> bytes:
    return f"{PREFIX}|{label}|{cipher}|{key_id}".encode()


def seal(value: str, label: str, key: PiiKey | None = None) -> str:
    """`value` encrypted for the column `label` (`app.Model.field`); "" stays "" (no value)."""
    if not value:
        return ""
    key = key or keyring().current
    nonce = secrets.token_bytes(_NONCE)
    aad = _aad(label, CIPHER, key.id)
    data = value.encode("utf-8")
    if CIPHER == "s":
        encryptor = Cipher(algorithms.SM4(key.subkey("s")), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        body = encryptor.update(data) + encryptor.finalize() + encryptor.tag
    else:
        body = AESGCM(key.subkey("a")).encrypt(nonce, data, aad)
    return f"{PREFIX}:{CIPHER}:{key.id}:{base64.b64encode(nonce + body).decode('ascii')}"


def key_id_of(stored: str) -> str | None:
    """The id of the key a stored value was sealed with (None for no value)."""
    if not stored:
        return None
    parts = stored.split(":", 3)
    return parts[2] if len(parts) == 4 and parts[0] == PREFIX else ""


def is_sealed(stored: str) -> bool:
    return bool(stored) and stored.startswith(PREFIX + ":")


def unseal(stored: str, label: str) -> str:
    """The clear value of a stored one. A value that is not sealed, or does not open under the
    key it names (another column's, tampered, a key missing), is an error, never passed on."""
    if not stored:
        return ""
    parts = stored.split(":", 3)
    if len(parts) != 4 or parts[0] != PREFIX or parts[1] not in ("s", "a"):
        raise PiiKeyError(f"{label}: a stored value is not encrypted")
    _, cipher, key_id, encoded = parts
    key = keyring().keys.get(key_id)
    if key is None:
        raise PiiKeyError(f"{label}: the key {key_id} is not among the personal-data keys")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise PiiKeyError(f"{label}: a stored value is malformed") from None
    nonce, body = raw[:_NONCE], raw[_NONCE:]
    aad = _aad(label, cipher, key_id)
    try:
        if cipher == "s":
            if not SM4_GCM:
                raise PiiKeyError(f"{label}: sealed with SM4-GCM, which this OpenSSL does not offer")
            decryptor = Cipher(algorithms.SM4(key.subkey("s")), modes.GCM(nonce, body[-_TAG:])).decryptor()
            decryptor.authenticate_additional_data(aad)
            data = decryptor.update(body[:-_TAG]) + decryptor.finalize()
        else:
            data = AESGCM(key.subkey("a")).decrypt(nonce, body, aad)
    except (InvalidTag, ValueError):
        raise PiiKeyError(f"{label}: a stored value does not open (tampered, or another column's)") from None
    return data.decode("utf-8")


class EncryptedTextField(models.TextField):
    """A text column stored sealed (see the module's docstring) and read back in clear. Not
    searchable: an equality lookup seals its operand afresh and never matches. `max_length`
    limits the clear value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(MaxLengthValidator(self.max_length))

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.name}"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return value
        return unseal(value, self.label)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return value
        return seal(value, self.label)

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        # One line, like a CharField, not a textarea.
        return forms.CharField(
            max_length=self.max_length,
            required=not self.blank,
            label=self.verbose_name,
            help_text=self.help_text,
            **{k: v for k, v in kwargs.items() if k in ("widget", "initial")},
        )


# Masking ----------------------------------------------------------------------------------------


def mask_phone(phone: str) -> str:
    """138****5678: a mobile keeps its network prefix and last four digits (the convention of
    Chinese banks and carriers); a shorter number keeps only its last two."""
    if not phone:
        return ""
    n = len(phone)
    if n >= 11:
        return phone[:3] + "*" * (n - 7) + phone[-4:]
    if n >= 7:
        return "*" * (n - 2) + phone[-2:]
    return "*" * n


def mask_id_number(number: str) -> str:
    """3301**********1234: the first four digits (province and city, not the county nor the
    birth date) and the last four; everything between, the birth date included, is hidden."""
    if not number:
        return ""
    n = len(number)
    if n >= 15:
        return number[:4] + "*" * (n - 8) + number[-4:]
    return "*" * n


_DISTRICT = re.compile(r"^.*?(?:区|县|旗)")
_CITY = re.compile(r"^.*?市")


def mask_address(address: str) -> str:
    """An address cut after its district or county (浙江省台州市黄岩区***): the street, the
    building and the door are hidden. An address naming no district keeps its city, and one
    naming neither keeps nothing."""
    if not address:
        return ""
    for pattern in (_DISTRICT, _CITY):
        match = pattern.match(address)
        if match and match.end() < len(address):
            return match.group(0) + "***"
        if match:
            return match.group(0)
    return "***"
