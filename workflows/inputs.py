"""What a transition takes as input, declared once: each field's kind, whether it is required,
and its limits. `Input.clean` is the one check every caller's data goes through (the API, the
pages, the admin, tasks); the API's request schema and the pages' forms are derived from the
same fields, so they cannot promise anything the check refuses.

The fields check shape and limits only. Whether a reason, a committee or a case is one the
actor may use is the domain's answer (`casework/services`), from the same selectors the pages
and the API offer the choices from (`options`)."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.errors import InvalidInput

# The largest id PostgreSQL's bigint and SQLite's integer hold; a larger one is no id of ours.
MAX_ID = 2**63 - 1
# Line breaks and tabs are text in multi-line fields, and nowhere else.
_LINE_BREAKS_AND_TABS = {"\n", "\r", "\t"}
# Refused everywhere: control characters (Cc: NUL, which PostgreSQL cannot store, and the C0
# and C1 controls), lone surrogates (Cs: no encoding can write them), and format characters
# (Cf: zero-width spaces and joiners, the byte order mark, soft hyphens and the bidirectional
# overrides such as U+202E, which make a title read differently from what it holds, hide text
# from a search, or make two titles look alike). Private-use characters (Co) are allowed: offices
# enter rare characters of people's and places' names there.
_REFUSED_CATEGORIES = {"Cc", "Cs", "Cf"}
# Refused in single-line text only: the Unicode line and paragraph separators, invisible breaks.
_SINGLE_LINE_REFUSED_CATEGORIES = {"Zl", "Zp"}


def refused_character(value: str, *, multiline: bool) -> str | None:
    """The first character of `value` that text typed by a person may not hold, or None. The
    one rule for every free-text field, whichever door it comes through (the declared inputs,
    the admin's forms)."""
    for char in value:
        if multiline and char in _LINE_BREAKS_AND_TABS:
            continue
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES or (not multiline and category in _SINGLE_LINE_REFUSED_CATEGORIES):
            return char
    return None


def refused_character_message(label: Any, char: str) -> str:
    """Says which field holds which character (its code point and Unicode name), since the
    character itself cannot be seen."""
    name = unicodedata.name(char, "")
    shown = f"U+{ord(char):04X}" + (f" {name}" if name else "")
    return _("「%(f)s」含有不可见的字符或控制字符（%(c)s），请删除后再提交。") % {"f": label, "c": shown}


@functools.cache
def _refused_class(multiline: bool) -> str:
    """The characters of the Basic Multilingual Plane that `refused_character` refuses, as the
    inside of a regular expression's character class of \\uXXXX escapes (read alike by ECMA 262
    and Python), enumerated from the Unicode database once per process. The few format
    characters beyond the BMP (tags, musical and hieroglyph format controls) cannot be named:
    an ECMA 262 regex without the u flag reads them as surrogate pairs, and a range of those is
    no regex at all (schema checkers refuse the schema)."""
    refused = [
        code
        for code in range(0x10000)
        if (0xD800 > code or code > 0xDFFF)  # lone surrogates: no regex engine names them
        and refused_character(chr(code), multiline=multiline) is not None
    ]
    spans: list[list[int]] = []
    for code in refused:
        if spans and spans[-1][1] == code - 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in spans)


