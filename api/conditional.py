"""`ETag`, `If-None-Match` and `If-Match` on a case's and an output's detail.

The tag is a digest of the answer's body as the caller sees it and of the record's audit seq, so
it changes whenever anything shown changes: the case's fields, its task and who holds it, its
clocks and their SLA state and sweep marks (which move with the time of day and the sweep, not
only with audited changes), the transitions the caller may do now, the language; and with every
audited change, even one that leaves the body as it was (a claim then a release). The audit seq
alone would miss all but the first two.

- `GET` with `If-None-Match` naming the current tag answers 304 with no body.
- A change (PATCH, a transition) with `If-Match` goes ahead only if the tag is still current: it
  is compared under the row lock, before anything is decided, with the detail the caller would
  read now; a stale tag answers 412 `precondition_failed` and changes nothing. `If-Match: *`
  matches any record that exists. Weak tags (`W/"…"`) never match `If-Match` (RFC 9110 §13.1.1).
- A header that is no list of quoted tags answers 400 `invalid_precondition`."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from casework.errors import InvalidInput

MAX_HEADER_LENGTH = 1024
# RFC 9110 §8.8.3: "*" or a comma-separated list of [W/]"<visible ASCII but the quote>".
_TAG = r'(?:W/)?"[\x21\x23-\x7e]*"'
_LIST = re.compile(rf"\s*(?:\*|{_TAG}(?:\s*,\s*{_TAG})*)\s*")
_EACH = re.compile(r'(W/)?"([\x21\x23-\x7e]*)"')

ETAG_HEADER = {
    "ETag": {
        "schema": {"type": "string"},
        "required": True,
        "description": "答复内容的版本标签：修改时放入 If-Match，读取时放入 If-None-Match",
    }
}


def _parameter(name: str, description: Any) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        {"type": "string", "maxLength": MAX_HEADER_LENGTH},
        location=OpenApiParameter.HEADER,
        description=description,
    )


IF_MATCH = _parameter(
    "If-Match",
    gettext_lazy("可选。上次读取时答复的 ETag：记录已变（标签不同）则答复 412 precondition_failed，不做任何修改。"),
)
IF_NONE_MATCH = _parameter("If-None-Match", gettext_lazy("可选。上次读取时答复的 ETag：未变则答复 304，无内容。"))


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"
    default_detail = gettext_lazy("记录已被修改，请重新读取后再操作。")


def etag(body: Any, version: int) -> str:
    """The tag of `body`, the record's representation, at audit `version` (the record's audit
    seq, which every audited change moves: a change undone, a claim then a release, shows the
    same body but is another version)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return '"' + hashlib.sha256(f"{version}\n{text}".encode()).hexdigest()[:32] + '"'


def answer(body: Any, tag: str) -> tuple[int, Any, dict[str, str]]:
    """A change's answer (status, body, headers), carrying the record's new tag."""
    return status.HTTP_200_OK, body, {"ETag": tag}


def _tags(request: Request, name: str) -> list[tuple[bool, str]] | None:
    """The header's tags as (weak, opaque) pairs; [] for "*"; None when absent."""
    raw = request.headers.get(name)
    if raw is None:
        return None
    if len(raw) > MAX_HEADER_LENGTH or not _LIST.fullmatch(raw):
        raise InvalidInput(
            _("%(h)s 须为 * 或以逗号分隔的带引号的 ETag。") % {"h": name},
            code="invalid_precondition",
            details={"header": name},
        )
    if raw.strip() == "*":
        return []
    return [(bool(weak), opaque) for weak, opaque in _EACH.findall(raw)]


def read(request: Request, body: Any, tag: str) -> Response:
    """A GET's answer: 304 if the caller's If-None-Match names its tag (weak comparison)."""
    tags = _tags(request, "If-None-Match")
    if tags is not None and (tags == [] or any(f'"{opaque}"' == tag for _weak, opaque in tags)):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
    return Response(body, headers={"ETag": tag})


def precondition(request: Request, current: Callable[[Any], str]) -> Callable[[Any], None] | None:
    """The If-Match check to run on the locked record (None without the header): `current(record)`
    is the tag of what the caller would read now; a tag that is not it raises 412."""
    tags = _tags(request, "If-Match")
    if tags is None:
        return None

    def check(record: Any) -> None:
        if tags == []:
            return  # "*": the record exists, which finding it under the lock has shown
        tag = current(record)
        if not any(not weak and f'"{opaque}"' == tag for weak, opaque in tags):
            raise PreconditionFailed()

    return check
