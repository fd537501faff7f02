"""`Idempotency-Key`: a POST sent again with the same key gets the first answer and does nothing.

How it holds, even for retries sent at the same moment:

- The request takes its key by inserting the key's row as the first statement of the change's
  transaction, and writes its answer (status, body, ETag) into that row as the last. The change
  and the remembered answer commit together or not at all: a crash leaves neither, and the retry
  does the work.
- A retry finds the key taken: the insert fails on the unique index (user, key), its transaction
  ends before it has done anything, and it answers the remembered answer (with
  `Idempotent-Replayed: true`). The same key sent with another method, path or body is refused
  with 422 `idempotency_key_reused`.
- A retry sent while the first request is still at work **waits**: PostgreSQL holds its insert on
  the unique index until the first commits (then it answers the first's answer) or rolls back
  (then it does the work itself). It never answers "in progress", and the first request's answer
  is the one every retry gets.
- Only answers that changed or decided something are remembered (2xx): a refused request rolls
  its key back with everything else, so a retry of it is decided afresh.

The cost: the insert and the update of one row by its primary key; a retry, the failed insert and
one indexed read. Without the header, nothing."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from casework.errors import Conflict, InvalidInput
from casework.models import IdempotencyKey
from workflows import idempotency

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length or 255
# Visible ASCII, no spaces: what survives every proxy unchanged. A UUID is a good key.
KEY_PATTERN = "^[!-~]+$"
_KEY = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")

PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    location=OpenApiParameter.HEADER,
    description=gettext_lazy(
        "可选。重试时带上与首次相同的值（如 UUID）：保留期内（默认 24 小时）同一用户同一键的重复请求只执行一次，"
        "答复首次的状态和内容；同一键用于不同请求答复 422 idempotency_key_reused。"
    ),
)

T = TypeVar("T")


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = gettext_lazy("该幂等键已用于另一个请求，请为新的请求使用新的键。")


def _file_digest(upload: Any) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return f"{upload.name}:{upload.size}:{digest.hexdigest()}"


def _body_hash(data: Any) -> str:
    if hasattr(data, "dict"):  # a QueryDict: an empty body, or a form with its files
        data = {k: _file_digest(v) if hasattr(v, "chunks") else v for k, v in data.dict().items()}
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
        self.row_id: int | None = None

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

    def take(self) -> None:
        """The change's first statement: insert the key (IntegrityError if it is taken)."""
        self.row_id = idempotency.take(
            user_id=self.user_id, key=self.key, method=self.method, path=self.path, body_hash=self.body_hash
        )

    def remember(self, code: int, body: Any, headers: dict[str, str]) -> None:
        """The change's last statement: the answer, into the key's row."""
        assert self.row_id is not None, "the key is taken first"
        text = "" if body is None else json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False)
        idempotency.answer(self.row_id, status=code, body=text, headers=headers)

    def replay(self) -> Response | None:
        """The first answer to this key, or None if it has none (it expired, and is gone now)."""
        row = idempotency.find(self.user_id, self.key)
        if row is None:
            return None
        if (row.method, row.path, row.body_hash) != (self.method, self.path, self.body_hash):
            raise KeyReused()
        body = json.loads(row.body) if row.body else None
        return Response(body, status=row.status, headers={**row.headers, "Idempotent-Replayed": "true"})


def respond(
    request: Request,
    act: Callable[[Callable[[], None] | None, Callable[[T], None] | None], T],
    answer: Callable[[T], tuple[int, Any, dict[str, str]]],
) -> Response:
    """Run `act` once per key. `act(first, then)` does the change, calling `first()` as its
    transaction's first statement and `then(result)` as its last (when they are not None);
    `answer(result)` is the status, body and headers (an ETag). With a key the answer is built
    inside the transaction and remembered there; without one, after it."""
    once = Once.of(request)
    if once is None:
        code, body, headers = answer(act(None, None))
        return Response(body, status=code, headers=headers)
    built: list[tuple[int, Any, dict[str, str]]] = []

    def then(result: T) -> None:
        code, body, headers = answer(result)
        once.remember(code, body, headers)
        built.append((code, body, headers))

    for _attempt in range(2):
        once.row_id = None
        try:
            act(once.take, then)
        except IntegrityError:
            if once.row_id is not None:
                raise  # not the key's insert: a fault of the change itself
            replayed = once.replay()
            if replayed is not None:
                return replayed
            continue  # the key had expired, and its row is gone now: take it afresh
        code, body, headers = built[0]
        return Response(body, status=code, headers=headers)
    raise Conflict(_("请求正忙，请稍后重试。"), code="busy", details={"retry": True})
