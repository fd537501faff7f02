"""One error shape for every error: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from casework import errors

# deadlock_detected, lock_not_available, serialization_failure
BUSY_SQLSTATES = {"40P01", "55P03", "40001"}

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.PermissionDenied: status.HTTP_403_FORBIDDEN,
    errors.TransitionNotAllowed: status.HTTP_409_CONFLICT,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.InvalidInput: status.HTTP_400_BAD_REQUEST,
}


def error_body(code: str, message: Any, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.DomainError):
        code = next((c for t, c in STATUS_BY_ERROR.items() if isinstance(exc, t)), 400)
        return Response(error_body(exc.code, exc.message, exc.details), status=code)
    if isinstance(exc, DatabaseError) and getattr(exc.__cause__, "sqlstate", None) in BUSY_SQLSTATES:
        # PostgreSQL broke a deadlock or a lock wait by failing this transaction: it changed
        # nothing, and trying again is the answer.
        return Response(
            error_body("busy", _("该案件正被他人处理，请稍后重试。"), {"retry": True}), status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("记录不存在。"))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", _("输入有误。"), {"fields": response.data})
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        response.data = error_body(str(code), detail if isinstance(detail, str) else _("请求有误。"), {})
    return response
