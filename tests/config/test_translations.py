"""Every user-facing string is translatable and translated: the English catalogue has no
untranslated or fuzzy entry, and the compiled catalogue is current."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"


def _entries(text: str) -> list[str]:
    return [block for block in text.split("\n\n") if "msgid" in block and not block.lstrip().startswith("#~")]


def test_the_english_catalogue_is_complete():
    entries = _entries(PO.read_text(encoding="utf-8"))[1:]  # the first is the header
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    empty = [
        e
        for e in entries
        if re.search(r'^msgstr(\[\d\])? ""$', e, re.M) and not re.search(r'^msgstr(\[\d\])? ""\n"', e, re.M)
    ]
    assert not fuzzy, fuzzy[:3]
    assert not empty, empty[:3]
    assert len(entries) > 400


def test_the_compiled_catalogue_says_what_the_source_says():
    """A string translated in the .po but not compiled into the .mo shows in Chinese to an
    English reader; compare every simple entry."""
    with (PO.with_suffix(".mo")).open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    pairs = [
        pair
        for block in _entries(PO.read_text(encoding="utf-8"))
        if "msgctxt" not in block
        for pair in re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', block, re.M)
    ]
    assert len(pairs) > 300
    stale = [(msgid, msgstr) for msgid, msgstr in pairs if compiled.gettext(_unquote(msgid)) != _unquote(msgstr)]
    assert not stale, stale[:5]


def _unquote(text: str) -> str:
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape") if "\\" in text else text
