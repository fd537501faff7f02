"""`Idempotency-Key`: a POST sent again with the same key gets the first answer and does nothing.

How it holds, even for retries sent at the same moment:

- Before acting, one indexed read looks the key up (the unique index on user and key). A key
  already answered replays that answer (status and body), with `Idempotent-Replayed: true`; the
  same key sent with another method, path or body is refused with 422 `idempotency_key_reused`.
- Otherwise the request acts, and its answer is inserted under the key *in the transaction of the
  change*, as its last statement: the change and the remembered answer commit together or not at
  all, so a crash leaves neither and the retry does the work.
- Two requests with one key at once both find nothing and both act; the second's insert of the
  key waits (PostgreSQL holds it on the unique index) until the first commits, then fails, which
  rolls the second's change back, and it answers the first's answer. A second request refused
  because the first changed the record (a claim already taken, a case locked meanwhile) looks the
  key up again before answering its refusal. So a retry in flight waits and never sees a partial
  answer; the API never answers "in progress".
- Only answers that changed or decided something are remembered (2xx). A refused request
  changed nothing, so a retry of it is decided afresh.

Without the header none of this costs anything."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import DatabaseError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from casework.errors import DomainError, InvalidInput
from casework.models import IdempotencyKey
from workflows import idempotency

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length or 255
# Visible ASCII, no spaces: what survives every proxy unchanged. A UUID is a good key.
KEY_PATTERN = "^[!-~]+$"
_KEY = re.compile(r"[!-~]{1,%d}" % MAX_KEY_LENGTH)

PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    location=OpenApiParameter.HEADER,
    description=gettext_lazy(
        "可选。重试时带上与首次相同的值（如 UUID）：24 小时内同一用户同一键的重复请求只执行一次，"
        "答复首次的状态和内容；同一键用于不同请求答复 422 idempotency_key_reused。"
    ),
)

T = TypeVar("T")


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = gettext_lazy("该幂等键已用于另一个请求，请为新的请求使用新的键。")


def _body_hash(data: Any) -> str:
    if hasattr(data, "dict"):  # a QueryDict: an empty body
        data = data.dict()
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Once:
    """One request's key: its user, the key and what it was sent with."""

    def __init__(self, request: Request, key: str) -> None:
        self.user_id: int = request.user.pk
        self.key = key
        self.method = request.method or "POST"
        self.path = request.path[:500]
        self.body_hash = _body_hash(request.data)

    @classmethod
    def of(cls, request: Request) -> Once | None:
        """The request's key, checked; None without the header. A malformed key answers 400."""
        key = request.headers.get(HEADER)
        if key is None:
            return None
        if not _KEY.fullmatch(key):
            raise InvalidInput(
                _("Idempotency-Key 须为 1 至 %(n)s 个可见 ASCII 字符（不含空格）。") % {"n": MAX_KEY_LENGTH},
                code="invalid_idempotency_key",
                details={"header": HEADER},
            )
        return cls(request, key)

    def replay(self) -> Response | None:
        """The first answer to this key, or None if it has none (yet)."""
        row = idempotency.find(self.user_id, self.key)
        if row is None:
            return None
        if (row.method, row.path, row.body_hash) != (self.method, self.path, self.body_hash):
            raise KeyReused()
        return Response(row.body, status=row.status, headers={"Idempotent-Replayed": "true"})

    def record(self, status: int, body: Any) -> None:
        idempotency.record(
            user_id=self.user_id,
            key=self.key,
            method=self.method,
            path=self.path,
            body_hash=self.body_hash,
            status=status,
            body=body,
        )


def respond(
    request: Request,
    act: Callable[[Callable[[T], None] | None], T],
    answer: Callable[[T], tuple[int, Any]],
) -> Response:
    """Run `act` once per key. `act(then)` does the change, calling `then(result)` (when it is not
    None) at the end of its transaction; `answer(result)` is the status and body. With a key the
    answer is built inside the transaction and recorded there; without one, after it."""
    once = Once.of(request)
    if once is None:
        code, body = answer(act(None))
        return Response(body, status=code)
    replayed = once.replay()
    if replayed is not None:
        return replayed
    built: list[tuple[int, Any]] = []

    def then(result: T) -> None:
        code, body = answer(result)
        once.record(code, body)
        built.append((code, body))

    try:
        act(then)
    except (DomainError, DatabaseError):
        # A retry that raced the first request: its key's insert failed once the first had
        # committed, or the first's change made it refuse. Either way it changed nothing, and the
        # first request's answer is the answer.
        replayed = once.replay()
        if replayed is not None:
            return replayed
        raise
    code, body = built[0]
    return Response(body, status=code)