class FieldError(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Field:
    name: str
    label: Promise | str
    required: bool = True
    help: Promise | str = ""
    # Only this party (a `workflows.declare.Party` value) may set the field, e.g. the consent
    # that is the constituent's, given through their member.
    only: str = ""

    kind = "field"

    def missing(self) -> Any:
        """The value when the field is absent and not required."""
        return None

    def clean(self, raw: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The field as clients read it in `available_transitions`."""
        described = {"name": self.name, "kind": self.kind, "label": str(self.label), "required": self.required}
        if self.only:
            described["only"] = self.only
        return described


@dataclass(frozen=True)
class Text(Field):
    max_length: int = 2000
    multiline: bool = False

    kind = "text"

    def missing(self) -> str:
        return ""

    def clean(self, raw: Any) -> str:
        if not isinstance(raw, str):
            raise FieldError("invalid", _("「%(f)s」应为文字。") % {"f": self.label})
        value = raw.strip()
        char = refused_character(value, multiline=self.multiline)
        if char is not None:
            raise FieldError("invalid_characters", refused_character_message(self.label, char))
        if len(value) > self.max_length:
            raise FieldError("too_long", _("「%(f)s」不能超过 %(n)d 个字。") % {"f": self.label, "n": self.max_length})
        return value

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "max_length": self.max_length, "multiline": self.multiline}

    def pattern(self) -> str:
        """What `clean` accepts, as a regular expression (ECMA 262 and Python read it alike) for
        the request schema, so the schema promises nothing `clean` refuses: no control or format
        character (line breaks and tabs where multiline), and, when required, something that is not white
        space. Control and format characters are named as `refused_character` refuses them. It is
        stricter than `clean` on one point: such a character at either end, which `clean` strips
        when it is white space. It cannot name a lone surrogate (no character to the regex engines that
        read schemas; JSON carries one only as an escape) nor a format character beyond the BMP
        (see `_refused_class`), which `clean` refuses all the same."""
        refused = _refused_class(self.multiline)
        if not self.required:
            return f"^[^{refused}]*$"
        return f"^[^{refused}]*[^\\s{refused}][^{refused}]*$"


# A search box's text (the API's `q`, the case page's search for a merge target) is checked as
# any declared text is: a control character (NUL, which PostgreSQL cannot hold in a query, among
# them) is refused before it reaches the database.
SEARCH = Text("q", gettext_lazy("查找内容"), required=False, max_length=120)


def clean_search(query: str) -> str:
    """A search text, stripped, or FieldError: too long, or holding a refused character."""
    if len(query) > SEARCH.max_length:
        raise FieldError("too_long", _("查找内容过长。"))
    return SEARCH.clean(query)


@dataclass(frozen=True)
class Choice(Field):
    choices: type[models.TextChoices] = models.TextChoices
    default: str | None = None

    kind = "choice"

    def missing(self) -> str | None:
        return self.default

    def clean(self, raw: Any) -> str:
        if not isinstance(raw, str) or raw not in self.choices.values:
            raise FieldError("invalid_choice", _("「%(f)s」的取值无效。") % {"f": self.label})
        return raw

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "choices": [{"value": v, "label": str(label)} for v, label in self.choices.choices],
        }


def _clean_id(raw: Any, label: Any) -> int:
    # JSON numbers arrive as int, form fields as digit strings; a bool is not an id.
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= MAX_ID:
        raise FieldError("invalid_id", _("「%(f)s」应为有效的编号。") % {"f": label})
    return raw


@dataclass(frozen=True)
class Ref(Field):
    """The id of a record to choose from the named `options` list (a selector of the user's
    reference data, offered by the API and the forms). `locks`: the record is one the
    transition changes too ("case" or "output"), locked with its subject in the one lock order."""

    options: str = ""
    locks: str = ""
    searchable: bool = False  # the options are many: a page offers a search box for them

    kind = "ref"

    def clean(self, raw: Any) -> int:
        return _clean_id(raw, self.label)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "options": self.options}


@dataclass(frozen=True)
class Refs(Field):
    options: str = ""
    max_items: int = 20

    kind = "refs"

    def missing(self) -> list[int]:
        return []

    def clean(self, raw: Any) -> list[int]:
        if not isinstance(raw, list | tuple):
            raise FieldError("invalid", _("「%(f)s」应为编号列表。") % {"f": self.label})
        if len(raw) > self.max_items:
            raise FieldError("too_many", _("「%(f)s」最多选择 %(n)d 项。") % {"f": self.label, "n": self.max_items})
        return [_clean_id(item, self.label) for item in raw]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "options": self.options, "max_items": self.max_items}


@dataclass(frozen=True)
class Flag(Field):
    default: bool = False
    required: bool = False

    kind = "flag"

    def missing(self) -> bool:
        return self.default

    def clean(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "on", "1", "false", "off", "0", ""):
            return raw.lower() in ("true", "on", "1")
        raise FieldError("invalid", _("「%(f)s」应为是或否。") % {"f": self.label})


@dataclass(frozen=True)
class Day(Field):
    """A calendar day, as ISO 8601 (YYYY-MM-DD)."""

    kind = "date"

    def clean(self, raw: Any) -> date:
        if isinstance(raw, str) and len(raw) == 10:
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        raise FieldError("invalid_date", _("「%(f)s」应为日期（年-月-日）。") % {"f": self.label})


@dataclass(frozen=True)
class Count(Field):
    """A whole number from `least` to `most` (minutes, a number of copies)."""

    least: int = 0
    most: int = 1000

    kind = "number"

    def clean(self, raw: Any) -> int:
        # JSON numbers arrive as int, form fields as digit strings; a bool is not a number.
        if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 9:
            raw = int(raw)
        if not isinstance(raw, int) or isinstance(raw, bool) or not self.least <= raw <= self.most:
            raise FieldError(
                "invalid_number",
                _("「%(f)s」应为 %(a)d 到 %(b)d 之间的整数。") % {"f": self.label, "a": self.least, "b": self.most},
            )
        return raw

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "min": self.least, "max": self.most}


@dataclass(frozen=True)
class Input:
    """A transition's input. `partial`: every field optional and only those given are returned
    (an edit), and at least one must be given."""

    fields: tuple[Field, ...] = ()
    partial: bool = False

    def clean(self, data: Any) -> dict[str, Any]:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise InvalidInput(_("请求内容应为 JSON 对象。"), code="invalid_body")
        values: dict[str, Any] = {}
        errors: dict[str, FieldError] = {}
        for field in self.fields:
            raw = data.get(field.name)
            absent = field.name not in data or raw is None or (raw == "" and field.kind != "text")
            if field.kind == "text" and isinstance(raw, str) and not raw.strip():
                absent = True
            if absent:
                if self.partial:
                    if field.name in data and field.kind == "ref" and not field.required:
                        values[field.name] = None  # clearing an optional reference
                    elif field.name in data and field.required:
                        errors[field.name] = FieldError("required", _("「%(f)s」不能为空。") % {"f": field.label})
                    continue
                if field.required:
                    errors[field.name] = FieldError("required", _("「%(f)s」不能为空。") % {"f": field.label})
                else:
                    values[field.name] = field.missing()
                continue
            try:
                values[field.name] = field.clean(raw)
            except FieldError as error:
                errors[field.name] = error
        if errors:
            name, first = next(iter(errors.items()))
            raise InvalidInput(
                first.message,
                code=first.code,
                details={"field": name, "fields": {n: e.message for n, e in errors.items()}},
            )
        return values

    def describe(self) -> list[dict[str, Any]]:
        return [field.describe() for field in self.fields]
