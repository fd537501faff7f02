"""The API reads JSON only (and sign-in a form too), and reads it defensively: a body larger
than the limit answers 413 without being read whole, nesting too deep for the parser answers 400,
and a charset that is no text encoding answers 415, not 500."""

from __future__ import annotations

import codecs
import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType
from rest_framework.parsers import FormParser, JSONParser


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = _("请求内容过大。")


def text_encoding(media_type: str | None, parser_context: dict | None) -> str:
    """The request's charset, if it is a text encoding. Django takes any codec Python knows as
    a charset: `charset=zlib` or `bz2` would have the server decompress what it is sent (and
    failed with a 500 on anything else), `rot13` failed likewise. str.encode refuses exactly the
    codecs that are not text encodings."""
    encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
    try:
        "".encode(encoding)
    except LookupError:
        raise UnsupportedMediaType(media_type or "") from None
    return str(encoding)


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        encoding = text_encoding(media_type, parser_context)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge()
        try:
            text = codecs.decode(raw, encoding)
            return json.loads(text, parse_constant=json_strict_constant)
        except RecursionError:
            raise ParseError(_("JSON 嵌套层数过多。")) from None
        except ValueError as exc:
            raise ParseError(_("JSON 格式有误：%(e)s") % {"e": exc}) from None


def json_strict_constant(name: str) -> Any:
    """NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


class SafeFormParser(FormParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        text_encoding(media_type, parser_context)
        return super().parse(stream, media_type, parser_context)
